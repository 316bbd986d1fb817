"""The core's concurrency guarantees through real servers, with sessions in a real Redis.
ASGI runs the asyncio driver (no thread hop), WSGI the sync one; the same checks run on a
three-node Redis Cluster."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestRedisConcurrency(ConcurrencyConformance):
    @pytest.fixture
    def session_config(self, redis_url: str) -> SessionConfig:
        return SessionConfig(driver="redis", options={"url": redis_url})


class TestRedisClusterConcurrency(ConcurrencyConformance):
    @pytest.fixture
    def session_config(self, redis_cluster_url: str) -> SessionConfig:
        return SessionConfig(driver="redis", options={"url": redis_cluster_url, "cluster": True})
