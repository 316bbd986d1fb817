"""Helpers for tests that run local servers and emulators: a free port, a clean stop.

Standard library only, so pytest plugins can import it before anything else loads.
"""

from __future__ import annotations

import socket
import subprocess

__all__ = ["free_port", "stop_process"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10
) -> None:
    """Stop a server started by a fixture: SIGTERM, then SIGKILL if it does not exit."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
