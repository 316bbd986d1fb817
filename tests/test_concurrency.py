"""DESIGN.md section 6 through a real server: concurrent requests on one session keep
every change, on the core's drivers, under ASGI (uvicorn) and WSGI (threaded server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestMemoryConcurrency(ConcurrencyConformance):
    @pytest.fixture
    def session_config(self) -> SessionConfig:
        return SessionConfig(driver="memory")


class TestFsConcurrency(ConcurrencyConformance):
    @pytest.fixture
    def session_config(self, tmp_path: Path) -> SessionConfig:
        return SessionConfig(driver="fs", options={"base": str(tmp_path / "sessions")})
