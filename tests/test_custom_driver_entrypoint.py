"""A user's own driver, named by a DriverConfig entry point, and the suite that vets it.

The drivers live in ``tests/custom_drivers.py``, as they would in a user's package.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hostsessions import DriverConfig, SessionTooLargeError
from hostsessions.adapters import build_driver
from hostsessions.drivers import (
    AsyncDriver,
    AsyncVersionedDriver,
    Driver,
    Record,
    VersionedDriver,
    WriteConflict,
)
from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.testing import (
    AsyncDriverConformance,
    AsyncMinimalDriverConformance,
    DriverConformance,
    MinimalDriverConformance,
)
from hostsessions.testing.conformance import (
    DriverView,
    run_with_async_driver,
    run_with_sync_driver,
)
from tests.custom_drivers import AsyncDictDriver, SyncDictDriver

SYNC = DriverConfig("tests.custom_drivers:make_sync", {"payload_limit": 50_000})
ASYNC = DriverConfig("tests.custom_drivers:make_async", {"payload_limit": 50_000})
MINIMAL = DriverConfig("tests.custom_drivers:make_minimal", {"payload_limit": 50_000})
ASYNC_MINIMAL = DriverConfig("tests.custom_drivers:make_async_minimal")


def async_factory(config: DriverConfig) -> Callable[[], Awaitable[Any]]:
    async def make() -> Any:
        return build_driver(config)

    return make


# Loading.


def test_build_driver_loads_a_sync_driver_from_its_entrypoint_with_its_options() -> None:
    driver = build_driver(SYNC)
    assert isinstance(driver, VersionedDriver)
    assert not inspect.iscoroutinefunction(driver.read)
    with pytest.raises(SessionTooLargeError):
        driver.write("k" * 43, "x" * 50_001, expires_at=None, expected_version=None)


def test_build_driver_loads_an_async_driver_from_its_entrypoint() -> None:
    driver = build_driver(ASYNC)
    assert isinstance(driver, AsyncVersionedDriver)
    assert inspect.iscoroutinefunction(driver.read)
    assert inspect.iscoroutinefunction(driver.write)


def test_build_driver_loads_minimal_drivers_sync_and_async() -> None:
    sync, asynchronous = build_driver(MINIMAL), build_driver(ASYNC_MINIMAL)
    assert isinstance(sync, Driver)
    assert not isinstance(sync, VersionedDriver)
    assert isinstance(asynchronous, AsyncDriver)
    assert inspect.iscoroutinefunction(asynchronous.get_item)


def test_a_driver_config_survives_a_round_trip_through_plain_data() -> None:
    config = DriverConfig.from_dict(SYNC.to_dict())
    assert config == SYNC
    assert isinstance(build_driver(config), VersionedDriver)


# The conformance suite on each of them, built through the entry point.


class TestCustomSyncDriver(DriverConformance):
    payload_limit = 50_000

    @pytest.fixture
    def driver(self) -> Any:
        return build_driver(SYNC)


class TestCustomAsyncDriver(AsyncDriverConformance):
    payload_limit = 50_000

    @pytest.fixture
    def async_driver_factory(self) -> Callable[[], Awaitable[Any]]:
        return async_factory(ASYNC)


class TestCustomMinimalDriver(MinimalDriverConformance):
    payload_limit = 50_000

    @pytest.fixture
    def driver(self) -> Any:
        return build_driver(MINIMAL)


class TestCustomAsyncMinimalDriver(AsyncMinimalDriverConformance):
    payload_limit = None

    @pytest.fixture
    def async_driver_factory(self) -> Callable[[], Awaitable[Any]]:
        return async_factory(ASYNC_MINIMAL)


# The suite itself: it closes what it opens, and it fails drivers that break the contract.


def test_the_suite_closes_an_async_driver_even_when_a_check_fails() -> None:
    made: list[AsyncDictDriver] = []

    async def factory() -> AsyncDictDriver:
        made.append(AsyncDictDriver())
        return made[-1]

    async def failing_check(store: DriverView) -> None:
        raise AssertionError("the driver misbehaved")

    with pytest.raises(AssertionError, match="misbehaved"):
        run_with_async_driver(factory, failing_check)
    assert [driver.closed for driver in made] == [1]


class IgnoresExpectedVersion(MemoryDriver):
    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.delete(key)
        return super().write(key, payload, expires_at=expires_at, expected_version=None)


class ReturnsExpiredRecords(SyncDictDriver):
    def read(self, key: str) -> Record | None:
        with self.lock:
            return self.records.records.get(key)


class RestartsVersionsAfterADelete(SyncDictDriver):
    """Numbers versions per key from 1, so a re-created record repeats them."""

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        with self.lock:
            current = self.records.read(key)
            if (current.version if current else None) != expected_version:
                raise WriteConflict(key, expected_version)
            version = "1" if current is None else str(int(current.version) + 1)
            self.records.records[key] = Record(payload, version, expires_at)
            return version


class OverstatesItsLimit(DriverConformance):
    payload_limit = 2_000  # the driver below accepts only 1_000


class AsyncPassedToTheSyncSuite(AsyncDictDriver):
    pass


BROKEN: dict[str, tuple[Any, str, str]] = {
    "ignores expected_version": (
        IgnoresExpectedVersion(),
        "test_update_with_a_stale_version_is_a_write_conflict_and_keeps_the_record",
        "expected WriteConflict",
    ),
    "loses increments": (
        IgnoresExpectedVersion(),
        "test_concurrent_read_modify_write_increments_all_land",
        "a conditional write let a stale version through",
    ),
    "returns expired records": (
        ReturnsExpiredRecords(),
        "test_record_whose_expiry_has_passed_reads_as_none",
        "expired a minute ago",
    ),
    "reuses versions": (
        RestartsVersionsAfterADelete(),
        "test_a_recreated_record_never_reuses_an_old_version",
        "versions that never repeat",
    ),
    "is async": (
        AsyncPassedToTheSyncSuite(),
        "test_a_key_never_written_reads_as_none",
        "test an async driver with AsyncDriverConformance",
    ),
}


@pytest.mark.parametrize(("driver", "test_name", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_the_suite_fails_a_driver_that_breaks_the_contract(
    driver: Any, test_name: str, message: str
) -> None:
    check = getattr(DriverConformance(), test_name)
    with pytest.raises(AssertionError, match=message):
        check(functools.partial(run_with_sync_driver, driver))


def test_the_suite_fails_a_driver_whose_payload_limit_is_overstated() -> None:
    check = OverstatesItsLimit().test_payload_exactly_at_the_limit_is_stored
    with pytest.raises(AssertionError, match="declare the limit the store really accepts"):
        check(functools.partial(run_with_sync_driver, MemoryDriver(max_payload_bytes=1_000)))
