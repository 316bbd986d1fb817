"""A dict-style view of a session, for frameworks whose session is a mapping (Flask, Django)
and for code written for Starlette's ``request.session`` dict (Authlib's OAuth client).

Every dict operation is one of the core's operations: ``session[k] = v`` is
:meth:`Session.set`, ``del session[k]`` is :meth:`Session.delete`, reads are
:meth:`Session.get`. So a save is the core's save: only the keys this request changed are
written, with a conditional write, and replayed over a concurrent request's changes. There
is no copy of the data here and no second save, merge or expiry rule.

The one thing a mapping adds: code written for dict sessions changes values in place
(``session["cart"].append(item)``). A mutable value handed out is remembered with its
encoded form; :meth:`SessionMapping.record_in_place_changes` (run before each save) sets
again every such value whose encoding changed. Values of immutable types cost nothing here.

Under ASGI the middleware reads the stored session before the app runs and puts the
mapping on a :class:`Session` whose store refuses any I/O (:func:`loaded_session`): every
dict operation is then synchronous and never reaches storage.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, MutableMapping, ValuesView
from typing import Any

from . import codec
from ._payload import IMMUTABLE
from .errors import SessionSerializationError
from .session import Session
from .state import SessionState
from .storage import SyncStore

__all__ = ["SessionMapping", "TtlRule", "loaded_session"]

#: Chooses the lifetime of a key being set: ``ttl(key, value)`` in seconds, or None for
#: the configured default.
TtlRule = Callable[[str, Any], float | None]

_MISSING: Any = object()


class _Tracked:
    """A mutable value the app holds: the object, its encoding when the app got it, and the
    core's own copy it stands for (None until the core was read after a set)."""

    __slots__ = ("core_value", "encoded", "value")

    def __init__(self, value: Any, encoded: str, core_value: Any) -> None:
        self.value = value
        self.encoded = encoded
        self.core_value = core_value


class SessionMapping(MutableMapping[str, Any]):
    """``MutableMapping[str, Any]`` over a request's :class:`~hostsessions.Session`.

    Values go through the session's codec, so ``session["when"] = object()`` raises
    :class:`~hostsessions.SessionSerializationError` naming the key, at that line. As with
    a dict, a mutable value set or got is the same object on the next read in the request.
    """

    def __init__(self, session: Session, ttl: TtlRule | None = None) -> None:
        self.session = session
        self._ttl = ttl
        self._tracked: dict[str, _Tracked] = {}

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def hand_out(self, key: str, value: Any) -> Any:
        """The object the app gets for ``value``, the core's current value of ``key``
        (read from the session by the caller): a mutable value is watched from now on."""
        if type(value) in IMMUTABLE:
            self._tracked.pop(key, None)
            return value
        tracked = self._tracked.get(key)
        if tracked is not None:
            if tracked.core_value is value:
                return tracked.value
            if tracked.core_value is None and codec.stringify(value) == tracked.encoded:
                tracked.core_value = value  # the core's copy of what the app set
                return tracked.value
        self._tracked[key] = _Tracked(value, codec.stringify(value), value)
        return value

    def items(self) -> ItemsView[str, Any]:
        return _ItemsView(self)

    def values(self) -> ValuesView[Any]:
        return _ValuesView(self)

    def live_items(self) -> list[tuple[str, Any]]:
        """Every live (key, value) pair, the values as this mapping hands them out (one
        read of the session, so a key that expires meanwhile cannot be half-listed)."""
        return [(key, self.hand_out(key, value)) for key, value in self.session.items()]

    # get, __setitem__ and set run on most requests: an immutable value while nothing is
    # watched (the usual case) takes no more than the session's own call.
    def get(self, key: str, default: Any = None) -> Any:
        value = self.session.get(key, _MISSING)
        if value is _MISSING:
            if self._tracked:
                self._tracked.pop(key, None)
            return default
        if type(value) in IMMUTABLE and not self._tracked:
            return value
        return self.hand_out(key, value)

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value, ttl=self._ttl(key, value) if self._ttl is not None else None)

    def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """``session[key] = value`` with this key's own lifetime in seconds."""
        self.session.set(key, value, ttl=ttl)
        if type(value) not in IMMUTABLE:
            self._tracked[key] = _Tracked(value, codec.stringify(value), None)
        elif self._tracked:
            self._tracked.pop(key, None)

    def __delitem__(self, key: str) -> None:
        if not self.session.has(key):
            raise KeyError(key)
        self.session.delete(key)
        self._tracked.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.session.has(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.session.keys())

    def __len__(self) -> int:
        return len(self.session.keys())

    def clear(self) -> None:
        for key in self.session.keys():  # noqa: SIM118 - a Session is not iterable
            self.session.delete(key)
        self._tracked.clear()

    @property
    def id(self) -> str | None:
        """The session ID, or None until the session is known to exist."""
        return self.session.id

    def regenerate(self) -> None:
        """Give the session a new ID (after a login), keeping its data."""
        self.session.regenerate()

    def destroy(self) -> None:
        """Delete the session from storage and expire its cookie."""
        self._tracked.clear()
        self.session.destroy()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.session.id and self.session.id[:8] + '...'!r}>"

    @property
    def watching(self) -> bool:
        """Whether the app holds a mutable value of this mapping, which it may change in
        place: then :meth:`record_in_place_changes` has something to check. (Any other
        change, a set, delete, clear, regenerate or destroy, makes the state dirty.)"""
        return bool(self._tracked)

    def record_in_place_changes(self) -> None:
        """Set again each mutable value the app holds that it changed in place."""
        if not self._tracked:
            return
        for key, tracked in list(self._tracked.items()):
            try:
                changed = codec.stringify(tracked.value) != tracked.encoded
            except SessionSerializationError:
                changed = True  # set() raises it again, naming the key
            if changed:
                self[key] = tracked.value


def _refuse_storage() -> SyncStore:
    raise RuntimeError(
        "a dict-style session on an ASGI request needed storage after it was loaded; "
        "this is a bug in hostsessions"
    )


def loaded_session(state: SessionState) -> Session:
    """A sync :class:`Session` over a state whose stored record was already read (by the
    ASGI middleware): its operations never touch storage, and raise if they would."""
    return Session(state, _refuse_storage)


class _ItemsView(ItemsView[str, Any]):
    _mapping: SessionMapping

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._mapping.live_items())


class _ValuesView(ValuesView[Any]):
    _mapping: SessionMapping

    def __iter__(self) -> Iterator[Any]:
        return iter([value for _, value in self._mapping.live_items()])
