"""The driver contract, and the base classes that carry its rules.

Rules of this module: everything a driver must obey that is not about its particular
store lives here, once. A driver moves opaque payload strings under a key (the session
ID); it never decodes them. A driver built on :class:`DriverBase` (or
:class:`AsyncDriverBase`) writes only what maps its store's calls: ``read``, ``write``
and ``delete``. The base derives the rest:

- the minimal protocol (``get_item``/``set_item``/``remove_item``) from the versioned one;
- "an expired record reads as absent": :func:`live` is the one place that says it;
- the size rule: :func:`check_size` raises :class:`~hostsessions.SessionTooLargeError`
  before anything is written;
- shared helpers: :func:`utf8_length`, :func:`whole_seconds` (an expiry rounded up to a
  whole second, for stores whose native expiry counts seconds) and :class:`ClientCache`
  (a process-wide client per settings, created once under a lock).

Optional capabilities are declared as small protocols: :class:`HasAsyncTwin`
(``to_async``), :class:`BlockingHints` (``blocking``, ``blocking_reads``),
:class:`ExpiryHints` (``reports_expiry``), :class:`KeepsObjects` (``keeps_objects``),
:class:`AsyncClosable` (``aclose``), :class:`Closable` (``close``) and
:class:`SweepableDriver` (``sweep(*, now=None)``).
``docs/writing-a-driver.md`` describes each.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

from ..errors import SessionTooLargeError

__all__ = [
    "AnyAsyncDriver",
    "AnyDriver",
    "AsyncClosable",
    "AsyncDriver",
    "AsyncDriverBase",
    "AsyncVersionedDriver",
    "BlockingHints",
    "ClientCache",
    "Closable",
    "Driver",
    "DriverBase",
    "ExpiryHints",
    "HasAsyncTwin",
    "KeepsObjects",
    "Record",
    "SweepableDriver",
    "VersionedDriver",
    "WriteConflict",
    "check_size",
    "check_version",
    "is_expired",
    "keeps_objects",
    "live",
    "make_record",
    "reports_expiry",
    "utf8_length",
    "whole_seconds",
]

_UNKNOWN: Any = object()


class WriteConflict(Exception):
    """A conditional write found a different version than the one expected.

    A driver that learns the record's current state in the same call (DynamoDB's
    ``ReturnValuesOnConditionCheckFailure``, a compare-and-set script that returns the
    value) passes it as ``current``: the :class:`Record`, or None when there is no live
    record. The core then uses it instead of reading the record again. Left out, the core
    reads.
    """

    def __init__(
        self, key: str, expected_version: str | None, *, current: Record | None = _UNKNOWN
    ) -> None:
        self.key = key
        self.expected_version = expected_version
        self.current_known = current is not _UNKNOWN
        self.current: Record | None = None if current is _UNKNOWN else current
        super().__init__(f"record {key[:8]}... changed since version {expected_version!r} was read")


@dataclass(frozen=True, slots=True)
class Record:
    """One stored session as a versioned driver returns it.

    ``token`` is the write token stored with the record (see
    :meth:`VersionedDriver.write`), or None for a driver that keeps none. ``kept`` is
    what a driver that keeps in-process objects (:class:`KeepsObjects`) was given with
    the write of this very record, or None; it takes no part in equality or ``repr``.
    """

    payload: str
    version: str
    expires_at: float | None = None
    token: str | None = None
    kept: Any = field(default=None, compare=False, repr=False)


_new_object = object.__new__
_record_slots: dict[str, Any] = dict(vars(Record))  # the fields' slot descriptors
_set_payload = _record_slots["payload"].__set__
_set_version = _record_slots["version"].__set__
_set_expires_at = _record_slots["expires_at"].__set__
_set_token = _record_slots["token"].__set__
_set_kept = _record_slots["kept"].__set__


def make_record(
    payload: str,
    version: str,
    expires_at: float | None = None,
    token: str | None = None,
    kept: Any = None,
) -> Record:
    """``Record(payload, version, expires_at, token, kept)`` at about half the cost, for a
    driver's read path: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; this sets the slots directly (``Record`` has nothing else to
    run at construction)."""
    record: Record = _new_object(Record)
    _set_payload(record, payload)
    _set_version(record, version)
    _set_expires_at(record, expires_at)
    _set_token(record, token)
    _set_kept(record, kept)
    return record


# ---- the protocols ----------------------------------------------------------------------


@runtime_checkable
class Driver(Protocol):
    """The minimal protocol (Astro's): last write wins."""

    def get_item(self, key: str) -> str | None: ...

    def set_item(self, key: str, value: str) -> None: ...

    def remove_item(self, key: str) -> None: ...


@runtime_checkable
class AsyncDriver(Protocol):
    """The minimal protocol with coroutine methods."""

    async def get_item(self, key: str) -> str | None: ...

    async def set_item(self, key: str, value: str) -> None: ...

    async def remove_item(self, key: str) -> None: ...


@runtime_checkable
class VersionedDriver(Protocol):
    """Conditional reads and writes: what the core needs to never lose a change."""

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        ...

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str:
        """Store ``payload`` and return the new version.

        ``expected_version=None`` means the record must not exist yet; otherwise the
        stored version must equal it. Raise :class:`WriteConflict` when it does not.

        Optional: a driver whose ``write`` also takes a keyword ``token: str | None = None``
        stores that opaque string (at most a few hundred ASCII characters) with the record
        and returns it as :attr:`Record.token`. The core chooses a fresh token for every
        write, so when a write's reply is lost and a retry then fails its condition, the
        core can tell its own write (its token is stored) from another request's, and
        applies an ``update()`` exactly once. See docs/writing-a-driver.md.
        """
        ...

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version."""
        ...


@runtime_checkable
class AsyncVersionedDriver(Protocol):
    """:class:`VersionedDriver` with coroutine methods."""

    async def read(self, key: str) -> Record | None: ...

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str: ...

    async def delete(self, key: str, *, expected_version: str | None = None) -> None: ...


#: Anything the core accepts as a driver: either protocol, either flavour.
AnyDriver: TypeAlias = Driver | AsyncDriver | VersionedDriver | AsyncVersionedDriver
#: A driver the ASGI shell can await.
AnyAsyncDriver: TypeAlias = AsyncDriver | AsyncVersionedDriver


# ---- optional capabilities ------------------------------------------------------------------


@runtime_checkable
class SweepableDriver(Protocol):
    """A driver whose store has no native expiry offers a sweep (``hostsessions gc``)."""

    def sweep(self, *, now: float | None = None) -> int:
        """Delete records whose ``expires_at`` is at or before ``now`` (default: the current
        time); return how many were removed."""
        ...


@runtime_checkable
class HasAsyncTwin(Protocol):
    """A sync driver with an async flavour: the ASGI shell uses ``to_async()`` instead."""

    def to_async(self) -> AnyDriver:
        """The driver the ASGI shell uses on the same store: one whose methods are
        coroutines, or a sync one placed differently (it may be ``self``)."""
        ...


@runtime_checkable
class BlockingHints(Protocol):
    """Whether a sync driver's calls may wait on I/O (the ASGI shell's thread hop).

    ``blocking = False``: every call is quick and may run on the event loop (the memory
    driver). ``blocking_reads = False``: reads alone are (the filesystem driver). A
    driver that says nothing is taken to block on every call.
    """

    blocking: bool
    blocking_reads: bool


@runtime_checkable
class KeepsObjects(Protocol):
    """A driver that holds its records as objects in this process (the memory driver) and
    keeps one more object of the core's next to each payload.

    ``keeps_objects = True`` and a ``write(..., kept=None)`` parameter: the driver stores
    ``kept`` with the record it writes, as it is (never copied, never looked into), and
    hands it back as :attr:`Record.kept` on every read of that same record (and in a
    :class:`WriteConflict`'s ``current``); a write without it leaves the new record
    with none. The core keeps there the entries it encoded the payload from, so that
    reading the record back costs no decode. The core passes ``kept`` only to a driver
    that declares this and whose ``write`` takes it (:func:`keeps_objects`).
    """

    keeps_objects: bool


def keeps_objects(driver: object) -> bool:
    """Whether the core may hand ``driver.write`` a ``kept`` object (see :class:`KeepsObjects`)."""
    if getattr(driver, "keeps_objects", False) is not True:
        return False
    parameters = write_parameters(driver)
    return parameters is not None and "kept" in parameters


def write_parameters(driver: object) -> Mapping[str, inspect.Parameter] | None:
    """The parameters of ``driver.write`` (what the core may pass it); None when it has no
    ``write`` or its signature cannot be read."""
    try:
        return inspect.signature(driver.write).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return None


@runtime_checkable
class ExpiryHints(Protocol):
    """Whether ``read()`` reports a record's expiry in :attr:`Record.expires_at`.

    ``reports_expiry = False``: every record ``read()`` returns (and every record a
    :class:`WriteConflict` carries) has ``expires_at=None``, whatever was written, because
    learning it would cost more than the read itself (Redis: ``PTTL`` and the server's
    clock, a script instead of one ``GET``). The driver still honours every expiry it is
    given: an expired record reads as absent, and an update replaces the expiry (None
    clears it). The core never looks at a read's ``expires_at``; other code must ask
    :func:`reports_expiry` before trusting it. A driver that says nothing reports it, and
    so do :class:`DriverBase` and :class:`AsyncDriverBase`.
    """

    reports_expiry: bool


def reports_expiry(driver: object) -> bool:
    """Whether ``driver.read()`` fills in :attr:`Record.expires_at` (see :class:`ExpiryHints`)."""
    return getattr(driver, "reports_expiry", True) is not False


@runtime_checkable
class AsyncClosable(Protocol):
    """A driver holding connections that the middleware closes at ASGI shutdown."""

    async def aclose(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """A driver with resources to release, closed synchronously."""

    def close(self) -> None: ...


# ---- the rules, once ------------------------------------------------------------------------


def is_expired(expires_at: float | None, now: float) -> bool:
    """Whether a record expiring at ``expires_at`` (epoch seconds; None: never) is gone."""
    return expires_at is not None and expires_at <= now


def live(record: Record | None, now: float) -> Record | None:
    """``record``, or None when it has expired: an expired record reads as absent, even where
    the store has not deleted it yet."""
    if record is None or is_expired(record.expires_at, now):
        return None
    return record


def check_version(
    key: str,
    current_version: str | None,
    expected_version: str | None,
    *,
    current: Record | None = _UNKNOWN,
) -> None:
    """Raise :class:`WriteConflict` unless the live record's version is the one expected
    (``None`` on both sides: no live record, and a create was asked for). Pass the live
    record as ``current`` when it is at hand: the conflict carries it to the core."""
    if current_version != expected_version:
        raise WriteConflict(key, expected_version, current=current)


def utf8_length(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts as the three bytes it would take)."""
    return len(text.encode("utf-8", "surrogatepass"))


def check_size(store: str, size: int, limit: int | None) -> None:
    """Raise :class:`~hostsessions.SessionTooLargeError` when a payload of ``size`` UTF-8
    bytes passes ``limit`` (None: no limit). Call it before anything is written."""
    if limit is not None and size > limit:
        raise SessionTooLargeError(store, size, limit)


def whole_seconds(expires_at: float) -> int:
    """``expires_at`` as whole epoch seconds, rounded up, for a store whose expiry counts seconds.

    Rounding up means a record never disappears early; it may outlive ``expires_at`` by
    under a second, which the core does not notice because every key inside the payload
    carries its own exact expiry.
    """
    return math.ceil(expires_at)


KeyT = TypeVar("KeyT", bound=Hashable)
ClientT = TypeVar("ClientT")


class ClientCache(Generic[KeyT, ClientT]):
    """Clients shared by every driver of a process with the same settings, made on first use.

    SDK clients are thread-safe and costly to create (tens of milliseconds of a cold
    start), so one per settings is made, under a lock so that racing first requests do
    not make two. Put in the key whatever the client reads when it is made (environment
    variables included), so a process that changes them gets a client that follows.
    """

    def __init__(self) -> None:
        self._clients: dict[KeyT, ClientT] = {}
        self._lock = threading.Lock()

    def get(self, key: KeyT, make: Callable[[], ClientT]) -> ClientT:
        """The client for ``key``, made with ``make()`` if there is none yet."""
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = make()
            return client

    def clear(self) -> None:
        """Forget every client, so the next call makes fresh ones (for test fixtures)."""
        with self._lock:
            self._clients.clear()


# ---- the base classes -------------------------------------------------------------------------


class DriverBase(ABC):
    """A sync versioned driver: subclasses implement ``read``, ``write`` and ``delete``.

    Methods that subclasses must implement, each with the rule it must keep:

    - ``read(key)``: the record, or None when absent **or expired** (pass what the store
      returned through :func:`live`);
    - ``write(key, payload, *, expires_at, expected_version)``: check the size first
      (:func:`check_size`), then store conditionally: ``expected_version=None`` creates
      (an expired record counts as absent), any other version must match, else raise
      :class:`WriteConflict` (with ``current=`` the record met, when known); return a
      version never used before for this key. Optionally take ``token=None`` too and
      store it with the record (see :meth:`VersionedDriver.write`);
    - ``delete(key, *, expected_version=None)``: remove; a version that no longer matches
      raises :class:`WriteConflict`; an absent record is no error.

    The base derives the minimal protocol from them. Class attributes: ``store_name`` (how
    errors name the store), the :class:`BlockingHints` (both True by default) and
    :class:`ExpiryHints` (``reports_expiry``, True by default).
    """

    store_name: ClassVar[str] = "the session store"
    blocking: ClassVar[bool] = True
    blocking_reads: ClassVar[bool] = True
    reports_expiry: ClassVar[bool] = True

    @abstractmethod
    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(key)")

    @abstractmethod
    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one."""
        raise NotImplementedError(f"{type(self).__name__} must implement write(...)")

    @abstractmethod
    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version."""
        raise NotImplementedError(f"{type(self).__name__} must implement delete(key)")

    # The minimal protocol (last write wins), derived: for code that uses a driver directly.

    def get_item(self, key: str) -> str | None:
        """The payload, or None when absent or expired."""
        record = self.read(key)
        return None if record is None else record.payload

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry."""
        while True:  # a conflict means another write came between: try again over it
            with contextlib.suppress(WriteConflict):
                self.write(key, value, expires_at=None, expected_version=_version(self.read(key)))
                return

    def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        self.delete(key)


class AsyncDriverBase(ABC):
    """:class:`DriverBase` for a store whose client is asyncio-native: coroutine methods."""

    store_name: ClassVar[str] = "the session store"
    reports_expiry: ClassVar[bool] = True

    @abstractmethod
    async def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        raise NotImplementedError(f"{type(self).__name__} must implement async read(key)")

    @abstractmethod
    async def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one."""
        raise NotImplementedError(f"{type(self).__name__} must implement async write(...)")

    @abstractmethod
    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version."""
        raise NotImplementedError(f"{type(self).__name__} must implement async delete(key)")

    async def get_item(self, key: str) -> str | None:
        """The payload, or None when absent or expired."""
        record = await self.read(key)
        return None if record is None else record.payload

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry."""
        while True:
            with contextlib.suppress(WriteConflict):
                current = await self.read(key)
                await self.write(key, value, expires_at=None, expected_version=_version(current))
                return

    async def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        await self.delete(key)


def _version(record: Record | None) -> str | None:
    return None if record is None else record.version
