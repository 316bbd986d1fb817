"""What the ``hostsessions`` command prints, as a user reads it: doctor on partly
recognised hosts, every sample output in the docs, and the demo on a busy port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hostsessions import adapters as adapters_module
from hostsessions import cli
from hostsessions.drivers.fs_driver import FsDriver
from hostsessions.hosts import SIGNATURES, near_misses
from hostsessions.testing.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
DOC_PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
HOST_VARIABLES = sorted(
    {v.name for s in SIGNATURES for r in s.requires for v in r.alternatives}
    | {name for s in SIGNATURES for name, _ in s.excluded_by}
)


def run_doctor(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *,
    adapters: bool = True,
    command: str = "doctor",
) -> tuple[int, str]:
    for name in HOST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HOSTSESSIONS_DRIVER", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if not adapters:
        monkeypatch.setattr(adapters_module, "installed_adapters", list)
        monkeypatch.setattr(cli, "installed_adapters", list)
    status = cli.main([command])
    return status, capsys.readouterr().out


# ---- doctor on a host it only partly recognises ------------------------------------------


def test_only_the_lambda_function_name_names_what_else_lambda_sets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out = run_doctor(monkeypatch, capsys, {"AWS_LAMBDA_FUNCTION_NAME": "shop"})
    assert status == 0
    assert "host:      none recognised" in out
    assert "partly:    AWS Lambda: looked for AWS_LAMBDA_FUNCTION_NAME, one of (" in out
    assert (
        "missing one of (AWS_EXECUTION_ENV=AWS_Lambda*, LAMBDA_TASK_ROOT, AWS_LAMBDA_RUNTIME_API)"
    ) in out


def test_only_k_service_names_what_cloud_run_sets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    _, out = run_doctor(monkeypatch, capsys, {"K_SERVICE": "shop"})
    assert "partly:    Cloud Run: looked for K_SERVICE, K_REVISION, K_CONFIGURATION" in out
    assert "missing K_REVISION, K_CONFIGURATION" in out


def test_a_laptop_and_a_fully_recognised_host_have_no_partial_matches() -> None:
    assert near_misses({"HOME": "/home/ada", "PATH": "/usr/bin"}) == []
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "shop", "LAMBDA_TASK_ROOT": "/var/task"}
    assert [m.signature.key for m in near_misses(lambda_env)] == []


def test_the_local_app_engine_server_is_not_a_partial_match() -> None:
    assert near_misses({"GAE_SERVICE": "default", "GAE_ENV": "localdev"}) == []


# ---- every documented sample output is what the command prints ---------------------------


@dataclass
class Sample:
    page: str
    line: int
    command: str
    expected: str
    env: dict[str, str] = field(default_factory=dict)
    adapters: bool = True
    status: int = 0
    expired: int = 0

    @property
    def label(self) -> str:
        return f"{self.page}:{self.line}"


CONSOLE = re.compile(
    r"(?:^<!-- sample: (?P<marker>.*?) -->\n)?^```console\n"
    r"\$ hostsessions (?P<command>doctor|gc|demo)\n(?P<output>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


def documented_samples() -> list[Sample]:
    samples = []
    for path in DOC_PAGES:
        text = path.read_text(encoding="utf-8")
        for match in CONSOLE.finditer(text):
            sample = Sample(
                page=path.relative_to(ROOT).as_posix(),
                line=text.count("\n", 0, match.start("command")) + 1,
                command=match.group("command"),
                expected=match.group("output"),
            )
            for part in filter(None, (p.strip() for p in (match.group("marker") or "").split(";"))):
                word, _, rest = part.partition(" ")
                if word == "env":
                    sample.env = dict(item.split("=", 1) for item in rest.split())
                elif word == "adapters":
                    sample.adapters = rest == "all"
                elif word == "status":
                    sample.status = int(rest)
                elif word == "expired":
                    sample.expired = int(rest)
                elif word == "cwd":
                    assert rest == "empty", part  # every sample runs in an empty folder
                else:
                    raise AssertionError(f"{sample.label}: unknown sample setting {part!r}")
            if match.group("marker") is None:
                raise AssertionError(
                    f"{sample.label}: a `hostsessions {sample.command}` sample needs a "
                    "<!-- sample: ... --> line saying how to reproduce it"
                )
            samples.append(sample)
    return samples


SAMPLES = documented_samples()


def test_the_docs_have_command_samples() -> None:
    assert len(SAMPLES) >= 5, [s.label for s in SAMPLES]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.label for s in SAMPLES])
def test_documented_output_is_what_the_command_prints(
    sample: Sample,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    if sample.command == "demo":
        assert demo_first_lines(tmp_path) == sample.expected
        return
    if sample.adapters:
        names = sorted(adapter.name for adapter in adapters_module.installed_adapters())
        assert names == ["aws", "azure", "gcp"], "these samples assume all three adapters"
    store = FsDriver(base=tmp_path / ".hostsessions" / "sessions")
    for number in range(sample.expired):
        store.write(f"{number:043d}", "[]", expires_at=time.time() - 60, expected_version=None)
    status, out = run_doctor(
        monkeypatch, capsys, sample.env, adapters=sample.adapters, command=sample.command
    )
    assert out == sample.expected
    assert status == sample.status


def demo_first_lines(folder: Path) -> str:
    """What `hostsessions demo` prints when it starts, with its port put back to 8000."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in HOST_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith("HOSTSESSIONS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hostsessions.cli", "demo", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
    finally:
        stop_process(process)
    return "".join(lines).replace(f":{port}/", ":8000/")


# ---- the demo ------------------------------------------------------------------------------


def test_demo_on_a_busy_port_says_so_in_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "hostsessions.cli", "demo", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert f"--port {port + 1}" in line


def test_demo_pages_say_what_to_try(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hostsessions.demo import build

    monkeypatch.chdir(tmp_path)
    app = build("memory")
    pages = {}
    for path in ("/", "/cart"):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http",
        }
        pages[path] = b"".join(app(environ, lambda *args: None)).decode()
    for path, page in pages.items():
        assert 'data-testid="try-this"' in page, path
        text = re.sub(r"<[^>]+>", "", page)
        assert "Add a few things to your cart" in text
        assert "Log in: the session ID changes" in text
        assert "Log out: the session is destroyed" in text
