"""Run Azurite's table service for tests: a throwaway local Azure Table storage.

The pytest fixtures over it are in :mod:`hostsessions_azure.testing` (the plugin pytest
loads), which imports this module only when a fixture is used.

Install Azurite with npm (``npm install --prefix .tools/azurite azurite``), then::

    with run_azurite(".tools/azurite/node_modules/.bin/azurite-table") as azurite:
        driver = azure_tables(connection_string=azurite.connection_string, table="t1")

Azurite keeps everything in memory here and listens on 127.0.0.1 only; it is stopped by
its process ID when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hostsessions.testing.processes import free_port, stop_process

__all__ = ["DEV_ACCOUNT", "DEV_ACCOUNT_KEY", "START_TIMEOUT", "Azurite", "run_azurite"]

# Azurite's well-known development account: public, documented, and accepted only by
# the emulator.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Azurite:
    """A running Azurite table service."""

    host: str
    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        """The table endpoint of the development account."""
        return f"http://{self.host}:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """A connection string for the development account on this instance."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
            f"AccountKey={DEV_ACCOUNT_KEY};TableEndpoint={self.endpoint};"
        )


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def run_azurite(
    executable: str | os.PathLike[str], *, host: str = "127.0.0.1"
) -> Generator[Azurite]:
    """Start ``azurite-table`` on a free port of ``host`` and stop it afterwards."""
    executable = Path(executable).resolve()  # Azurite runs in a scratch directory
    if not executable.exists():
        raise FileNotFoundError(
            f"Azurite is not installed at {executable}: run bash scripts/setup.d/30-azurite.sh "
            "(npm install --prefix .tools/azurite azurite)"
        )
    port = free_port(host)
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        log_path = Path(workdir) / "azurite.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                [
                    str(executable),
                    "--tableHost",
                    host,
                    "--tablePort",
                    str(port),
                    "--inMemoryPersistence",
                    "--disableTelemetry",
                    "--skipApiVersionCheck",
                    "--silent",
                ],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(host, port):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")
                    raise RuntimeError(f"Azurite did not start on {host}:{port}:\n{output}")
                time.sleep(0.1)
            yield Azurite(host, port, process.pid)
        finally:
            stop_process(process)
