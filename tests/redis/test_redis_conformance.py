"""The Redis driver passes the driver conformance suite on a real redis-server, in both
flavours, with and without a key base, for both protocols, and on a three-node Redis
Cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hostsessions import drivers
from hostsessions.drivers.redis_driver import AsyncRedisDriver, RedisDriver
from hostsessions.testing import (
    AsyncDriverConformance,
    AsyncMinimalDriverConformance,
    DriverConformance,
    MinimalDriverConformance,
)

# A deliberate cap, so the suite's at-the-limit and over-the-limit checks stay quick (the
# default is Redis's own 512 MiB).
LIMIT = 1_000_000


def _sync(url: str, **options: Any) -> Iterator[RedisDriver]:
    driver = drivers.redis(url, max_payload_bytes=LIMIT, **options)
    yield driver
    driver.close()


def _async_factory(url: str, **options: Any) -> Any:
    async def make() -> AsyncRedisDriver:
        twin = drivers.redis(url, max_payload_bytes=LIMIT, **options).to_async()
        assert isinstance(twin, AsyncRedisDriver)
        return twin

    return make


class TestRedisDriver(DriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def driver(self, redis_url: str) -> Iterator[RedisDriver]:
        yield from _sync(redis_url)


class TestAsyncRedisDriver(AsyncDriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def async_driver_factory(self, redis_url: str) -> Any:
        return _async_factory(redis_url)


class TestRedisDriverWithABase(DriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def driver(self, redis_url: str) -> Iterator[RedisDriver]:
        yield from _sync(redis_url, base="astro:sessions")


class TestRedisDriverMinimalProtocol(MinimalDriverConformance):
    """get_item / set_item / remove_item: plain GET, SET and UNLINK, as unstorage does."""

    payload_limit = LIMIT

    @pytest.fixture
    def driver(self, redis_url: str) -> Iterator[RedisDriver]:
        yield from _sync(redis_url)


class TestAsyncRedisDriverMinimalProtocol(AsyncMinimalDriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def async_driver_factory(self, redis_url: str) -> Any:
        return _async_factory(redis_url)


class TestRedisClusterDriver(DriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def driver(self, redis_cluster_url: str) -> Iterator[RedisDriver]:
        yield from _sync(redis_cluster_url, cluster=True)


class TestAsyncRedisClusterDriver(AsyncDriverConformance):
    payload_limit = LIMIT

    @pytest.fixture
    def async_driver_factory(self, redis_cluster_url: str) -> Any:
        return _async_factory(redis_cluster_url, cluster=True)
