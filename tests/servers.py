"""Real servers in subprocesses (gunicorn, uvicorn) for the framework integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hostsessions.testing.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, port: int
) -> Iterator[str]:
    """Run ``python -m <argv>`` (which must listen on 127.0.0.1:``port``) from ``cwd``, with
    this checkout importable; yield its base URL; stop it by its PID."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")])
    )
    log = cwd / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on port {port} within 60 s:\n{log.read_text()}")


@contextmanager
def gunicorn(app: str, *, cwd: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``app`` (``module:callable`` or ``module:factory()``) under gunicorn: one worker with
    16 threads, so concurrent requests really run at the same time."""
    port = free_port()
    argv = ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "16"]
    with serve([*argv, app], cwd=cwd, env=env, port=port) as url:
        yield url


@contextmanager
def uvicorn(app: str, *, cwd: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The ASGI ``app`` under uvicorn."""
    port = free_port()
    argv = ["uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with serve([*argv, app], cwd=cwd, env=env, port=port) as url:
        yield url
