"""Drivers a user might write, loaded through ``DriverConfig("tests.custom_drivers:...")``.

``make_sync`` and ``make_async`` return versioned drivers over a dict (a thread lock for
the sync one, an asyncio lock for the async one); ``make_minimal`` and
``make_async_minimal`` return drivers with only the minimal protocol (last write wins).
The dict logic lives once in :class:`DictRecords`; the drivers only add locking.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from hostsessions import SessionTooLargeError
from hostsessions.drivers import Record, WriteConflict


class DictRecords:
    """Versioned records in a dict, with no locking: the callers hold a lock."""

    def __init__(self, payload_limit: int | None = None) -> None:
        self.payload_limit = payload_limit
        self.records: dict[str, Record] = {}

    def read(self, key: str) -> Record | None:
        record = self.records.get(key)
        if record is None or (record.expires_at is not None and record.expires_at <= time.time()):
            return None
        return record

    def write(
        self, key: str, payload: str, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.check_size(payload)
        current = self.read(key)
        if (current.version if current else None) != expected_version:
            raise WriteConflict(key, expected_version)
        version = uuid.uuid4().hex
        self.records[key] = Record(payload, version, expires_at)
        return version

    def delete(self, key: str, expected_version: str | None) -> None:
        current = self.read(key)
        if current is not None and expected_version not in (None, current.version):
            raise WriteConflict(key, expected_version)
        self.records.pop(key, None)

    def check_size(self, payload: str) -> None:
        size = len(payload.encode("utf-8"))
        if self.payload_limit is not None and size > self.payload_limit:
            raise SessionTooLargeError("custom", size, self.payload_limit)


class SyncDictDriver:
    """A sync versioned driver."""

    def __init__(self, payload_limit: int | None = None) -> None:
        self.records = DictRecords(payload_limit)
        self.lock = threading.Lock()

    def read(self, key: str) -> Record | None:
        with self.lock:
            return self.records.read(key)

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        with self.lock:
            return self.records.write(key, payload, expires_at, expected_version)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        with self.lock:
            self.records.delete(key, expected_version)


class AsyncDictDriver:
    """An async versioned driver; it counts its ``aclose`` calls."""

    def __init__(self, payload_limit: int | None = None) -> None:
        self.records = DictRecords(payload_limit)
        self.lock = asyncio.Lock()
        self.closed = 0

    async def read(self, key: str) -> Record | None:
        async with self.lock:
            await asyncio.sleep(0)  # give other tasks a chance to interleave, as real I/O would
            return self.records.read(key)

    async def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        async with self.lock:
            await asyncio.sleep(0)
            return self.records.write(key, payload, expires_at, expected_version)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        async with self.lock:
            self.records.delete(key, expected_version)

    async def aclose(self) -> None:
        self.closed += 1


class SyncMinimalDriver:
    """Only get_item / set_item / remove_item, as an Astro-style driver."""

    def __init__(self, payload_limit: int | None = None) -> None:
        self.records = DictRecords(payload_limit)

    def get_item(self, key: str) -> str | None:
        record = self.records.records.get(key)
        return None if record is None else record.payload

    def set_item(self, key: str, value: str) -> None:
        self.records.check_size(value)
        self.records.records[key] = Record(value, "")

    def remove_item(self, key: str) -> None:
        self.records.records.pop(key, None)


class AsyncMinimalDriver:
    """The minimal protocol with coroutine methods."""

    def __init__(self, payload_limit: int | None = None) -> None:
        self.inner = SyncMinimalDriver(payload_limit)

    async def get_item(self, key: str) -> str | None:
        return self.inner.get_item(key)

    async def set_item(self, key: str, value: str) -> None:
        self.inner.set_item(key, value)

    async def remove_item(self, key: str) -> None:
        self.inner.remove_item(key)


def make_sync(*, payload_limit: int | None = None) -> SyncDictDriver:
    """Entry point ``tests.custom_drivers:make_sync``."""
    return SyncDictDriver(payload_limit)


def make_async(*, payload_limit: int | None = None) -> AsyncDictDriver:
    """Entry point ``tests.custom_drivers:make_async``."""
    return AsyncDictDriver(payload_limit)


def make_minimal(*, payload_limit: int | None = None) -> SyncMinimalDriver:
    """Entry point ``tests.custom_drivers:make_minimal``."""
    return SyncMinimalDriver(payload_limit)


def make_async_minimal(*, payload_limit: int | None = None) -> AsyncMinimalDriver:
    """Entry point ``tests.custom_drivers:make_async_minimal``."""
    return AsyncMinimalDriver(payload_limit)
