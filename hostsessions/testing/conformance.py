"""The driver conformance suite: the behaviour the core relies on, as tests to inherit.

Subclass one of the four suites in a test module and give it a fresh, empty driver::

    class TestMyDriver(DriverConformance):            # sync read/write/delete
        payload_limit = 400_000                       # bytes of UTF-8 payload, or None

        @pytest.fixture
        def driver(self):
            return MyDriver(...)

    class TestMyAsyncDriver(AsyncDriverConformance):  # async read/write/delete
        payload_limit = None

        @pytest.fixture
        def async_driver_factory(self):
            async def make():
                return MyAsyncDriver(...)   # made inside the test's event loop
            return make

``MinimalDriverConformance`` and ``AsyncMinimalDriverConformance`` test the minimal
protocol (``get_item``/``set_item``/``remove_item``) the same way.

Every test runs its whole body in one :func:`asyncio.run`. An async driver is created
in that loop by awaiting the factory and closed at the end (``await driver.aclose()``, or
``driver.close()``, awaited if it returns an awaitable). A sync driver's methods are
called from worker threads, as the core calls them under ASGI, so the concurrency tests
exercise real threads.

Class attributes: ``payload_limit`` (required: the largest payload in UTF-8 bytes the
driver accepts, or ``None`` when it has no limit) and ``supports_sweep`` (``None``, the
default, tests ``sweep`` when the driver has one; ``True`` demands it; ``False`` skips).

A driver whose reads do not report expiry (``reports_expiry = False``, see
:class:`hostsessions.drivers.ExpiryHints`) cannot have its expiry read back: for it the two
read-back checks are skipped and one check waits instead, watching records written with an
expiry a moment away disappear (or stay, once an update moved or cleared the expiry).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from ..drivers.base import Record, WriteConflict, reports_expiry
from ..errors import SessionTooLargeError

__all__ = [
    "CONCURRENT_WRITERS",
    "AsyncDriverConformance",
    "AsyncMinimalDriverConformance",
    "DriverConformance",
    "DriverView",
    "MinimalDriverConformance",
    "run_with_async_driver",
    "run_with_sync_driver",
]

#: How many writers the concurrency tests start at once on one key.
CONCURRENT_WRITERS = 50
#: The size of the "large payload" test when the driver's limit allows it.
LARGE_PAYLOAD_BYTES = 200_000
# How many conflicts one writer may meet before the concurrency test calls it stuck.
_MAX_ATTEMPTS = 1_000
_HOUR = 3600.0
# The expiry check for drivers that do not report expiry: records expire this many seconds
# after they are written, and are looked at again this much later (a store that keeps
# expiries in whole seconds may keep a record up to a second longer).
_MOMENT = 0.5
_EXPIRY_SLACK = 1.1

Scenario = Callable[["DriverView"], Coroutine[Any, Any, None]]
Runner = Callable[[Scenario], None]
Factory = Callable[[], Awaitable[Any]]


def _new_key() -> str:
    """A realistic session ID, as the core issues them."""
    return secrets.token_urlsafe(32)


def _text_of_size(size: int) -> str:
    """A string of exactly ``size`` UTF-8 bytes, mixing 1- to 4-byte characters."""
    unit = '{"cart":["é","€","😀"],"n":1}\n'
    data = (unit * (size // len(unit.encode("utf-8")) + 1)).encode("utf-8")[:size]
    text = data.decode("utf-8", errors="ignore")  # drops a character cut in half
    return text + "a" * (size - len(text.encode("utf-8")))


# Payloads that must come back exactly as written.
PAYLOAD_SAMPLES: dict[str, str] = {
    "a devalue session": '[["Map",1],"cart",{"data":2,"expires":3},[4],1767225600000,"book"]',
    "non-ASCII text": "Grüße, café, naïve, 東京, Ελληνικά, русский, עברית",
    "emoji": "👩‍💻🎉🇪🇺 and 𝄞 (characters outside the BMP)",
    "quotes, backslashes and whitespace": '"\\" \\\\ \t tab\nline\r\n  trailing  ',
    "JSON-looking text": '{"format":"x","version":"1","length":3}\nabc',
}


class DriverView:
    """An async face on the driver under test, whatever its flavour.

    Sync drivers are called on ``pool`` threads; async ones are awaited. It also checks
    that each method is of the expected flavour and returns the documented types.
    """

    def __init__(self, driver: Any, pool: Executor | None) -> None:
        self.driver = driver
        self._pool = pool

    @property
    def is_async(self) -> bool:
        return self._pool is None

    def has(self, method_name: str) -> bool:
        return callable(getattr(self.driver, method_name, None))

    async def call(self, method_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``driver.<method_name>(*args, **kwargs)`` the way the core would."""
        name = type(self.driver).__name__
        method = getattr(self.driver, method_name, None)
        if not callable(method):
            raise AssertionError(f"{name} has no {method_name}() method")
        call = functools.partial(method, *args, **kwargs)
        if self._pool is None:
            result = call()
            if inspect.isawaitable(result):
                return await result
            if method_name == "sweep":  # the SweepableDriver protocol is sync everywhere
                return result
            raise AssertionError(
                f"{name}.{method_name}() returned {result!r}, not an awaitable: test a sync "
                "driver with DriverConformance or MinimalDriverConformance"
            )
        result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()  # never awaited on purpose; close it to avoid a warning
            raise AssertionError(
                f"{name}.{method_name}() returned an awaitable: test an async driver with "
                "AsyncDriverConformance or AsyncMinimalDriverConformance"
            )
        return result

    # The versioned protocol, with its return types checked.

    async def read(self, key: str) -> Record | None:
        record = await self.call("read", key)
        assert record is None or isinstance(record, Record), (
            f"read() must return a hostsessions.drivers.Record or None, not {record!r}"
        )
        return record

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
        kept: Any = None,
    ) -> str:
        extras: dict[str, Any] = {} if token is None else {"token": token}
        if kept is not None:
            extras["kept"] = kept
        version = await self.call(
            "write",
            key,
            payload,
            expires_at=expires_at,
            expected_version=expected_version,
            **extras,
        )
        assert isinstance(version, str), (
            f"write() must return the new version as a str, not {version!r}"
        )
        assert version, "write() returned an empty version"
        return version

    async def create(self, key: str, payload: str, expires_at: float | None = None) -> str:
        """Write a new record (``expected_version=None``)."""
        return await self.write(key, payload, expires_at=expires_at, expected_version=None)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        await self.call("delete", key, expected_version=expected_version)

    async def sweep(self, now: float | None = None) -> int:
        removed = await self.call("sweep") if now is None else await self.call("sweep", now=now)
        assert isinstance(removed, int), f"sweep() must return an int count, not {removed!r}"
        return removed

    # The minimal protocol.

    async def get_item(self, key: str) -> str | None:
        value = await self.call("get_item", key)
        assert value is None or isinstance(value, str), (
            f"get_item() must return a str or None, not {value!r}"
        )
        return value

    async def set_item(self, key: str, value: str) -> None:
        await self.call("set_item", key, value)

    async def remove_item(self, key: str) -> None:
        await self.call("remove_item", key)


def run_with_sync_driver(driver: Any, scenario: Scenario) -> None:
    """Run ``scenario`` in a new event loop, calling ``driver`` from worker threads."""
    with ThreadPoolExecutor(CONCURRENT_WRITERS, thread_name_prefix="conformance") as pool:
        asyncio.run(scenario(DriverView(driver, pool)))


def run_with_async_driver(factory: Factory, scenario: Scenario) -> None:
    """Run ``scenario`` in a new event loop on a driver made there by ``factory``, then close it."""

    async def main() -> None:
        made = factory()
        driver = await made if inspect.isawaitable(made) else made
        try:
            await scenario(DriverView(driver, None))
        finally:
            await _close(driver)

    asyncio.run(main())


async def _close(driver: Any) -> None:
    for name in ("aclose", "close"):
        close = getattr(driver, name, None)
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result
            return


def _conformance_test(
    check: Callable[[Any, DriverView], Coroutine[Any, Any, None]],
) -> Callable[[Any, Runner], None]:
    """Turn an async check on a DriverView into a plain pytest test method."""

    def test(self: Any, conformance_run: Runner) -> None:
        conformance_run(functools.partial(check, self))

    test.__name__ = check.__name__
    test.__qualname__ = check.__qualname__
    test.__doc__ = check.__doc__
    return test


async def _expect_conflict(action: Awaitable[Any], why: str) -> WriteConflict:
    try:
        result = await action
    except WriteConflict as conflict:
        return conflict
    raise AssertionError(f"{why}: expected WriteConflict, but the call returned {result!r}")


async def _expect_too_large(action: Awaitable[Any], limit: int) -> SessionTooLargeError:
    try:
        result = await action
    except SessionTooLargeError as caught:
        error = caught
    else:
        raise AssertionError(
            f"a payload of {limit + 1} UTF-8 bytes is over payload_limit={limit}: expected "
            f"SessionTooLargeError, but the call returned {result!r}"
        )
    assert error.limit == limit, (
        f"SessionTooLargeError.limit is {error.limit}, but payload_limit says {limit}"
    )
    assert error.size > error.limit, (
        f"SessionTooLargeError.size ({error.size}) must exceed its limit ({error.limit})"
    )
    assert error.store, "SessionTooLargeError must name its store"
    return error


def _payload_of(record: Record | None) -> str | None:
    return None if record is None else record.payload


def _assert_payload(found: str | None, expected: str, what: str) -> None:
    if found == expected:
        return
    if found is None:
        raise AssertionError(f"{what}: the record is missing")
    if len(found) != len(expected):
        raise AssertionError(
            f"{what}: got {len(found)} characters back for {len(expected)} written "
            f"(starts {found[:60]!r}, expected {expected[:60]!r})"
        )
    at = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
    raise AssertionError(
        f"{what}: first difference at character {at}: {found[at : at + 20]!r} "
        f"instead of {expected[at : at + 20]!r}"
    )


class _Suite:
    """What every suite shares: its configuration."""

    payload_limit: ClassVar[int | None]
    supports_sweep: ClassVar[bool | None] = None

    def _payload_limit(self) -> int | None:
        try:
            limit = type(self).payload_limit
        except AttributeError:
            pytest.fail(
                f"{type(self).__name__} must set the class attribute payload_limit: the "
                "largest payload in UTF-8 bytes the driver accepts, or None for no limit"
            )
        return limit

    def _limit_or_skip(self) -> int:
        limit = self._payload_limit()
        if limit is None:
            pytest.skip("payload_limit is None: the driver declares no size limit")
        return limit

    def _large_size(self) -> int:
        limit = self._payload_limit()
        if limit is None or limit >= LARGE_PAYLOAD_BYTES + 1024:
            return LARGE_PAYLOAD_BYTES
        return max(limit - 1024, 1)


class _SyncSuite(_Suite):
    @pytest.fixture
    def driver(self) -> Any:
        """Override: a fresh, empty driver for one test."""
        pytest.fail(f"{type(self).__name__} must define a `driver` fixture (a fresh, empty driver)")

    @pytest.fixture
    def conformance_run(self, driver: Any) -> Runner:
        return functools.partial(run_with_sync_driver, driver)


class _AsyncSuite(_Suite):
    @pytest.fixture
    def async_driver_factory(self) -> Factory:
        """Override: an async zero-argument callable returning a fresh, empty driver."""
        pytest.fail(
            f"{type(self).__name__} must define an `async_driver_factory` fixture: an async "
            "zero-argument callable that returns a fresh, empty driver"
        )

    @pytest.fixture
    def conformance_run(self, async_driver_factory: Factory) -> Runner:
        return functools.partial(run_with_async_driver, async_driver_factory)


class _PayloadChecks(_Suite):
    """Checks both protocols share, through _put / _get / _remove."""

    async def _put(self, store: DriverView, key: str, payload: str) -> None:
        raise NotImplementedError

    async def _get(self, store: DriverView, key: str) -> str | None:
        raise NotImplementedError

    async def _remove(self, store: DriverView, key: str) -> None:
        raise NotImplementedError

    @_conformance_test
    async def test_a_key_never_written_reads_as_none(self, store: DriverView) -> None:
        found = await self._get(store, _new_key())
        assert found is None, f"a key never written read as {found!r}"

    @_conformance_test
    async def test_a_removed_record_reads_as_none(self, store: DriverView) -> None:
        key = _new_key()
        await self._put(store, key, "doomed")
        await self._remove(store, key)
        found = await self._get(store, key)
        assert found is None, f"after removing it the record read as {found!r}"

    @_conformance_test
    async def test_removing_a_missing_record_does_nothing(self, store: DriverView) -> None:
        key = _new_key()
        await self._remove(store, key)
        assert await self._get(store, key) is None

    @_conformance_test
    async def test_payloads_round_trip_exactly(self, store: DriverView) -> None:
        for what, payload in PAYLOAD_SAMPLES.items():
            key = _new_key()
            await self._put(store, key, payload)
            _assert_payload(await self._get(store, key), payload, f"{what} payload")

    @_conformance_test
    async def test_large_payload_round_trips_exactly(self, store: DriverView) -> None:
        key = _new_key()
        payload = _text_of_size(self._large_size())
        await self._put(store, key, payload)
        _assert_payload(await self._get(store, key), payload, f"{len(payload)}-character payload")

    @_conformance_test
    async def test_payload_exactly_at_the_limit_is_stored(self, store: DriverView) -> None:
        """payload_limit must be honest: the store really accepts that much."""
        limit = self._limit_or_skip()
        key = _new_key()
        payload = _text_of_size(limit)
        try:
            await self._put(store, key, payload)
        except SessionTooLargeError as exc:
            raise AssertionError(
                f"payload_limit is {limit}, but the driver refused a payload of exactly {limit} "
                f"UTF-8 bytes ({exc}): declare the limit the store really accepts"
            ) from exc
        _assert_payload(await self._get(store, key), payload, f"payload of exactly {limit} bytes")

    @_conformance_test
    async def test_keys_are_independent(self, store: DriverView) -> None:
        keys = [_new_key() for _ in range(20)]
        for i, key in enumerate(keys):
            await self._put(store, key, f"payload {i}")
        await self._remove(store, keys[0])
        assert await self._get(store, keys[0]) is None, "the removed record is still there"
        for i, key in enumerate(keys[1:], start=1):
            _assert_payload(await self._get(store, key), f"payload {i}", f"untouched record {i}")


class _VersionedChecks(_PayloadChecks):
    """The versioned protocol: read / write / delete with versions and expiry."""

    async def _put(self, store: DriverView, key: str, payload: str) -> None:
        await store.create(key, payload)

    async def _get(self, store: DriverView, key: str) -> str | None:
        return _payload_of(await store.read(key))

    async def _remove(self, store: DriverView, key: str) -> None:
        await store.delete(key)

    # Reading and creating.

    @_conformance_test
    async def test_create_with_expected_version_none_stores_the_record(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        version = await store.create(key, "hello")
        record = await store.read(key)
        assert record is not None, "a record created with expected_version=None reads as None"
        assert record.payload == "hello", f"payload read back: {record.payload!r}"
        assert record.version == version, (
            f"read() gives version {record.version!r}, write() returned {version!r}"
        )

    @_conformance_test
    async def test_create_when_the_record_exists_is_a_write_conflict(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        version = await store.create(key, "first")
        await _expect_conflict(
            store.create(key, "second"),
            "write(expected_version=None) on an existing record must not overwrite it",
        )
        assert await store.read(key) == Record("first", version, None), (
            "a create that conflicted must leave the existing record unchanged"
        )

    # Updating.

    @_conformance_test
    async def test_update_with_the_current_version_returns_a_new_version(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        first = await store.create(key, "one")
        second = await store.write(key, "two", expires_at=None, expected_version=first)
        assert second != first, f"an update must change the version; both are {first!r}"
        record = await store.read(key)
        assert record == Record("two", second, None), f"after the update read() gave {record!r}"

    @_conformance_test
    async def test_update_with_a_stale_version_is_a_write_conflict_and_keeps_the_record(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        stale = await store.create(key, "one")
        current = await store.write(key, "two", expires_at=None, expected_version=stale)
        await _expect_conflict(
            store.write(key, "three", expires_at=None, expected_version=stale),
            "write() with a version that was replaced must fail",
        )
        assert await store.read(key) == Record("two", current, None), (
            "a write that conflicted must leave the record unchanged"
        )

    @_conformance_test
    async def test_update_of_a_missing_record_is_a_write_conflict(self, store: DriverView) -> None:
        key = _new_key()
        await _expect_conflict(
            store.write(key, "ghost", expires_at=None, expected_version="1"),
            "write() with an expected_version on a key that has no record must fail",
        )
        assert await store.read(key) is None, "the failed write created a record"

    @_conformance_test
    async def test_update_of_a_deleted_record_is_a_write_conflict(self, store: DriverView) -> None:
        """A late save must not bring back a session another request destroyed."""
        key = _new_key()
        version = await store.create(key, "alive")
        await store.delete(key)
        await _expect_conflict(
            store.write(key, "resurrected", expires_at=None, expected_version=version),
            "write() with the version of a deleted record must fail",
        )
        assert await store.read(key) is None, "a late write brought a deleted record back"

    @_conformance_test
    async def test_a_recreated_record_never_reuses_an_old_version(self, store: DriverView) -> None:
        """Versions must not restart after a delete, or a stale writer would win (ABA)."""
        key = _new_key()
        old = await store.create(key, "first life")
        await store.delete(key)
        new = await store.create(key, "second life")
        assert new != old, (
            f"the re-created record got version {new!r} again: use versions that never "
            "repeat for a key (a UUID, a store timestamp/etag), not a counter that restarts"
        )
        await _expect_conflict(
            store.write(key, "stale", expires_at=None, expected_version=old),
            "write() with the version of the record's previous life must fail",
        )

    # Deleting.

    @_conformance_test
    async def test_delete_with_the_current_version_removes_the_record(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        version = await store.create(key, "doomed")
        await store.delete(key, expected_version=version)
        found = await store.read(key)
        assert found is None, f"after delete(expected_version=current) read() gave {found!r}"

    @_conformance_test
    async def test_delete_with_a_stale_version_is_a_write_conflict_and_keeps_the_record(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        stale = await store.create(key, "one")
        current = await store.write(key, "two", expires_at=None, expected_version=stale)
        await _expect_conflict(
            store.delete(key, expected_version=stale),
            "delete() with a version that was replaced must fail",
        )
        assert await store.read(key) == Record("two", current, None), (
            "a delete that conflicted must keep the record"
        )

    @_conformance_test
    async def test_delete_with_a_version_of_a_missing_record_does_nothing(
        self, store: DriverView
    ) -> None:
        """The record is absent, as the caller wants: no WriteConflict."""
        key = _new_key()
        await store.delete(key, expected_version="1")
        assert await store.read(key) is None

    # Expiry.

    @_conformance_test
    async def test_record_whose_expiry_has_passed_reads_as_none(self, store: DriverView) -> None:
        """The store may not have deleted it yet; a read must still not return it."""
        key = _new_key()
        await store.create(key, "stale", expires_at=time.time() - 60)
        found = await store.read(key)
        assert found is None, f"a record that expired a minute ago was read: {found!r}"

    def _require_expiry_reports(self, store: DriverView) -> None:
        if not reports_expiry(store.driver):
            pytest.skip(
                "reports_expiry = False: read() leaves expires_at None; the expiry is checked "
                "by test_expiry_is_honoured_by_a_driver_that_does_not_report_it"
            )

    @_conformance_test
    async def test_record_expiring_in_the_future_reads_with_its_expiry(
        self, store: DriverView
    ) -> None:
        self._require_expiry_reports(store)
        key = _new_key()
        expires_at = time.time() + _HOUR
        await store.create(key, "fresh", expires_at=expires_at)
        record = await store.read(key)
        assert record is not None, "a record that expires in an hour reads as None"
        assert record.expires_at is not None, "expires_at was written but read back as None"
        assert abs(record.expires_at - expires_at) <= 1.0, (
            f"expires_at read back as {record.expires_at!r}, written as {expires_at!r}"
        )

    @_conformance_test
    async def test_record_without_expiry_reads_with_expires_at_none(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        await store.create(key, "forever", expires_at=None)
        record = await store.read(key)
        assert record is not None, "a record written with expires_at=None reads as None"
        assert record.expires_at is None, f"expires_at=None was read back as {record.expires_at!r}"

    @_conformance_test
    async def test_update_replaces_the_expiry_including_clearing_it(
        self, store: DriverView
    ) -> None:
        self._require_expiry_reports(store)
        key = _new_key()
        version = await store.create(key, "v1", expires_at=time.time() + _HOUR)
        later = time.time() + 2 * _HOUR
        version = await store.write(key, "v2", expires_at=later, expected_version=version)
        record = await store.read(key)
        assert record is not None, "the updated record reads as None"
        assert record.expires_at is not None, "an update with an expiry read back without one"
        assert abs(record.expires_at - later) <= 1.0, "an update must replace expires_at"
        await store.write(key, "v3", expires_at=None, expected_version=version)
        record = await store.read(key)
        assert record is not None, "the updated record reads as None"
        assert record.expires_at is None, (
            f"an update with expires_at=None must clear the expiry; read {record.expires_at!r}"
        )

    @_conformance_test
    async def test_expiry_is_honoured_by_a_driver_that_does_not_report_it(
        self, store: DriverView
    ) -> None:
        """What the two read-back checks above prove, seen by waiting for the expiry instead."""
        if reports_expiry(store.driver):
            pytest.skip("the driver reports expires_at: its expiry is checked by reading it back")
        soon = time.time() + _MOMENT
        expiring, moved_later, cleared, moved_sooner = (_new_key() for _ in range(4))
        await store.create(expiring, "expiring", expires_at=soon)
        version = await store.create(moved_later, "later", expires_at=soon)
        await store.write(moved_later, "later", expires_at=soon + _HOUR, expected_version=version)
        version = await store.create(cleared, "cleared", expires_at=soon)
        await store.write(cleared, "cleared", expires_at=None, expected_version=version)
        version = await store.create(moved_sooner, "sooner", expires_at=soon + _HOUR)
        await store.write(moved_sooner, "sooner", expires_at=soon, expected_version=version)
        record = await store.read(expiring)
        assert record is not None, "a record expiring in a moment reads as None already"
        assert record.expires_at is None, (
            f"reports_expiry = False, but read() gave expires_at={record.expires_at!r}: a "
            "driver that does not report the expiry must leave it None, not guess"
        )
        await asyncio.sleep(max(0.0, soon + _EXPIRY_SLACK - time.time()))
        found = await store.read(expiring)
        assert found is None, f"a record read after its expiry had passed: {found!r}"
        found = await store.read(moved_sooner)
        assert found is None, f"an update's sooner expiry was not applied: read {found!r}"
        assert _payload_of(await store.read(moved_later)) == "later", (
            "an update with a later expiry must replace the earlier one: the record expired"
        )
        assert _payload_of(await store.read(cleared)) == "cleared", (
            "an update with expires_at=None must clear the expiry: the record expired"
        )

    @_conformance_test
    async def test_expired_record_can_be_created_again_with_expected_version_none(
        self, store: DriverView
    ) -> None:
        """An expired record is absent, even while the store still holds it."""
        key = _new_key()
        await store.create(key, "expired", expires_at=time.time() - 60)
        try:
            version = await store.create(key, "reborn")
        except WriteConflict as exc:
            raise AssertionError(
                "write(expected_version=None) over an expired record raised WriteConflict: an "
                "expired record counts as absent (check the expiry in the write's condition)"
            ) from exc
        assert await store.read(key) == Record("reborn", version, None)

    # Payloads.

    @_conformance_test
    async def test_an_update_replaces_a_large_payload_exactly(self, store: DriverView) -> None:
        """Nothing of a larger earlier payload may survive (stores that split payloads)."""
        key = _new_key()
        large = _text_of_size(self._large_size())
        version = await store.create(key, large)
        version = await store.write(key, "small", expires_at=None, expected_version=version)
        _assert_payload(_payload_of(await store.read(key)), "small", "payload after shrinking")
        await store.write(key, large[::-1], expires_at=None, expected_version=version)
        _assert_payload(_payload_of(await store.read(key)), large[::-1], "payload after growing")

    @_conformance_test
    async def test_payload_over_the_limit_raises_session_too_large_and_writes_nothing(
        self, store: DriverView
    ) -> None:
        limit = self._limit_or_skip()
        too_large = _text_of_size(limit + 1)
        new_key = _new_key()
        await _expect_too_large(store.create(new_key, too_large), limit)
        assert await store.read(new_key) is None, "an oversized create left a record behind"

        key = _new_key()
        version = await store.create(key, "small")
        await _expect_too_large(
            store.write(key, too_large, expires_at=None, expected_version=version), limit
        )
        assert await store.read(key) == Record("small", version, None), (
            "an oversized update must leave the record unchanged"
        )

    # Concurrency.

    @_conformance_test
    async def test_concurrent_read_modify_write_increments_all_land(
        self, store: DriverView
    ) -> None:
        """CONCURRENT_WRITERS writers increment one counter, retrying on WriteConflict."""
        key = _new_key()

        async def increment(writer: int) -> str:
            for attempt in range(_MAX_ATTEMPTS):
                record = await store.read(key)
                count = 0 if record is None else int(record.payload)
                try:
                    return await store.write(
                        key,
                        str(count + 1),
                        expires_at=None,
                        expected_version=None if record is None else record.version,
                    )
                except WriteConflict:
                    await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))  # noqa: S311
            raise AssertionError(
                f"writer {writer} met {_MAX_ATTEMPTS} WriteConflicts in a row: does write() "
                "reject an expected_version that matches what read() returned?"
            )

        versions = await asyncio.gather(*(increment(n) for n in range(CONCURRENT_WRITERS)))
        record = await store.read(key)
        assert _payload_of(record) == str(CONCURRENT_WRITERS), (
            f"{CONCURRENT_WRITERS} increments that each succeeded left the counter at "
            f"{_payload_of(record)!r}: a conditional write let a stale version through"
        )
        assert len(set(versions)) == CONCURRENT_WRITERS, (
            "successful writes returned the same version twice"
        )

    # Write tokens and the record a conflict carries (both optional for a driver).

    def _require_tokens(self, store: DriverView) -> None:
        from ..storage import takes_tokens

        if not takes_tokens(store.driver):
            pytest.skip("the driver's write() takes no token: it keeps no write tokens")

    @_conformance_test
    async def test_the_write_token_is_stored_with_the_record(self, store: DriverView) -> None:
        self._require_tokens(store)
        key = _new_key()
        first_mark, second_mark = "a1", "b2 a1"
        first = await store.write(
            key, "one", expires_at=None, expected_version=None, token=first_mark
        )
        record = await store.read(key)
        assert record is not None, "write() stored nothing"
        assert record.token == first_mark, (
            f"read() after write(token={first_mark!r}) gave {record!r}: the token must come back"
        )
        await store.write(key, "two", expires_at=None, expected_version=first, token=second_mark)
        record = await store.read(key)
        assert record is not None, "write() stored nothing"
        assert record.token == second_mark, (
            f"an update must replace the token; read() gave {record!r}"
        )

    @_conformance_test
    async def test_a_write_without_a_token_stores_none(self, store: DriverView) -> None:
        self._require_tokens(store)
        key = _new_key()
        first_mark = "a1"
        first = await store.write(
            key, "one", expires_at=None, expected_version=None, token=first_mark
        )
        await store.write(key, "two", expires_at=None, expected_version=first)
        record = await store.read(key)
        assert record is not None, "write() stored nothing"
        assert record.token is None, (
            f"a write without a token must not keep the old one; read() gave {record!r}"
        )

    @_conformance_test
    async def test_a_conflict_that_carries_the_record_carries_the_current_one(
        self, store: DriverView
    ) -> None:
        key = _new_key()
        stale = await store.create(key, "one")
        await store.write(key, "two", expires_at=None, expected_version=stale)
        conflict = await _expect_conflict(
            store.write(key, "three", expires_at=None, expected_version=stale),
            "write() with a version that was replaced must fail",
        )
        if conflict.current_known:
            assert conflict.current == await store.read(key), (
                f"WriteConflict(current={conflict.current!r}) is not the stored record"
            )
        missing = await _expect_conflict(
            store.write(_new_key(), "ghost", expires_at=None, expected_version=stale),
            "write() with an expected_version on a key that has no record must fail",
        )
        if missing.current_known:
            assert missing.current is None, "a conflict on a missing record carries current=None"

    # What the core keeps next to a record (optional: drivers.base.KeepsObjects).

    def _require_keeps_objects(self, store: DriverView) -> None:
        from ..drivers.base import keeps_objects

        if not keeps_objects(store.driver):
            pytest.skip("the driver keeps no objects (keeps_objects is not True)")

    @_conformance_test
    async def test_what_the_core_keeps_comes_back_with_its_record(self, store: DriverView) -> None:
        self._require_keeps_objects(store)
        key = _new_key()
        kept = ("n", 1, None, "user", "ada", 1_800_000_000_000)
        first = await store.write(key, "one", expires_at=None, expected_version=None, kept=kept)
        record = await store.read(key)
        assert record is not None, "write() stored nothing"
        assert record.kept == kept, (
            f"read() after write(kept={kept!r}) gave kept={record.kept!r}: it must come back"
        )
        conflict = await _expect_conflict(
            store.write(key, "two", expires_at=None, expected_version=None, kept=("x", 2, None)),
            "write() creating a record that exists must fail",
        )
        if conflict.current_known:
            assert conflict.current is not None
            assert conflict.current.kept == kept, "a conflict's record carries what was kept"
        await store.write(key, "three", expires_at=None, expected_version=first)
        record = await store.read(key)
        assert record is not None, "write() stored nothing"
        assert record.kept is None, (
            f"a write without `kept` must not keep the old one; read() gave {record.kept!r}"
        )

    # Sweeping.

    def _require_sweep(self, store: DriverView) -> None:
        if self.supports_sweep is False:
            pytest.skip("supports_sweep = False")
        if not store.has("sweep"):
            if self.supports_sweep:
                raise AssertionError("supports_sweep = True, but the driver has no sweep()")
            pytest.skip("the driver has no sweep()")

    @_conformance_test
    async def test_sweep_removes_only_expired_records(self, store: DriverView) -> None:
        self._require_sweep(store)
        now = time.time()
        expired, live, forever = _new_key(), _new_key(), _new_key()
        await store.create(expired, "expired", expires_at=now - 60)
        await store.create(live, "live", expires_at=now + _HOUR)
        await store.create(forever, "forever", expires_at=None)
        removed = await store.sweep()
        assert removed == 1, (
            f"sweep() on a fresh store holding one expired record returned {removed} "
            "(the driver fixture must give an empty store)"
        )
        assert await store.sweep() == 0, "a second sweep() found more to remove"
        assert _payload_of(await store.read(live)) == "live", "sweep removed a live one"
        assert _payload_of(await store.read(forever)) == "forever", (
            "sweep removed a record without expiry"
        )

    @_conformance_test
    async def test_sweep_judges_expiry_by_its_now_argument(self, store: DriverView) -> None:
        self._require_sweep(store)
        now = time.time()
        soon, later, forever = _new_key(), _new_key(), _new_key()
        await store.create(soon, "soon", expires_at=now + _HOUR)
        await store.create(later, "later", expires_at=now + 3 * _HOUR)
        await store.create(forever, "forever", expires_at=None)
        removed = await store.sweep(now=now + 2 * _HOUR)
        assert removed == 1, f"sweep(now=in two hours) removed {removed} records, expected 1"
        assert await store.read(soon) is None, "sweep(now=...) did not remove what expired by then"
        assert await store.read(later) is not None, "sweep(now=...) removed a later record"
        assert await store.read(forever) is not None, "sweep removed a record without expiry"


class _MinimalChecks(_PayloadChecks):
    """The minimal protocol: get_item / set_item / remove_item, last write wins."""

    async def _put(self, store: DriverView, key: str, payload: str) -> None:
        await store.set_item(key, payload)

    async def _get(self, store: DriverView, key: str) -> str | None:
        return await store.get_item(key)

    async def _remove(self, store: DriverView, key: str) -> None:
        await store.remove_item(key)

    @_conformance_test
    async def test_set_item_then_get_item_returns_the_value(self, store: DriverView) -> None:
        key = _new_key()
        await store.set_item(key, "hello")
        _assert_payload(await store.get_item(key), "hello", "get_item after set_item")

    @_conformance_test
    async def test_set_item_overwrites_the_previous_value(self, store: DriverView) -> None:
        key = _new_key()
        await store.set_item(key, "first")
        await store.set_item(key, "second")
        _assert_payload(await store.get_item(key), "second", "get_item after two set_item calls")

    @_conformance_test
    async def test_value_over_the_limit_raises_session_too_large_and_writes_nothing(
        self, store: DriverView
    ) -> None:
        limit = self._limit_or_skip()
        key = _new_key()
        await store.set_item(key, "small")
        await _expect_too_large(store.set_item(key, _text_of_size(limit + 1)), limit)
        _assert_payload(await store.get_item(key), "small", "value after an oversized set_item")

    @_conformance_test
    async def test_concurrent_set_items_leave_one_whole_value(self, store: DriverView) -> None:
        """Last write wins, but a value is never torn or mixed from two writers."""
        key = _new_key()
        values = [f"writer {n}: " + "x" * (1000 + n) for n in range(CONCURRENT_WRITERS)]
        await asyncio.gather(*(store.set_item(key, value) for value in values))
        found = await store.get_item(key)
        assert found in values, f"concurrent set_item calls left {found and found[:40]!r}..."


class DriverConformance(_SyncSuite, _VersionedChecks):
    """The suite for a sync driver with ``read``/``write``/``delete`` (and maybe ``sweep``).

    Define a ``driver`` fixture returning a fresh, empty driver, and ``payload_limit``.
    """


class AsyncDriverConformance(_AsyncSuite, _VersionedChecks):
    """The suite for an async driver with ``read``/``write``/``delete``.

    Define an ``async_driver_factory`` fixture (an async zero-argument callable returning
    a fresh, empty driver) and ``payload_limit``.
    """


class MinimalDriverConformance(_SyncSuite, _MinimalChecks):
    """The suite for a sync driver with only ``get_item``/``set_item``/``remove_item``."""


class AsyncMinimalDriverConformance(_AsyncSuite, _MinimalChecks):
    """The suite for an async driver with only ``get_item``/``set_item``/``remove_item``."""
