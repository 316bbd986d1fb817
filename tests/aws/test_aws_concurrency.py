"""The core's concurrency guarantees on DynamoDB: a real ASGI server (uvicorn) in front,
a moto server behind, 127.0.0.1 on both sides."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)

# 50 writers on one session take about 50 rounds of a read and a conditional write each.
# A moto server on a busy 2-core machine answers far slower than DynamoDB (milliseconds),
# so the saves get a longer retry budget than the default 5 s: what these tests check is
# that no change is lost, not how fast moto is.
MOTO_RETRY_BUDGET = 60.0


@pytest.fixture
def config(wire_config: SessionConfig) -> SessionConfig:
    return SessionConfig(
        driver=wire_config.driver, options=wire_config.options, retry_budget=MOTO_RETRY_BUDGET
    )


def test_fifty_concurrent_requests_setting_their_own_keys_all_keep_them(
    config: SessionConfig,
) -> None:
    check_concurrent_keys(config, n=50)


def test_fifty_concurrent_updates_never_lose_an_increment(config: SessionConfig) -> None:
    check_concurrent_updates(config, n=50)


def test_a_late_save_does_not_bring_back_a_destroyed_session(config: SessionConfig) -> None:
    check_no_resurrection_after_destroy(config)
