"""The core's concurrency guarantees through real servers, with sessions in the emulator:
concurrent requests on one session lose no key and no increment, and a late save does not
bring back a destroyed session. ASGI runs the async driver (no thread hop), WSGI the sync one."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)

INTERFACES = ["asgi", "wsgi"]

# 50 writers on one document take about 50 rounds of a read and a conditional commit. The
# emulator on a busy 2-core machine answers far slower than Firestore, so the saves get a
# longer retry budget than the default 5 s: these tests check that no change is lost, not
# how fast the emulator is (they pass with the default budget on a quiet machine).
EMULATOR_RETRY_BUDGET = 60.0


@pytest.fixture
def config(firestore_project: str) -> SessionConfig:
    return SessionConfig(driver="firestore", retry_budget=EMULATOR_RETRY_BUDGET)


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
