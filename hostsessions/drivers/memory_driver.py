"""A store in this process's memory: for tests and single-process development.

Records vanish when the process exits and are not shared between worker processes, so
this driver suits tests, scripts and a single-process development server only.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from ..errors import SessionTooLargeError
from .base import Record, WriteConflict

__all__ = ["MemoryDriver"]


class MemoryDriver:
    """Sessions in a dict, behind a lock.

    It implements both the minimal protocol (``get_item``/``set_item``/``remove_item``)
    and the versioned one (``read``/``write``/``delete``) on the same records, plus
    ``sweep``. Every method is synchronous and thread-safe: under ASGI the core calls
    sync drivers from worker threads.

    ``max_payload_bytes`` (UTF-8 bytes of a payload) makes oversized writes raise
    :class:`~hostsessions.SessionTooLargeError`, as a real store would; ``None`` is no limit.
    ``clock`` (epoch seconds) decides what has expired; tests may pass a clock they move.
    """

    #: Calls never wait on I/O, so the ASGI shell may call them on the event loop directly.
    blocking: ClassVar[bool] = False

    def __init__(
        self,
        *,
        max_payload_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()
        # One counter for every key: a record created after a delete never gets back a
        # version some stale writer may still hold.
        self._versions = itertools.count(1)

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        with self._lock:
            return self._live(key, self.clock())

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one."""
        self._check_size(payload)
        with self._lock:
            current = self._live(key, self.clock())
            if (current.version if current else None) != expected_version:
                raise WriteConflict(key, expected_version)
            return self._store(key, payload, expires_at)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version.

        Deleting a record that does not exist (or has expired) does nothing.
        """
        with self._lock:
            current = self._live(key, self.clock())
            if current is not None and expected_version not in (None, current.version):
                raise WriteConflict(key, expected_version)
            self._records.pop(key, None)

    # The minimal protocol: last write wins.

    def get_item(self, key: str) -> str | None:
        """The payload, or None when absent or expired."""
        record = self.read(key)
        return None if record is None else record.payload

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry."""
        self._check_size(value)
        with self._lock:
            self._store(key, value, None)

    def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        self.delete(key)

    # Maintenance.

    def sweep(self, now: float | None = None) -> int:
        """Delete records whose ``expires_at`` is at or before ``now``; return how many."""
        now = self.clock() if now is None else now
        with self._lock:
            expired = [key for key, record in self._records.items() if _expired(record, now)]
            for key in expired:
                del self._records[key]
        return len(expired)

    def __len__(self) -> int:
        """How many records are held, expired or not (handy in tests)."""
        with self._lock:
            return len(self._records)

    def _live(self, key: str, now: float) -> Record | None:
        record = self._records.get(key)
        return None if record is None or _expired(record, now) else record

    def _store(self, key: str, payload: str, expires_at: float | None) -> str:
        version = str(next(self._versions))
        self._records[key] = Record(payload=payload, version=version, expires_at=expires_at)
        return version

    def _check_size(self, payload: str) -> None:
        if self.max_payload_bytes is None:
            return
        size = len(payload.encode("utf-8"))
        if size > self.max_payload_bytes:
            raise SessionTooLargeError("memory", size, self.max_payload_bytes)


def _expired(record: Record, now: float) -> bool:
    return record.expires_at is not None and record.expires_at <= now
