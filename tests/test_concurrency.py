"""DESIGN.md section 6 through a real server: concurrent requests on one session keep
every change, on every built-in driver, under ASGI (uvicorn) and WSGI (threaded server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)


@pytest.fixture(params=["memory", "fs"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> SessionConfig:
    if request.param == "fs":
        return SessionConfig(driver="fs", options={"base": str(tmp_path / "sessions")})
    return SessionConfig(driver="memory")


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_fifty_concurrent_requests_setting_own_keys_keep_all_keys(
    config: SessionConfig, interface: str
) -> None:
    check_concurrent_keys(config, n=50, interface=interface)  # type: ignore[arg-type]


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_fifty_concurrent_updates_never_lose_an_increment(
    config: SessionConfig, interface: str
) -> None:
    check_concurrent_updates(config, n=50, interface=interface)  # type: ignore[arg-type]


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_late_save_after_destroy_does_not_resurrect(config: SessionConfig, interface: str) -> None:
    check_no_resurrection_after_destroy(config, interface=interface)  # type: ignore[arg-type]
