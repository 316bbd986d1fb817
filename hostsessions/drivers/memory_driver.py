"""A store in this process's memory: for tests and single-process development.

Records vanish when the process exits and are not shared between worker processes, so
this driver suits tests, scripts and a single-process development server only.

The store is bounded, like the LRU memory driver of Astro's docs: it holds at most
``max_sessions`` records and evicts the least recently used one (read or written) to
make room for a new one. Expired records are dropped on their own: a read of an expired
record removes it, and at most every ``sweep_interval`` seconds a store call first
removes every expired record (a scan, so its cost is spread over all the calls of that
interval; nothing runs while the store is idle, when nothing can grow either).

The records live in a plain dict whose insertion order is the use order (a use
re-inserts the record at the end), each record is one tuple of strings, a float and what
the core keeps next to the payload (atoms only, so the garbage collector stops tracking
it), and eviction takes the first record in that order. The store's size itself costs a
request nothing; a request to one session among many in use costs a few microseconds
more than one among a few, the price of reaching a session's objects once they have left
the processor's caches (``benchmarks/bench_session_count.py``; figures and what was tried
in docs/performance.md, "Flat in the number of sessions").
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeAlias

from ..checks import is_whole_number
from .base import (
    DriverBase,
    Record,
    WriteConflict,
    check_size,
    is_expired,
    make_record,
    utf8_length,
)

__all__ = ["DEFAULT_MAX_SESSIONS", "DEFAULT_SWEEP_INTERVAL", "MemoryDriver"]

#: How many sessions a memory store holds by default before it evicts the least recently
#: used one: plenty for tests and a development server, and a bound on what a flood of new
#: sessions can cost (a small session record takes well under 1 KiB).
DEFAULT_MAX_SESSIONS: Final = 10_000
#: How often, at most, a store call first drops every expired record (seconds).
DEFAULT_SWEEP_INTERVAL: Final = 60.0

# A held record: payload, version, expires_at, token, kept (the core's object, see
# drivers.base.KeepsObjects). A tuple of atomic values, not a Record: the cyclic garbage
# collector untracks such tuples (the core keeps only a tuple of atoms there), so a full
# collection does not walk every held session, and a use touches one object fewer.
_Entry: TypeAlias = "tuple[str, str, float | None, str | None, Any]"
# Evicting takes the first record in the dict's order, which means stepping over the
# slots that earlier evictions emptied, until the dict is rebuilt compact. A rebuild costs
# about as much as stepping over max_sessions slots, so rebuilding after about
# sqrt(max_sessions) evictions keeps both costs per eviction near sqrt(max_sessions) slots.
_REBUILD_FACTOR: Final = 10


class MemoryDriver(DriverBase):
    """Sessions in a dict in use order (least recently used first), behind a lock.

    It implements both the minimal protocol (``get_item``/``set_item``/``remove_item``)
    and the versioned one (``read``/``write``/``delete``) on the same records, plus
    ``sweep``. Every method is synchronous and thread-safe: under ASGI the core calls
    sync drivers from worker threads.

    ``max_sessions`` bounds how many records are held (``None``: no bound); a write of a
    new record beyond it evicts the least recently used records. ``sweep_interval``
    (seconds, ``None``: never on its own) is how often, at most, a call first drops every
    expired record. ``max_payload_bytes`` (UTF-8 bytes of a payload) makes oversized
    writes raise :class:`~hostsessions.SessionTooLargeError`, as a real store would;
    ``None`` is no limit. ``clock`` (epoch seconds) decides what has expired; tests may
    pass a clock they move.
    """

    store_name: ClassVar[str] = "memory"
    #: Records are held as objects in this process: the core may keep its own next to one.
    keeps_objects: ClassVar[bool] = True
    #: Calls never wait on I/O, so the ASGI shell may call them on the event loop directly.
    blocking: ClassVar[bool] = False
    blocking_reads: ClassVar[bool] = False

    def __init__(
        self,
        *,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        sweep_interval: float | None = DEFAULT_SWEEP_INTERVAL,
        max_payload_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_sessions is not None and not is_whole_number(max_sessions, minimum=1):
            raise ValueError(f"max_sessions must be a positive int or None, not {max_sessions!r}")
        if sweep_interval is not None and not sweep_interval >= 0:
            raise ValueError(f"sweep_interval must be >= 0 seconds or None, not {sweep_interval!r}")
        self.max_sessions = max_sessions
        self.sweep_interval = sweep_interval
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock
        self._records: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # One counter for every key: a record created after a delete never gets back a
        # version some stale writer may still hold.
        self._versions = itertools.count(1)
        self._next_sweep = -float("inf") if sweep_interval is not None else float("inf")
        self.evicted = 0  #: how many live records were evicted to respect max_sessions
        self._evictions_since_rebuild = 0

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        # _live() and _now() written out: this runs once for every request that reads
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            records = self._records
            entry = records.pop(key, None)
            if entry is None:
                return None
            expires_at = entry[2]
            if expires_at is not None and expires_at <= now:  # drivers.base.is_expired
                return None
            records[key] = entry  # to the end of the use order
        return make_record(*entry)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
        kept: Any = None,
    ) -> str:
        """Store ``payload`` (and the write ``token``, and ``kept``, handed back as
        :attr:`Record.kept` by reads of this record) if the stored version is
        ``expected_version``; return the new one. A conflict carries the current record."""
        if self.max_payload_bytes is not None:
            check_size(self.store_name, utf8_length(payload), self.max_payload_bytes)
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            records = self._records
            current = records.get(key)
            if current is not None and current[2] is not None and current[2] <= now:
                current = None  # expired (drivers.base.is_expired): as good as absent
            if (None if current is None else current[1]) != expected_version:
                known = None if current is None else Record(*current)
                raise WriteConflict(key, expected_version, current=known)
            version = str(next(self._versions))
            records.pop(key, None)  # a rewrite is a use: to the end of the use order
            records[key] = (payload, version, expires_at, token, kept)
            bound = self.max_sessions
            if bound is not None and len(records) > bound:
                self._evict(len(records) - bound, bound)
            return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version.

        Deleting a record that does not exist (or has expired) does nothing.
        """
        with self._lock:
            current = self._live(key, self._now())
            if current is not None and expected_version not in (None, current[1]):
                raise WriteConflict(key, expected_version)
            self._records.pop(key, None)

    # Maintenance.

    def sweep(self, *, now: float | None = None) -> int:
        """Delete records whose ``expires_at`` is at or before ``now``; return how many."""
        now = self.clock() if now is None else now
        with self._lock:
            return self._sweep(now)

    def __len__(self) -> int:
        """How many records are held, expired or not (handy in tests)."""
        with self._lock:
            return len(self._records)

    # Internals; the callers hold the lock.

    def _now(self) -> float:
        """The clock's time, after the periodic sweep if one is due."""
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        return now

    def _sweep(self, now: float) -> int:
        records = self._records
        expired = [key for key, entry in records.items() if is_expired(entry[2], now)]
        for key in expired:
            del records[key]
        if self.sweep_interval is not None:
            self._next_sweep = now + self.sweep_interval
        return len(expired)

    def _live(self, key: str, now: float) -> _Entry | None:
        """The live entry of ``key``, now the most recently used; an expired one is dropped."""
        records = self._records
        entry = records.pop(key, None)
        if entry is None or is_expired(entry[2], now):
            return None
        records[key] = entry  # to the end of the use order
        return entry

    def _evict(self, count: int, bound: int) -> None:
        """Drop the ``count`` least recently used records."""
        records = self._records
        victims = list(itertools.islice(records, count))
        now = self.clock()
        for key in victims:
            if not is_expired(records.pop(key)[2], now):
                self.evicted += 1
        self._evictions_since_rebuild += count
        if self._evictions_since_rebuild >= max(64, _REBUILD_FACTOR * math.isqrt(bound)):
            # A copy is compact: the emptied slots at the front are gone.
            self._records = dict(records)
            self._evictions_since_rebuild = 0
