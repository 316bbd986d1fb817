"""The core's concurrency guarantees on DynamoDB: a real server (uvicorn for ASGI, a
threaded one for WSGI) in front, a moto server behind, 127.0.0.1 on both sides."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestDynamoDBConcurrency(ConcurrencyConformance):
    # 50 writers on one session take about 50 rounds of a read and a conditional write
    # each. A moto server on a busy 2-core machine answers far slower than DynamoDB
    # (milliseconds), so the saves get a longer retry budget than the default 5 s.
    retry_budget = 60.0

    @pytest.fixture
    def session_config(self, wire_config: SessionConfig) -> SessionConfig:
        return wire_config
