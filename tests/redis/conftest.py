"""Fixtures of the Redis driver's tests: real redis-server processes on 127.0.0.1.

One server serves the whole test session and is emptied before each test that asks for
``redis_url``; tests that stop, restart or misconfigure a server start their own. Nothing
here fakes Redis. redis-server comes from scripts/setup.d/60-redis.sh.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostsessions.testing.redis_server import RedisCluster, RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis."""
    redis_server.cli("flushall")
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-master Redis Cluster (Debian's redis-server runs one without extra set-up)."""
    with RedisCluster(masters=3) as cluster:
        yield cluster


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    for node in redis_cluster.nodes:
        node.cli("flushall")
    return redis_cluster.url
