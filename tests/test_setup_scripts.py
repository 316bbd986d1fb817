"""The set-up a new user runs: scripts/lib/apt.sh installs Debian packages with CI set or
not and stops at once, saying what to run, where it cannot; scripts/demo sets up the core
alone; nothing in the repository names a folder of one particular machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APT_HELPER = ROOT / "scripts" / "lib" / "apt.sh"


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def fake_system(tmp_path: Path) -> Path:
    """A PATH with the few real tools the helper uses and a recording apt-get and id."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "basename", "env", "grep", "touch", "cat", "dirname"):
        real = shutil.which(tool)
        assert real is not None
        (bin_dir / tool).symlink_to(real)
    stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {tmp_path / "apt.log"}')
    stub(bin_dir, "id", 'echo "${FAKE_UID:-0}"')
    return bin_dir


def run_step(
    fake_system: Path, script: str, *, uid: int = 0, ci: bool = False, run_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    step = fake_system.parent / "step.sh"
    step.write_text(f"set -euo pipefail\nsource {APT_HELPER}\n{script}\necho reached-the-end\n")
    env = {"PATH": str(fake_system), "FAKE_UID": str(uid)}
    if ci:
        env["CI"] = "true"
    if run_dir is not None:
        env["HOSTSESSIONS_SETUP_RUN"] = str(run_dir)
    return subprocess.run(
        [str(fake_system / "bash"), str(step)], env=env, capture_output=True, text=True, check=False
    )


def apt_log(fake_system: Path) -> list[str]:
    log = fake_system.parent / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("ci", [False, True], ids=["CI unset", "CI set"])
def test_installs_as_root_whether_ci_is_set_or_not(fake_system: Path, ci: bool) -> None:
    result = run_step(fake_system, "apt_install chromium", ci=ci)
    assert result.returncode == 0, result.stderr
    assert apt_log(fake_system) == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends chromium",
    ]


def test_apt_get_update_runs_once_per_bootstrap_run(fake_system: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = run_step(fake_system, "apt_install chromium", run_dir=run_dir)
    second = run_step(fake_system, "apt_install redis-server", run_dir=run_dir)
    assert first.returncode == second.returncode == 0
    assert [line for line in apt_log(fake_system) if "update" in line] == ["apt-get update -qq"]


def test_not_root_without_sudo_stops_at_once_with_the_command_to_run(fake_system: Path) -> None:
    result = run_step(fake_system, "apt_install chromium", uid=1000)
    assert result.returncode == 1
    assert "reached-the-end" not in result.stdout
    assert apt_log(fake_system) == []
    (line,) = result.stderr.strip().splitlines()
    assert "not root" in line
    assert "apt-get update && apt-get install -y --no-install-recommends chromium" in line


def test_not_root_with_passwordless_sudo_installs_through_sudo(fake_system: Path) -> None:
    stub(fake_system, "sudo", '[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; exec "$@"')
    result = run_step(fake_system, "apt_install chromium", uid=1000)
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y -qq --no-install-recommends chromium" in apt_log(fake_system)


def test_no_apt_get_stops_at_once(fake_system: Path) -> None:
    (fake_system / "apt-get").unlink()
    result = run_step(fake_system, "apt_install chromium")
    assert result.returncode == 1
    assert "reached-the-end" not in result.stdout
    assert "no apt-get" in result.stderr


def test_a_failing_install_stops_at_once(fake_system: Path) -> None:
    stub(fake_system, "apt-get", '[ "$1" = update ] && exit 0; exit 100')
    result = run_step(fake_system, "apt_install chromium")
    assert result.returncode == 1
    assert "apt-get install failed" in result.stderr


def test_no_setup_step_gates_an_install_on_ci() -> None:
    for step in sorted((ROOT / "scripts" / "setup.d").glob("*.sh")):
        text = step.read_text()
        assert not re.search(r"\$\{?CI\b", text), (
            f"{step.name} reads CI: a fresh machine with CI unset must get the same tools"
        )


# ---- scripts/demo ------------------------------------------------------------------------


def test_scripts_demo_sets_up_the_core_alone(tmp_path: Path) -> None:
    """A copy of the repository without .venv: scripts/demo installs the core and starts."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    checkout = tmp_path / "checkout"
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTSESSIONS_", "VIRTUAL"))}
    demo = subprocess.Popen(
        ["bash", "scripts/demo", "--port", "0"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("driver:") or len(lines) > 20:
                break
        assert any(line.startswith("hostsessions demo: http://127.0.0.1:") for line in lines), lines
    finally:
        demo.terminate()
        demo.wait(timeout=10)
    installed = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.split("==")[0].split(" ")[0].lower() for line in installed.splitlines()}
    assert "hostsessions" in names
    assert not names & {"hostsessions-aws", "hostsessions-gcp", "hostsessions-azure", "boto3"}
    assert not (checkout / ".tools").exists(), "the demo needs no npm tool"
    assert not (checkout / "node_modules").exists()


# ---- no machine-specific path ------------------------------------------------------------

# Built from parts so that this file does not match itself.
MACHINE_PATH = re.compile(
    "|".join(
        [
            "/" + "work/",
            "/" + "root/",
            "/tmp/" + "peerbench",
            "/home/[A-Za-z0-9_.-]+/",
            "/" + "Users/[A-Za-z0-9_.-]+/",
        ]
    )
)


def test_no_file_names_a_folder_of_one_particular_machine() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if MACHINE_PATH.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "machine-specific paths:\n" + "\n".join(found)


# ---- a missing tool fails the test in setup, never in a fixture's teardown ----------------


def test_browser_test_without_chromium_fails_in_setup_with_the_fix(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with no chromium on it
    bin_dir.mkdir()
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("CI", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "test_demo_browser.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 error" in summary or "1 failed" in summary, result.stdout
    assert "teardown" not in result.stdout.lower(), "no failure may come from a teardown"
    assert "chromium is missing" in result.stdout
    assert "50-chromium.sh" in result.stdout
