"""The core's concurrency guarantees on DynamoDB: a real ASGI server (uvicorn) in front,
a moto server behind, 127.0.0.1 on both sides."""

from __future__ import annotations

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)


def test_fifty_concurrent_requests_setting_their_own_keys_all_keep_them(
    wire_config: SessionConfig,
) -> None:
    check_concurrent_keys(wire_config, n=50)


def test_fifty_concurrent_updates_never_lose_an_increment(wire_config: SessionConfig) -> None:
    check_concurrent_updates(wire_config, n=50)


def test_a_late_save_does_not_bring_back_a_destroyed_session(wire_config: SessionConfig) -> None:
    check_no_resurrection_after_destroy(wire_config)
