"""The core's concurrency guarantees through real servers, with sessions in a real Redis:
concurrent requests on one session lose no key and no increment, and a late save does not
bring back a destroyed session. ASGI runs the asyncio driver (no thread hop), WSGI the sync
one; the same checks run on a three-node Redis Cluster."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)

INTERFACES = ["asgi", "wsgi"]


@pytest.fixture(params=["redis", "redis-cluster"])
def config(request: pytest.FixtureRequest) -> SessionConfig:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return SessionConfig(driver="redis", options={"url": url})
    url = request.getfixturevalue("redis_cluster_url")
    return SessionConfig(driver="redis", options={"url": url, "cluster": True})


@pytest.mark.parametrize("interface", INTERFACES)
def test_fifty_concurrent_requests_setting_different_keys_keep_them_all(
    config: SessionConfig, interface: str
) -> None:
    check_concurrent_keys(config, n=50, interface=interface)  # type: ignore[arg-type]


@pytest.mark.parametrize("interface", INTERFACES)
def test_fifty_concurrent_increments_end_at_fifty(config: SessionConfig, interface: str) -> None:
    check_concurrent_updates(config, n=50, interface=interface)  # type: ignore[arg-type]


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_late_save_does_not_bring_back_a_destroyed_session(
    config: SessionConfig, interface: str
) -> None:
    check_no_resurrection_after_destroy(config, interface=interface)  # type: ignore[arg-type]
