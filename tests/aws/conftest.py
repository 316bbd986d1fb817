"""Fixtures of the AWS adapter's tests: moto in-process (from the adapter's own pytest
plugin, ``dynamodb_session_config``) and one moto server per test session on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.processes import stop_process

from .support import INSTALL, REGION, MotoServer, free_port


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"the AWS adapter's tests need {module}: {INSTALL}", pytrace=False)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server process for the whole test session (handling one request at a time:
    see moto_server.py), stopped by its PID."""
    _require("moto.server")
    _require("flask")  # moto's server runs on Flask: a sign that moto[server] is installed
    port = free_port()
    # A file, not a pipe: the server logs every request, and a full pipe would stall it.
    log_path = tmp_path_factory.mktemp("moto") / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("moto_server.py")), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                log.close()
                error = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"moto server did not start: {error}", pytrace=False)
            time.sleep(0.05)
    # The server takes any credentials; boto3 only needs some to sign with.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
        patch.setenv("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
        try:
            yield MotoServer(f"http://127.0.0.1:{port}", process.pid)
        finally:
            stop_process(process)
            log.close()


@pytest.fixture
def wire_config(moto_server: MotoServer) -> SessionConfig:
    """A SessionConfig on a fresh table of the moto server: every call crosses a real socket."""
    table = moto_server.new_table()
    return SessionConfig(
        driver="dynamodb",
        options={"table": table, "region": REGION, "endpoint_url": moto_server.url},
    )
