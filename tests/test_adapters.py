"""Adapter discovery and driver choice (DESIGN.md section 7): host recognition, the
entry-point group, the local last resort, HOSTSESSIONS_DRIVER, fail-fast on a cloud host
without its adapter, custom drivers by entrypoint, and `hostsessions doctor` / `gc`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostsessions import DriverConfig, SessionConfig, SessionConfigError
from hostsessions import adapters as adapters_module
from hostsessions.adapters import choose_driver, installed_adapters
from hostsessions.asgi import SessionMiddleware as AsgiSessionMiddleware
from hostsessions.drivers.fs_driver import FsDriver
from hostsessions.hosts import detect_host
from hostsessions.testing.server import serve_asgi, serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware

HOSTS: list[tuple[str, dict[str, str], str | None]] = [
    ("a laptop", {"HOME": "/home/ada", "PATH": "/usr/bin"}, None),
    (
        "AWS Lambda",
        {
            "AWS_LAMBDA_FUNCTION_NAME": "shop",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": "/var/task",
        },
        "aws-lambda",
    ),
    ("an AWS shell with a stray function name", {"AWS_LAMBDA_FUNCTION_NAME": "shop"}, None),
    (
        "Cloud Run",
        {"K_SERVICE": "shop", "K_REVISION": "shop-00001", "K_CONFIGURATION": "shop"},
        "gcp-cloud-run",
    ),
    (
        "Cloud Run functions",
        {
            "K_SERVICE": "fn",
            "K_REVISION": "fn-1",
            "K_CONFIGURATION": "fn",
            "FUNCTION_TARGET": "handler",
        },
        "gcp-cloud-run-functions",
    ),
    (
        "Functions Framework on a laptop",
        {"FUNCTION_TARGET": "handler", "FUNCTION_SIGNATURE_TYPE": "http"},
        None,
    ),
    (
        "functions on a current runtime (no K_CONFIGURATION)",
        {
            "FUNCTION_TARGET": "handler",
            "FUNCTION_SIGNATURE_TYPE": "http",
            "K_SERVICE": "fn",
            "K_REVISION": "fn-3",
        },
        "gcp-cloud-run-functions",
    ),
    (
        "Cloud Run job",
        {"CLOUD_RUN_JOB": "sweep", "CLOUD_RUN_EXECUTION": "sweep-abc"},
        "gcp-cloud-run-job",
    ),
    (
        "App Engine flexible",
        {"GAE_SERVICE": "default", "GAE_VERSION": "v1", "GAE_INSTANCE": "i-1"},
        "gcp-app-engine",
    ),
    (
        "Cloud Functions 1st gen",
        {"FUNCTION_NAME": "fn", "GCP_PROJECT": "p"},
        "gcp-cloud-functions-gen1",
    ),
    ("App Engine", {"GAE_APPLICATION": "s~shop", "GAE_ENV": "standard"}, "gcp-app-engine"),
    ("App Engine dev server", {"GAE_APPLICATION": "dev~shop", "GAE_ENV": "localdev"}, None),
    (
        "Azure Functions",
        {"FUNCTIONS_WORKER_RUNTIME": "python", "WEBSITE_SITE_NAME": "shop"},
        "azure-functions",
    ),
    (
        "Azure App Service",
        {"WEBSITE_SITE_NAME": "shop", "WEBSITE_INSTANCE_ID": "abc"},
        "azure-app-service",
    ),
]


@pytest.mark.parametrize(("case", "environ", "expected"), HOSTS, ids=[h[0] for h in HOSTS])
def test_host_recognition(case: str, environ: dict[str, str], expected: str | None) -> None:
    host = detect_host(environ)
    assert (host.key if host else None) == expected


@pytest.fixture
def no_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if only the core were installed (the adapters of this repository are installed
    in its dev environment, so they are hidden here)."""
    monkeypatch.setattr(adapters_module, "installed_adapters", lambda: [])


def test_local_machine_defaults_to_filesystem_store(no_adapters: None) -> None:
    choice = choose_driver(SessionConfig(), {})
    assert choice.driver == DriverConfig(
        "hostsessions.drivers.fs_driver:FsDriver", {"base": ".hostsessions/sessions"}
    )
    assert "local filesystem" in choice.reason


@pytest.mark.parametrize(
    ("case", "environ", "expected"), [h for h in HOSTS if h[2]], ids=[h[0] for h in HOSTS if h[2]]
)
def test_cloud_host_without_its_adapter_fails_at_start_up(
    no_adapters: None, case: str, environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(SessionConfigError, match=r"pip install 'hostsessions\[(aws|gcp|azure)\]'"):
        choose_driver(SessionConfig(), environ)


def test_explicit_driver_wins_on_a_cloud_host(no_adapters: None) -> None:
    lambda_env = HOSTS[1][1]
    assert choose_driver(SessionConfig(driver="memory"), lambda_env).reason.startswith(
        "named in code"
    )


def test_env_var_names_the_driver(no_adapters: None) -> None:
    choice = choose_driver(SessionConfig(), {"HOSTSESSIONS_DRIVER": "memory", **HOSTS[1][1]})
    assert choice.driver == DriverConfig("hostsessions.drivers.memory_driver:MemoryDriver", {})
    assert "HOSTSESSIONS_DRIVER" in choice.reason


def test_code_beats_env_var(no_adapters: None) -> None:
    choice = choose_driver(SessionConfig(driver="fs"), {"HOSTSESSIONS_DRIVER": "memory"})
    assert choice.driver.entrypoint == "hostsessions.drivers.fs_driver:FsDriver"


def test_env_var_takes_an_entrypoint(no_adapters: None) -> None:
    choice = choose_driver(
        SessionConfig(), {"HOSTSESSIONS_DRIVER": "tests.custom_drivers:make_sync"}
    )
    assert choice.driver == DriverConfig("tests.custom_drivers:make_sync", {})


@pytest.mark.parametrize(
    ("name", "extra"), [("dynamodb", "aws"), ("firestore", "gcp"), ("azure-tables", "azure")]
)
def test_first_party_driver_without_adapter_names_the_install(
    no_adapters: None, name: str, extra: str
) -> None:
    with pytest.raises(SessionConfigError, match=rf"pip install 'hostsessions\[{extra}\]'"):
        choose_driver(SessionConfig(driver=name), {})


# ---- a real adapter registered through a real entry point -----------------------------


@pytest.fixture
def test_adapter_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution on sys.path whose entry point registers an adapter for a made-up host."""
    package = tmp_path / "fakehost_adapter.py"
    package.write_text(
        textwrap.dedent("""
        from hostsessions import DriverConfig

        class FakeHostAdapter:
            name = "fakehost"
            drivers = {"fakehost-store": "hostsessions.drivers.memory_driver:MemoryDriver"}

            def detect(self, environ):
                return environ.get("FAKEHOST") == "1"

            def default_driver(self, environ):
                return DriverConfig("hostsessions.drivers.memory_driver:MemoryDriver", {})

        adapter = FakeHostAdapter()
    """)
    )
    dist = tmp_path / "fakehost_adapter-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakehost-adapter\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hostsessions.adapters]\nfakehost = fakehost_adapter:adapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("fakehost_adapter", None)


def test_adapter_found_through_entry_point_group(test_adapter_installed: None) -> None:
    names = [adapter.name for adapter in installed_adapters()]
    assert "fakehost" in names
    choice = choose_driver(SessionConfig(), {"FAKEHOST": "1"})
    assert choice.adapter == "fakehost"
    assert choice.driver.entrypoint == "hostsessions.drivers.memory_driver:MemoryDriver"
    named = choose_driver(SessionConfig(driver="fakehost-store"), {})
    assert named.driver.entrypoint == "hostsessions.drivers.memory_driver:MemoryDriver"


# ---- custom drivers by entrypoint, end to end through the middleware ---------------------


@pytest.mark.parametrize(
    "factory", ["make_sync", "make_async", "make_minimal", "make_async_minimal"]
)
@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_custom_driver_from_entrypoint_serves_sessions(factory: str, interface: str) -> None:
    config = SessionConfig(driver=DriverConfig(f"tests.custom_drivers:{factory}"), cookie="sid")

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        n = await scope["session"].update("n", lambda n: n + 1, default=0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(n).encode()})

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        n = environ[ENVIRON_KEY].update("n", lambda n: n + 1, default=0)
        start_response("200 OK", [])
        return [str(n).encode()]

    if interface == "asgi":
        server = serve_asgi(AsgiSessionMiddleware(asgi_app, config))
    else:
        server = serve_wsgi(WsgiSessionMiddleware(wsgi_app, config))
    with server as url, httpx.Client(base_url=url) as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]


def test_entrypoint_is_imported_only_when_storage_is_needed() -> None:
    sys.modules.pop("tests.lazy_driver_probe", None)
    middleware = WsgiSessionMiddleware(
        lambda e, s: [], SessionConfig(driver=DriverConfig("tests.lazy_driver_probe:make"))
    )
    assert "tests.lazy_driver_probe" not in sys.modules
    with pytest.raises(SessionConfigError, match="cannot import driver module"):
        middleware.manager.driver()


# ---- the command line ------------------------------------------------------------------


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOSTSESSIONS_", "AWS_", "K_", "GAE_", "FUNCTION", "WEBSITE_"))
    }
    base["PYTHONPATH"] = str(Path(__file__).parent.parent)
    return subprocess.run(
        [sys.executable, "-m", "hostsessions.cli", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_explains_the_choice(tmp_path: Path) -> None:
    result = run_cli("doctor", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "none recognised" in result.stdout
    assert "hostsessions.drivers.fs_driver:FsDriver" in result.stdout
    assert "because:" in result.stdout


def test_doctor_reports_the_env_override(tmp_path: Path) -> None:
    result = run_cli("doctor", cwd=tmp_path, env={"HOSTSESSIONS_DRIVER": "memory"})
    assert "HOSTSESSIONS_DRIVER=memory" in result.stdout
    assert "MemoryDriver" in result.stdout


def test_gc_sweeps_expired_filesystem_sessions(tmp_path: Path) -> None:
    store = FsDriver(base=tmp_path / ".hostsessions" / "sessions")
    store.write("a" * 43, "[]", expires_at=time.time() - 10, expected_version=None)
    store.write("b" * 43, "[]", expires_at=time.time() + 3600, expected_version=None)
    result = run_cli("gc", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "removed 1 expired session" in result.stdout
    assert store.read("b" * 43) is not None


def test_gc_with_unknown_driver_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("gc", "--driver", "nope", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown driver 'nope'" in result.stderr


def test_async_driver_under_wsgi_keeps_one_event_loop() -> None:
    from hostsessions.storage import sync_store
    from tests.custom_drivers import make_async

    driver = make_async()
    loops: set[int] = set()
    original = driver.read

    async def read(key: str) -> Any:
        loops.add(id(asyncio.get_running_loop()))
        return await original(key)

    driver.read = read  # type: ignore[method-assign]
    store = sync_store(driver)
    for _ in range(3):
        store.read("k" * 43)
    assert len(loops) == 1, "an async driver under WSGI must run on one long-lived loop"


def test_doctor_never_prints_secret_options(tmp_path: Path) -> None:
    from hostsessions.cli import _shown

    assert _shown("connection_string", "AccountKey=abc") == "'***'"
    assert _shown("credential", object()) == "'***'"
    assert _shown("table", "hostsessions") == "'hostsessions'"
    assert _shown("url", "redis://:s3cret@cache:6379/0") == "'redis://:***@cache:6379/0'"
    assert _shown("url", "rediss://app:s3cret@cache/0") == "'rediss://app:***@cache/0'"
    assert _shown("url", "redis://cache:6379/0") == "'redis://cache:6379/0'"


def test_gc_takes_driver_options(tmp_path: Path) -> None:
    elsewhere = tmp_path / "srv" / "sessions"
    FsDriver(base=elsewhere).write(
        "c" * 43, "[]", expires_at=time.time() - 1, expected_version=None
    )
    result = run_cli("gc", "--driver", "fs", "--option", f"base={elsewhere}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "removed 1 expired session" in result.stdout
