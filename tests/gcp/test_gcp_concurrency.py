"""The core's concurrency guarantees through real servers, with sessions in the emulator.
ASGI runs the async driver (no thread hop), WSGI the sync one."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestFirestoreConcurrency(ConcurrencyConformance):
    # 50 writers on one document take about 50 rounds of a read and a conditional commit.
    # The emulator on a busy 2-core machine answers far slower than Firestore, so the saves
    # get a longer retry budget than the default 5 s (they pass with the default on a quiet
    # machine).
    retry_budget = 60.0

    @pytest.fixture
    def session_config(self, firestore_project: str) -> SessionConfig:
        return SessionConfig(driver="firestore")
