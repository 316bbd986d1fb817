"""A dict-style view of a request's session, for code and libraries written for Starlette's
``request.session`` dict (Authlib's Starlette OAuth client, for one).

The view is a thin layer over :class:`~hostsessions.state.SessionState`: the ASGI
middleware reads the stored session before the app runs (only when the request carries a
session cookie), so every dict operation is synchronous, and each one becomes the core's
own operation (``state.get``, ``state.set``, ``state.delete``). Saving, merging with
concurrent requests, conditional writes and per-key expiry stay the core's.

Starlette's dict is saved whole, so code written for it changes values in place
(``session.setdefault("cart", []).append(item)``). The view remembers the encoded form
of every mutable value it handed out or was given, and records a ``set`` for each one
that changed when the response starts: the save still carries only the keys this
request changed.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, NoReturn

from . import codec
from .state import _IMMUTABLE, Program, SessionState, Step, run_sync

_MISSING: Any = object()


def _no_storage(step: Step) -> NoReturn:
    raise RuntimeError(
        f"the dict-style session needed storage ({type(step).__name__}) after it was "
        "loaded; this is a bug in hostsessions"
    )


class DictSession(MutableMapping[str, Any]):
    """``request.session`` as a dict: ``[]``, ``get``, ``pop``, ``setdefault``, ``update``,
    ``clear``, ``in``, ``len`` and iteration, over live (unexpired) keys.

    Beyond the dict: :attr:`id`, :meth:`set` with a per-key ``ttl``, :meth:`regenerate`
    and :meth:`destroy`. ``update(fn)``-style atomic read-modify-writes need storage in
    the middle of a request: use the :class:`~hostsessions.AsyncSession` from
    ``hostsessions.asgi.get_session(request)`` for those.
    """

    __slots__ = ("_given", "_state")

    def __init__(self, state: SessionState) -> None:
        self._state = state
        self._given: dict[str, tuple[Any, str]] = {}

    def _run(self, program: Program[Any]) -> Any:
        return run_sync(program, _no_storage)

    def _remember(self, key: str, value: Any) -> Any:
        if type(value) not in _IMMUTABLE:
            self._given[key] = (value, codec.stringify(value))
        return value

    # ---- the mapping ----------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        value = self._run(self._state.get(key, _MISSING))
        if value is _MISSING:
            raise KeyError(key)
        return self._remember(key, value)

    def get(self, key: str, default: Any = None) -> Any:
        value = self._run(self._state.get(key, _MISSING))
        return default if value is _MISSING else self._remember(key, value)

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._given.pop(key, None)
        self._state.delete(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._run(self._state.has(key)))

    def _keys(self) -> list[str]:
        return [key for key, _ in self._run(self._state.live_items())]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        value = self._run(self._state.get(key, _MISSING))
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        self._given.pop(key, None)
        self._state.delete(key)
        return value

    def clear(self) -> None:
        """Delete every key (keys another request adds meanwhile are kept; use
        :meth:`destroy` to end the session itself)."""
        for key in self._keys():
            self._given.pop(key, None)
            self._state.delete(key)

    def __repr__(self) -> str:
        shown = self._state.id[:8] + "..." if self._state.id else None
        return f"<DictSession id={shown!r} keys={self._keys()!r}>"

    # ---- beyond the dict ----------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The session ID, or None until the session is known to exist."""
        return self._state.id

    def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """``session[key] = value`` with this key's own lifetime in seconds."""
        self._state.set(key, value, ttl)
        self._given.pop(key, None)
        self._remember(key, value)

    def regenerate(self) -> None:
        """Give the session a new ID (after a login), keeping its data."""
        self._run(self._state.regenerate())

    def destroy(self) -> None:
        """Delete the session from storage and expire its cookie."""
        self._given.clear()
        self._state.destroy()

    def record_in_place_changes(self) -> None:
        """Record a ``set`` for each handed-out value the app changed in place.

        Called by the middleware before each save.
        """
        for key, (value, encoded) in list(self._given.items()):
            current = codec.stringify(value)
            if current != encoded:
                self._state.set(key, value, None)
                self._given[key] = (value, current)
