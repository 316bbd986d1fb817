"""The session's state machine: no I/O, no threads, no event loop.

Rules of this module: everything that decides what a session holds, which ID it has,
what is read and written and when, lives here, and nothing here does I/O. The shells
(:mod:`hostsessions.session`) and the middlewares only run what this module decides.

- An operation that never needs storage (``set``, ``delete``, ``destroy``, ``touch``) is a
  plain method: it changes the state and returns.
- An operation that may need storage is a *program*, a :class:`~hostsessions.plans.Plan`
  that yields steps (:data:`Step`) and is sent each step's result:

  ========================  =============================================================
  step it yields            what it is sent back
  ========================  =============================================================
  :class:`Read`             the :class:`~hostsessions.drivers.Record`, or None
  :class:`Write`            the new version (``str``); a conflict is *thrown in* as
                            :class:`~hostsessions.drivers.WriteConflict`
  :class:`Retire`           as :class:`Write` (a tombstone replaces the record)
  :class:`Delete`           None; a conflict is thrown in as ``WriteConflict``
  :class:`Sleep`            None, once ``seconds`` have passed
  ========================  =============================================================

  Any other exception a store raises is thrown in too, and the programs let it
  propagate. The shells run programs with :func:`hostsessions.plans.run_sync` and
  :func:`~hostsessions.plans.run_async`; ``tests/test_state_programs.py`` runs them by hand.
- A request remembers the operations it made (the op log), never just the resulting map,
  so a save that meets a conflict re-reads and replays them on the fresh record.
- Each program's docstring says what it yields, what it returns and what it raises.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from ._payload import (
    IMMUTABLE,
    MISSING,
    PRIMITIVES,
    Slot,
    decode_entries,
    encode_entries,
    encode_value,
    entries_from_kept,
    fresh_copy,
    kept_form,
    latest_expiry,
    single_entry_payload,
)
from .checks import is_positive_number
from .config import DEFAULT_RETRY_BUDGET
from .cookies import EXPIRE_COOKIE, CookieDecision
from .drivers.base import Record, WriteConflict
from .errors import (
    SessionGoneError,
    SessionStorageError,
)
from .ids import is_valid_session_id, new_session_id
from .plans import Plan

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "GONE_KEY",
    "GONE_SECONDS",
    "TOKEN_HISTORY",
    "UNKNOWN",
    "Delete",
    "Program",
    "Read",
    "Retire",
    "SessionState",
    "Sleep",
    "Step",
    "Write",
    "backoff_delay",
    "decode_entries",
    "encode_entries",
    "latest_expiry",
    "new_write_token",
]

logger = logging.getLogger("hostsessions")

T = TypeVar("T")


@dataclass(slots=True)
class Read:
    key: str


@dataclass(slots=True)
class Write:
    key: str
    payload: str
    expires_at: float | None
    expected_version: str | None
    token: str | None = None  # stored with the record by drivers that keep write tokens


@dataclass(slots=True)
class Retire(Write):
    """Replace a record by a tombstone (see :data:`GONE_KEY`). A store without versions,
    which cannot detect races anyway, deletes the record instead."""


@dataclass(slots=True)
class Delete:
    key: str
    expected_version: str | None


@dataclass(slots=True)
class Sleep:
    seconds: float


# Steps are plain slotted dataclasses, not frozen ones: a frozen dataclass costs several
# times as much to make, and a request makes one per storage call. Nothing changes a step
# once it is made.

#: What :meth:`SessionState.known_value` returns when only a read can tell.
UNKNOWN: Any = object()

#: What a program yields: a storage call to make, or a pause before the next try.
Step = Read | Write | Retire | Delete | Sleep
#: A program: the :class:`~hostsessions.plans.Plan` of one session operation. The shells
#: run it with :func:`hostsessions.plans.run_sync` or :func:`~hostsessions.plans.run_async`.
Program: TypeAlias = Plan[Step, T]

# Retry pacing after a write conflict: full jitter over an exponential cap.
BACKOFF_FIRST = 0.005
BACKOFF_CAP = 1.0


def backoff_delay(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt))  # noqa: S311 - jitter, not security


# Write tokens: each write stores a fresh token with the record, after the tokens of the
# few writes before it. A write whose reply was lost, and whose retry then failed its
# condition, finds its own token in the record (or in the history of a record another
# request wrote on top of it) and counts as done, so an update is applied exactly once.
TOKEN_HISTORY = 8


def new_write_token() -> str:
    """A token no other write of any process makes: this process's random prefix and a
    count (in hex). Tokens only tell writes apart (only the core writes them, next to a
    record), so they need to be unique, not unguessable; a count costs a tenth of fresh
    random bytes."""
    return _token_prefix + hex(next(_token_count))


def _new_token_prefix() -> None:
    global _token_prefix, _token_count
    _token_prefix = secrets.token_urlsafe(12)  # 96 random bits per process
    _token_count = itertools.count()


_token_prefix = ""
_token_count = itertools.count()
_new_token_prefix()
if hasattr(os, "register_at_fork"):  # a forked worker must not repeat its parent's tokens
    os.register_at_fork(after_in_child=_new_token_prefix)


def _new_token_chain(previous: str, token: str) -> str:
    """``token``, then the newest tokens of ``previous``: TOKEN_HISTORY in all, whatever
    ``previous`` holds (SessionState._next_write takes the usual cases itself)."""
    return " ".join([token, *previous.split()[: TOKEN_HISTORY - 1]])


#: What SessionState._next_write plans: a Write's fields (key, payload, expires_at,
#: expected_version, token chain), then the entries the write stores.
_PlannedWrite: TypeAlias = "tuple[str, str, float | None, str | None, str, dict[str, Slot]]"


# A destroyed or regenerated session's record is replaced, for GONE_SECONDS, by a
# tombstone: a session holding only this key. Requests still in flight with the old ID
# then know the session was ended or moved (they report it rather than start a new session
# and overwrite the cookie the newer response set), and after GONE_SECONDS the ID reads as
# unknown. A plain Map entry whose own expiry has already passed, so any other reader of
# the store (Astro) sees an empty session; its data is when the tombstone ends (epoch ms),
# which is also the record's expiry.
GONE_KEY = "hostsessions:gone"
GONE_SECONDS = 60.0

# What a state holds before it has read anything: shared, so never changed in place (the
# state replaces its stored entries, it never edits them; tests/test_state_programs.py
# checks these stay empty).
_NO_ENTRIES: dict[str, Slot] = {}
_NO_KEYS: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Op:
    """A change this request made, kept so it can be replayed on fresher data."""

    key: str
    slot: Slot | None  # None: a delete
    update: Callable[[Any], Any] | None = None
    default: Any = None
    ttl: float | None = None
    result: Any = None  # what the update function returned on its latest run
    touch: bool = False  # re-stamp the keys (see SessionState.touch); ``result``: the expiry


class SessionState:
    """Everything one request knows about its session."""

    __slots__ = (
        "_base_entries",
        "_base_token",
        "_base_version",
        "_claimed_id",
        "_destroying",
        "_force_write",
        "_forget_cookie",
        "_gone",
        "_id",
        "_loaded",
        "_moved_from",
        "_ops",
        "_own_lifetime",
        "_pending_deletes",
        "_restamp_due",
        "_touches_held",
        "_view",
        "browser_id",
        "clock",
        "default_ttl",
        "retry_budget",
        "saved_since_cookie",
        "touched",
    )

    def __init__(
        self,
        cookie_id: str | None,
        *,
        default_ttl: float | None = None,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        clock: Callable[[], float] = time.time,
        id_checked: bool = False,
    ) -> None:
        """``cookie_id`` is the ID the request's cookie names; a malformed one is treated
        as absent. ``id_checked=True`` says the caller already made that check (the cookie
        reader, :func:`hostsessions.cookies.session_id_from_cookie_header`, does), so it is
        not made twice."""
        self.default_ttl = default_ttl
        self.retry_budget = retry_budget
        self.clock = clock
        self.browser_id = cookie_id  # what the browser holds now
        if cookie_id is not None and not id_checked and not is_valid_session_id(cookie_id):
            self._claimed_id: str | None = None
        else:
            self._claimed_id = cookie_id
        self._id: str | None = None
        self._loaded = self._claimed_id is None  # no cookie: known to be empty, no read needed
        self._base_version: str | None = None  # None: the record does not exist yet
        self._base_token: str | None = None  # the write tokens stored with the record
        self._base_entries: dict[str, Slot] = _NO_ENTRIES  # the stored record, decoded once
        self._view: dict[str, Slot] = {}
        # touch() restamps the view lazily: the expiry (epoch ms, None: never) the view's
        # keys take before anything next reads or changes it; MISSING: none due.
        self._restamp_due: Any = MISSING
        self._ops: list[_Op] = []
        # (the rare containers start as shared empty immutables and are replaced, never
        # changed in place: a request makes none of them)
        self._pending_deletes: tuple[tuple[str, str | None], ...] = ()
        # regenerate(): the record the session moves away from, and the version read
        self._moved_from: tuple[str, str] | None = None
        # destroy(): records to replace by tombstones, with the version read (MISSING: none)
        self._destroying: tuple[tuple[str, Any], ...] = ()
        self._force_write = False
        self._forget_cookie = False
        # Another request destroyed or regenerated the session after this one's cookie
        # named it: changes cannot be saved and the cookie is not this response's to touch.
        self._gone = False
        self._own_lifetime: frozenset[str] = _NO_KEYS  # keys set with their own ttl (see touch)
        # touch() operations not recorded because they changed nothing: the op list they
        # belong to, their place in it, their expiry (see touch and _take_held_touches)
        self._touches_held: list[tuple[list[_Op], int, int]] | None = None  # made when needed
        self.touched = False
        self.saved_since_cookie = False

    # ---- what the shells and the middleware read -------------------------------------

    @property
    def id(self) -> str | None:
        return self._id

    @property
    def dirty(self) -> bool:
        return bool(
            self._ops
            or self._pending_deletes
            or self._force_write
            or self._destroying
            or self._moved_from
        )

    @property
    def loaded(self) -> bool:
        """Whether this request knows what the store holds (a request without a cookie
        knows without reading: its session is new)."""
        return self._loaded

    @property
    def gone(self) -> bool:
        """Whether another request destroyed or regenerated this request's session."""
        return self._gone

    def cookie_action(self, *, refresh: bool = False) -> CookieDecision | None:
        """What the response must tell the browser (None: nothing).

        ``refresh`` re-sends an unchanged cookie after a save (a rolling ``Max-Age``).
        """
        if self._id is not None and (
            self._id != self.browser_id or (refresh and self.saved_since_cookie)
        ):
            return CookieDecision("set", self._id)
        if (
            self._id is None
            and self._forget_cookie
            and not self._gone
            and self.browser_id is not None
        ):
            return EXPIRE_COOKIE
        return None

    # ---- plain operations: never any I/O -------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _expiry_ms(self, ttl: float | None) -> int | None:
        ttl = self.default_ttl if ttl is None else ttl
        if ttl is None:
            return None
        if (type(ttl) is int or type(ttl) is float) and 0 < ttl < 1e10:
            pass  # the usual case, checked without a call (NaN and infinities fail it)
        elif not is_positive_number(ttl) or ttl >= 1e10:
            raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")
        return int(self.clock() * 1000) + int(ttl * 1000)  # _now_ms(), written out

    def _ensure_id(self) -> None:
        if self._id is None and self._loaded and not self._gone:
            self._id = new_session_id()

    def set(self, key: str, value: Any, ttl: float | None) -> None:
        self.touched = True
        if self._restamp_due is not MISSING:
            self._restamp_view()
        expires_ms = None if ttl is None and self.default_ttl is None else self._expiry_ms(ttl)
        if type(value) in PRIMITIVES:
            # always storable and immutable: the value is its own snapshot
            slot = Slot(value, None, expires_ms)
        else:
            encoded = encode_value(key, value)
            # an immutable value is its own snapshot: no need to decode it again later
            snapshot = value if type(value) in IMMUTABLE else MISSING
            slot = Slot(snapshot, encoded, expires_ms)
        self._ops.append(_Op(key, slot))
        if ttl is not None or self._own_lifetime:
            self._note_lifetime(key, ttl)
        if self._loaded:
            self._view[key] = slot
            if self._id is None:
                self._ensure_id()

    def touch(self, ttl: float | None) -> None:
        """Give every key the lifetime ``ttl`` seconds from now (None: the configured
        default), except keys this request set with a lifetime of their own (``set(...,
        ttl=)``, ``update(..., ttl=)``), which keep it. For frameworks whose sessions
        expire as a whole and are renewed at each save (Django).

        Recorded as an operation like ``set``: on fresher data it re-stamps the keys that
        data holds, so it never overwrites another request's value nor brings back a key
        another request deleted.

        The view this request reads is restamped when it is next read or changed, not at
        once: a touch at the end of a request (Django's save) costs no restamp of it.

        Whole seconds: when every key it would restamp already expires within the second
        before the new expiry (the session was renewed less than a second ago, or its keys
        were all set in this request), nothing is recorded, so a save for the touch alone
        writes nothing, and the keys keep an expiry at most one second short of ``ttl``
        from now. Should a conflict bring fresher data, the touch is replayed on it in its
        place among this request's operations, as any other.
        """
        self.touched = True
        expires_ms = self._expiry_ms(ttl)
        if (
            expires_ms is not None
            and self._loaded
            and self._restamp_due is MISSING
            and self._renewed(expires_ms)
        ):
            if self._touches_held is None:
                self._touches_held = []
            self._touches_held.append((self._ops, len(self._ops), expires_ms))
            return
        self._ops.append(_Op("", None, result=expires_ms, touch=True))
        if self._loaded:
            # A restamp still due is superseded: both stamp the same keys (the keys with a
            # lifetime of their own change only after _restamp_view()).
            self._restamp_due = expires_ms

    def _renewed(self, expires_ms: int) -> bool:
        """Whether every key of the view that a touch to ``expires_ms`` would restamp
        already expires within the second before it."""
        since = expires_ms - 1000
        own_lifetime = self._own_lifetime
        for key, slot in self._view.items():
            expires = slot.expires_ms
            if (expires is None or not since <= expires <= expires_ms) and key not in own_lifetime:
                return False
        return True

    def _take_held_touches(self) -> None:
        """Record, in their places, the touches :meth:`touch` held back (before a replay on
        fresher data, where they may change something); held touches of an op list since
        written or dropped are done with."""
        touches, self._touches_held = self._touches_held or [], None
        held = [(place, expires) for ops, place, expires in touches if ops is self._ops]
        for place, expires_ms in reversed(held):
            self._ops.insert(place, _Op("", None, result=expires_ms, touch=True))

    def _restamp_view(self) -> None:
        """Apply the restamp :meth:`touch` left due to the view."""
        self._view = _restamped(self._view, self._restamp_due, self._own_lifetime)
        self._restamp_due = MISSING

    def _note_lifetime(self, key: str, ttl: float | None) -> None:
        if ttl is None:
            if key in self._own_lifetime:
                self._own_lifetime = self._own_lifetime - {key}
        else:
            self._own_lifetime = self._own_lifetime | {key}

    def delete(self, key: str) -> None:
        self.touched = True
        if self._restamp_due is not MISSING:
            self._restamp_view()
        self._ops.append(_Op(key, None))
        if key in self._own_lifetime:
            self._own_lifetime = self._own_lifetime - {key}
        if self._loaded:
            self._view.pop(key, None)

    def destroy(self) -> None:
        self.touched = True
        if self._moved_from is not None:
            # regenerated in this request, then destroyed: the old record goes too
            self._destroying = (*self._destroying, self._moved_from)
            self._moved_from = None
        target = self._id or self._claimed_id
        if target is not None:
            version = self._base_version if target == self._id and self._loaded else None
            self._destroying = (
                *self._destroying,
                (target, MISSING if version is None else version),
            )
        self._id = self._claimed_id = None
        self._reset(loaded=True)
        self._forget_cookie = True

    def _reset(self, *, loaded: bool) -> None:
        self._loaded = loaded
        self._base_version = self._base_token = None
        self._base_entries = _NO_ENTRIES
        self._view = {}
        self._restamp_due = MISSING
        self._ops = []
        self._force_write = False
        self._gone = False
        self._own_lifetime = _NO_KEYS

    # ---- programs: operations that may need storage ----------------------------------------

    def _local_slot(self, key: str) -> Slot | Any | None:
        """The value this request last set or deleted for ``key``; MISSING if it did neither."""
        for op in reversed(self._ops):
            if op.key == key and not op.touch:
                return op.slot
        return MISSING

    def known_value(self, key: str, default: Any) -> Any:
        """What :meth:`get` returns, when it can be known without storage: the record is
        loaded, or this request set or deleted ``key`` itself. :data:`UNKNOWN` otherwise
        (then run :meth:`get`). Lets the shells answer most reads without a program."""
        self.touched = True
        if self._loaded:
            if self._restamp_due is not MISSING:
                self._restamp_view()
            slot = self._view.get(key)
        else:
            slot = self._local_slot(key) if self._ops else MISSING
            if slot is MISSING:
                return UNKNOWN
        if slot is None or (
            slot.expires_ms is not None and slot.expires_ms <= int(self.clock() * 1000)
        ):
            return default
        value = slot.held  # (decoded already, the usual case: no property call)
        return slot.value if value is MISSING else value

    def get(self, key: str, default: Any) -> Program[Any]:
        """The live value of ``key``, or ``default``.

        Yields at most one :class:`Read` (of the cookie's record, the first time anything
        is read); none when this request set or deleted ``key`` itself, or has no cookie.
        Returns the value. Raises nothing of its own.
        """
        value = self.known_value(key, default)
        if value is UNKNOWN:  # not loaded yet, and not set or deleted here
            value = yield from self.value_after_read(key, default)
        return value

    def value_after_read(self, key: str, default: Any) -> Program[Any]:
        """:meth:`get` once :meth:`known_value` said :data:`UNKNOWN`: yields the one
        :class:`Read` of :meth:`load_current`, returns the value."""
        if not self._loaded:
            key_read = self._claimed_id
            assert key_read is not None
            self.take_record(key_read, (yield Read(key_read)))  # load_current, inlined
        return self.known_value(key, default)

    def live_items(self) -> Program[list[tuple[str, Any]]]:
        """Every live ``(key, value)`` pair: yields the one :class:`Read` of
        :meth:`load_current` if the record is not loaded yet; returns the list."""
        self.touched = True
        if not self._loaded:
            yield from self.load_current()
        if self._restamp_due is not MISSING:
            self._restamp_view()
        now_ms = self._now_ms()
        return [(key, slot.value) for key, slot in self._view.items() if not slot.expired(now_ms)]

    def has(self, key: str) -> Program[bool]:
        """Whether ``key`` holds a live value: :meth:`get`'s steps; returns a bool."""
        marker = object()
        value = yield from self.get(key, marker)
        return value is not marker

    def update(
        self, key: str, function: Callable[[Any], Any], default: Any, ttl: float | None
    ) -> Program[Any]:
        """Replace ``key``'s value with ``function(current)`` and save at once.

        Yields :meth:`load_current`'s :class:`Read`, then :meth:`save`'s steps (on a
        conflict ``function`` runs again on the fresh value). Returns the value stored.
        Raises what :meth:`save` raises, and whatever ``function`` raises.
        """
        self.touched = True
        if not self._loaded:
            yield from self.load_current()
        if self._restamp_due is not MISSING:
            self._restamp_view()
        op = _Op(key, None, function, default, ttl)
        self._note_lifetime(key, ttl)
        self._apply_update(op)
        self._ops.append(op)
        self._ensure_id()
        # Saved at once, so the value returned is the one stored, even when a concurrent
        # request made the function run again on fresher data.
        yield from self.save()
        return op.result

    def _apply_update(self, op: _Op) -> None:
        assert op.update is not None
        current = self._view.get(op.key)
        now_ms = self._now_ms()
        if current is None or current.expired(now_ms):
            # a fresh copy each run: a function that changes its argument in place must not
            # change the default the next replay starts from
            value = fresh_copy(op.key, op.default)
        else:
            value = current.value
        op.result = op.update(value)
        op.slot = Slot(MISSING, encode_value(op.key, op.result), self._expiry_ms(op.ttl))
        self._view[op.key] = op.slot

    def regenerate(self) -> Program[None]:
        """Give the session a new ID, keeping its data (the old record is retired at the
        next save). Yields :meth:`load_current`'s :class:`Read` only; returns None."""
        self.touched = True
        if not self._loaded:
            yield from self.load_current()
        if self._id is None and not self._ops:
            return  # no session yet: the first write will get a fresh ID anyway
        if self._id is not None and self._base_version is not None:
            self._moved_from = (self._id, self._base_version)
        self._id = new_session_id()
        self._base_version = self._base_token = None
        self._force_write = True

    def create(self) -> Program[None]:
        """Make sure the session exists in storage, even with no data, and has an ID.

        For frameworks whose API promises a session key before anything is stored
        (Django's ``SessionBase.create()``); the core itself never stores empty sessions.
        """
        self.touched = True
        if not self._loaded:
            yield from self.load_current()
        if self._id is None:
            self._id = new_session_id()
            self._force_write = True
        yield from self.save()

    def load(self, session_id: str) -> Program[bool]:
        """Point this request at the stored session ``session_id``.

        Yields one :class:`Read` of that record (none for a malformed ID). Returns True
        when it exists and decodes, else False and the state is unchanged.
        """
        self.touched = True
        if not is_valid_session_id(session_id):
            return False
        record = yield Read(session_id)
        entries = _decoded_entries(record)
        if record is None or entries is None or _is_tombstone(entries):
            return False
        self._id = self._claimed_id = session_id
        self._reset(loaded=True)
        self._adopt(record, entries)
        return True

    def load_current(self) -> Program[None]:
        """Read the stored session this request points at, once."""
        if self._loaded:
            return
        key = self._claimed_id
        assert key is not None
        record = yield Read(key)
        self.take_record(key, record)

    def load_at_once(self, read_now: Callable[[str], Record | None]) -> None:
        """:meth:`load_current`, for a shell whose store answers at once (every sync store;
        under ASGI the memory driver): its one read is ``read_now(key)`` (a store's
        ``read``), called here with no program or step; nothing when the session is loaded
        already. Afterwards it is loaded. Raises what ``read_now`` raises, the state then
        still not loaded, as :meth:`load_current` would leave it."""
        if not self._loaded:
            key = self._claimed_id
            assert key is not None  # a state that is not loaded has a cookie's ID to read
            self.take_record(key, read_now(key))

    def take_record(self, key: str, record: Record | None) -> None:
        """Take in the record read for the cookie's key ``key`` (None: there is none), as
        :meth:`load_current` does with its :class:`Read`'s result (and
        :meth:`load_at_once` with its store's answer): the rules are all here and in
        :meth:`known_value`."""
        entries = _decoded_entries(record)
        self._loaded = True
        # the usual case: a live session (_is_tombstone written out)
        if entries is not None and (GONE_KEY not in entries or len(entries) != 1):
            assert record is not None
            self._id = key
            self._adopt(record, entries)
            if self._ops:
                self._replay()
            return
        if record is not None and entries is None:
            logger.error(
                "session record %s... could not be decoded; it was removed and the session "
                "starts empty",
                key[:8],
            )
            self._pending_deletes = (*self._pending_deletes, (key, record.version))
        # No record, an undecodable one, or a tombstone: never adopt an ID the store does
        # not know.
        tombstone = entries is not None
        self._claimed_id = None
        self._id = None
        if tombstone and _tombstone_lasts(entries, self._now_ms()):  # type: ignore[arg-type]
            self._gone = True  # ended or moved by another request moments ago
        else:
            self._forget_cookie = record is None or tombstone
        self._base_version = self._base_token = None
        self._base_entries = _NO_ENTRIES
        self._view = {}
        self._restamp_due = MISSING  # the replay restamps
        self._replay()

    def _adopt(self, record: Record, entries: dict[str, Slot]) -> None:
        self._base_version = record.version
        self._base_token = record.token
        self._base_entries = entries
        self._view = _unexpired(entries, int(self.clock() * 1000))
        self._restamp_due = MISSING  # a replay restamps

    def _replay(self) -> None:
        """Apply this request's own changes over what the store holds: local changes win."""
        if self._touches_held:
            self._take_held_touches()  # fresher data: they may change something now
        for op in self._ops:
            if op.update is not None:
                self._apply_update(op)
            elif op.touch:
                self._view = _restamped(self._view, op.result, self._own_lifetime)
            elif op.slot is None:
                self._view.pop(op.key, None)
            else:
                self._view[op.key] = op.slot
        if self._ops:
            self._ensure_id()

    # ---- saving ----------------------------------------------------------------------------

    def _is_own_write(self, current: Record | None, token: str, payload: str) -> bool:
        """Whether ``current``, met by a conflict, is this request's own write (landed, its
        reply lost) or a write made on top of it."""
        if current is None:
            return False
        if current.token is not None:
            return token in current.token.split()
        # A driver that keeps no tokens: the same bytes are the same outcome, unless the
        # request ran an update(), which must not count a twin write by another request.
        return current.payload == payload and not any(op.update for op in self._ops)

    def save(self) -> Program[None]:
        """Write this request's changes with a conditional write, replaying them on conflict.

        Raises :class:`SessionGoneError` when another request destroyed or regenerated the
        session meanwhile, :class:`SessionStorageError` when the store fails or the retry
        budget runs out. Whatever it raises, the changes it could not write are dropped:
        the error is the caller's to handle, and the middleware does not write them again.
        """
        if not self.dirty:
            return
        yield from self._finish_save(None)

    def save_at_once(
        self, write_now: Callable[..., str], *, keep: bool = False
    ) -> Program[None] | None:
        """:meth:`save`, for a shell whose store answers at once (the memory driver).

        A plain save (changes made to a loaded session with ``set``/``delete``/``update``;
        nothing to regenerate, retire or remove) makes its one conditional write by calling
        ``write_now(key, payload, expires_at=, expected_version=, token=)`` (a versioned
        store's ``write``: it returns the new version or raises), with no program or step.
        Returns None when the save is done; otherwise the program that finishes it (after
        a write conflict, or for any other save), to run as :meth:`save` is run. Raises
        what :meth:`save` raises, with the same rules: it is the same save.

        ``keep=True``, for a store that keeps objects
        (:class:`~hostsessions.drivers.base.KeepsObjects`): ``write_now`` is also given
        ``kept=``, the written entries in the form :meth:`take_record` reads back without
        decoding the payload.
        """
        if not self._ops and not self.dirty:  # (the usual save has ops: one test)
            return None
        if (
            not self._loaded
            or self._force_write
            or self._moved_from is not None
            or self._destroying
            or self._pending_deletes
        ):
            return self._finish_save(None)
        try:
            planned = self._next_write()
            if planned is None:
                return None
            key, payload, expires_at, expected, chain, entries = planned
            try:
                if keep:
                    version = write_now(
                        key,
                        payload,
                        expires_at=expires_at,
                        expected_version=expected,
                        token=chain,
                        kept=kept_form(entries),
                    )
                else:
                    version = write_now(
                        key, payload, expires_at=expires_at, expected_version=expected, token=chain
                    )
            except WriteConflict as conflict:
                write = Write(key, payload, expires_at, expected, chain)
                return self._finish_save((write, entries, conflict))
            self._saved(chain, entries, version)
        except Exception:
            self._abandon_changes()
            raise
        return None

    def _finish_save(
        self, first: tuple[Write, dict[str, Slot], WriteConflict] | None
    ) -> Program[None]:
        """The save's writes (``first``: a write already made, and the conflict it met),
        then the removals it owes."""
        try:
            yield from self._write_changes(self.clock() + self.retry_budget, first)
        except Exception:
            self._abandon_changes()
            raise
        if self._pending_deletes:
            for key, version in self._pending_deletes:
                if key == self._id:
                    continue
                # A conflict means the old record changed since; it will expire on its own.
                with contextlib.suppress(WriteConflict):
                    yield Delete(key, version)
            self._pending_deletes = ()

    def _next_write(self) -> _PlannedWrite | None:
        """The conditional write a save of the loaded session makes next (a :class:`Write`'s
        fields: a plain tuple, no step object for a write made at once) and the entries it
        stores. None when there is nothing to store (no ID is left, or a new session ended
        up empty), the changes then dropped. Raises SessionGoneError."""
        if self._gone:
            raise SessionGoneError(
                "the session was destroyed or given a new ID by another request while "
                "this one was using it; this request's changes were not saved"
            )
        if self._id is None:  # nothing left to create
            self._ops = []
            return None
        # The entries to store: the stored data, with this request's changes on top
        now_ms = int(self.clock() * 1000)
        base = self._base_entries
        entries = base.copy()  # _unexpired(base, now_ms), written out: one call fewer
        for key, held in base.items():
            if held.expires_ms is not None and held.expires_ms <= now_ms:
                del entries[key]
        for op in self._ops:
            if op.touch:
                entries = _restamped(entries, op.result, self._own_lifetime)
                continue
            slot = op.slot
            if slot is None or (slot.expires_ms is not None and slot.expires_ms <= now_ms):
                entries.pop(op.key, None)
            else:
                entries[op.key] = slot
        # The record's expiry: the latest of its keys' (None when a key never expires)
        expires_at: float | None = None
        if not entries:
            if self._base_version is None and not self._force_write:
                self._ops = []  # a new session that ended up empty is not worth a record
                self._id = None
                return None
            ttl_ms = self._expiry_ms(None)
            expires_at = None if ttl_ms is None else ttl_ms / 1000
        else:
            latest = 0
            for slot in entries.values():
                if slot.expires_ms is None:
                    break  # a key that never expires: nor does the record
                if slot.expires_ms > latest:
                    latest = slot.expires_ms
            else:
                expires_at = latest / 1000
        # A new write token, then the newest tokens of the stored record's chain:
        # TOKEN_HISTORY in all, the new one first (_new_token_chain, written out)
        chain = _token_prefix + hex(next(_token_count))
        previous = self._base_token
        if previous:
            spaces = previous.count(" ")
            if spaces < TOKEN_HISTORY - 1:  # room for one more: no split, no join
                chain = f"{chain} {previous}"
            elif spaces == TOKEN_HISTORY - 1:  # full, as the core writes it: the oldest goes
                chain = f"{chain} {previous[: previous.rindex(' ')]}"
            else:
                chain = _new_token_chain(previous, chain)
        return self._id, encode_entries(entries), expires_at, self._base_version, chain, entries

    def _saved(self, chain: str, entries: dict[str, Slot], version: str) -> None:
        """The write of ``entries`` with the tokens ``chain`` landed as ``version``: it is
        what the store holds now."""
        self._base_version = version
        self._base_token = chain
        self._base_entries = entries
        self._ops = []
        self._force_write = False
        self.saved_since_cookie = True

    def _write_changes(
        self, deadline: float, first: tuple[Write, dict[str, Slot], WriteConflict] | None
    ) -> Program[None]:
        attempt = 0
        while self._ops or self._force_write:
            conflict: WriteConflict | None = None
            version: str | None = None
            if first is None:
                if not self._loaded:
                    yield from self.load_current()
                planned = self._next_write()
                if planned is None:
                    break
                entries = planned[5]
                write = Write(planned[0], planned[1], planned[2], planned[3], planned[4])
                try:
                    version = yield write
                except WriteConflict as met:
                    conflict = met
            else:
                (write, entries, conflict), first = first, None
            if conflict is not None:
                token = (write.token or "").partition(" ")[0]  # the chain's first: this write's
                current, attempt = yield from self._current_after(
                    conflict, token, write.payload, deadline, attempt
                )
                if not self._is_own_write(current, token, write.payload):
                    self._on_conflict(write.key, current)
                    continue
                assert current is not None
                version = current.version  # it landed; only the reply was lost
            assert version is not None
            if self._moved_from is not None:
                self._base_version = version
                self._base_token = write.token
                self._base_entries = entries
                if not (yield from self._retire_moved(deadline, attempt)):
                    attempt += 1
                    continue  # the old record had changes: written again with them
            self._saved(write.token or "", entries, version)
        if self._destroying:
            for key, version in self._destroying:
                yield from self._retire_destroyed(key, version, deadline)
            self._destroying = ()

    def _current_after(
        self, conflict: WriteConflict, token: str, payload: str, deadline: float, attempt: int
    ) -> Program[tuple[Record | None, int]]:
        """The record a conflict met, and the attempt count, after any backoff.

        When the driver returned the current record with the conflict, the first retry uses
        it at once: one write instead of a read and a write. Otherwise (and on later
        conflicts, when contenders must spread out) it backs off, then reads afresh; a write
        of its own that landed meanwhile is still recognised by the token history.
        """
        if conflict.current_known and (
            attempt == 0 or self._is_own_write(conflict.current, token, payload)
        ):
            if self.clock() >= deadline:
                yield from self._pause(deadline, attempt, conflict.key)
            return conflict.current, attempt + 1
        attempt = yield from self._pause(deadline, attempt, conflict.key)
        current = yield Read(conflict.key)
        return current, attempt

    def _pause(self, deadline: float, attempt: int, key: str) -> Program[int]:
        if self.clock() >= deadline:
            raise SessionStorageError(
                f"could not save session {key[:8]}... within "
                f"{self.retry_budget:g}s: {attempt + 1} write conflicts in a row"
            )
        yield Sleep(backoff_delay(attempt))
        return attempt + 1

    def _on_conflict(self, key: str, current: Record | None) -> None:
        """Take in the record another request wrote since this one read."""
        entries = _decoded_entries(current)
        if current is None and self._base_version is None:
            return  # a record this request is creating came and went: create it again
        if current is None or entries is None or _is_tombstone(entries):
            # Destroyed or regenerated elsewhere (or expired): a late save must not bring it
            # back, nor start a session that would replace the newer response's cookie.
            self._gone = True
            self._id = None
            return
        self._id = key
        self._adopt(current, entries)
        self._replay()

    def _tombstone(self, reason: str) -> tuple[str, float]:
        """The tombstone's payload and expiry (``reason`` is for the reader of this code:
        both kinds are the same record)."""
        now_ms = self._now_ms()
        until_ms = now_ms + int(GONE_SECONDS * 1000)
        return single_entry_payload(GONE_KEY, until_ms, now_ms), until_ms / 1000

    def _retire_moved(self, deadline: float, attempt: int) -> Program[bool]:
        """After regenerate() wrote the new record: tombstone the old one, if it is still as
        read. True when done; False when another request saved to the old ID meanwhile, whose
        changes have now been taken in, so that the new record must be written again."""
        assert self._moved_from is not None
        old_key, old_version = self._moved_from
        payload, expires_at = self._tombstone("regenerated")
        token = new_write_token()
        try:
            yield Retire(old_key, payload, expires_at, old_version, token)
        except WriteConflict as conflict:
            current, _ = yield from self._current_after(conflict, token, payload, deadline, attempt)
            entries = _decoded_entries(current)
            if (
                current is not None
                and entries is not None
                and not _is_tombstone(entries)
                and not self._is_own_write(current, token, payload)
            ):
                # Keep what that request saved: its data, with this request's changes on top.
                new_version, new_token = self._base_version, self._base_token
                self._adopt(current, entries)
                self._base_version, self._base_token = new_version, new_token
                self._replay()
                self._moved_from = (old_key, current.version)
                return False
        self._moved_from = None
        return True

    def _retire_destroyed(self, key: str, version: Any, deadline: float) -> Program[None]:
        """Replace a destroyed session's record by a tombstone, whatever it holds now."""
        payload, expires_at = self._tombstone("destroyed")
        expected: str | None = None
        if version is MISSING:
            current = yield Read(key)
            if not _is_live_session(current, self._now_ms()):
                return
            assert current is not None
            expected = current.version
        else:
            expected = version
        attempt = 0
        while True:
            token = new_write_token()
            try:
                yield Retire(key, payload, expires_at, expected, token)
                return
            except WriteConflict as conflict:
                current, attempt = yield from self._current_after(
                    conflict, token, payload, deadline, attempt
                )
            if not _is_live_session(current, self._now_ms()) or self._is_own_write(
                current, token, payload
            ):
                return
            assert current is not None
            expected = current.version

    def _abandon_changes(self) -> None:
        """A save failed and its error went to the caller: forget the changes it could not
        write, so that nothing writes them again (the caller may answer the error itself)."""
        self._ops = []
        self._force_write = False
        self._destroying = ()
        if self._moved_from is not None:
            if self._base_version is None:
                # The new record was never written: the session stays where it was.
                self._id, self._base_version = self._moved_from
            self._moved_from = None
        elif self._base_version is None:
            self._id = None  # nothing stored under it: no cookie for it
        self._view = _unexpired(self._base_entries, self._now_ms())
        self._restamp_due = MISSING


def _decoded_entries(record: Record | None) -> dict[str, Slot] | None:
    """The decoded entries of ``record``; None when there is no record or it is undecodable.
    A record this process wrote to a store that keeps objects is not decoded: its entries
    are rebuilt from what the core kept with it (fresh slots, as decoding gives them)."""
    if record is None:
        return None
    kept = record.kept
    return decode_entries(record.payload) if kept is None else entries_from_kept(kept)


def _is_tombstone(entries: dict[str, Slot]) -> bool:
    return GONE_KEY in entries and len(entries) == 1


def _tombstone_lasts(entries: dict[str, Slot], now_ms: int) -> bool:
    """Whether a tombstone still stands (a store that does not expire records, such as
    fs-lite, may keep one past its end)."""
    until = entries[GONE_KEY].value
    return type(until) is int and until > now_ms


def _is_live_session(record: Record | None, now_ms: int) -> bool:
    """A record that holds a session: neither absent, undecodable nor a tombstone."""
    entries = _decoded_entries(record)
    return entries is not None and not _is_tombstone(entries)


def _unexpired(entries: dict[str, Slot], now_ms: int) -> dict[str, Slot]:
    """A copy of ``entries`` without the keys expired at ``now_ms`` (a copy and a loop: no
    comprehension call, for the one or two entries of a usual session)."""
    live = entries.copy()
    for key, slot in entries.items():
        if slot.expires_ms is not None and slot.expires_ms <= now_ms:
            del live[key]
    return live


def _restamped(
    entries: dict[str, Slot], expires_ms: int | None, keep: frozenset[str]
) -> dict[str, Slot]:
    """``entries`` expiring at ``expires_ms``, except the keys in ``keep``."""
    return {
        key: slot if key in keep else slot.with_expiry(expires_ms) for key, slot in entries.items()
    }
