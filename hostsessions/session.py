"""``Session`` (sync, for WSGI) and ``AsyncSession`` (async, for ASGI): thin shells that run
the programs of :mod:`hostsessions.state` against a store."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar, overload

from .keys import KeyedValue, SessionKey, key_name
from .pending import NO_ARGUMENT, PendingCall, PendingChange
from .plans import run_async, run_sync
from .state import Delete, Program, Read, Retire, SessionState, Sleep, Step, Write
from .storage import AsyncStore, SyncStore

__all__ = [
    "AsyncSession",
    "Session",
]

T = TypeVar("T")
D = TypeVar("D")
StoreT = TypeVar("StoreT", SyncStore, AsyncStore)


class _SessionBase(Generic[StoreT]):
    """What both shells share: the operations that never touch storage."""

    __slots__ = ("_get_store", "_state")

    _state: SessionState
    _get_store: Callable[[], StoreT]

    def __init__(self, state: SessionState, get_store: Callable[[], StoreT]) -> None:
        self._state = state
        self._get_store = get_store

    @property
    def id(self) -> str | None:
        """The session ID, or None until the session is known to exist."""
        return self._state.id

    @overload
    def set(
        self, key: SessionKey[T], value: KeyedValue[T], *, ttl: float | None = None
    ) -> None: ...

    @overload
    def set(self, key: str, value: Any, *, ttl: float | None = None) -> None: ...

    def set(self, key: str | SessionKey[Any], value: Any, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``; it is encoded now, and saved when the response starts.

        ``ttl`` (seconds) overrides the configured default lifetime for this key.
        Raises :class:`~hostsessions.SessionSerializationError` for a type the codec cannot store.
        """
        self._state.set(key_name(key), value, ttl)

    def delete(self, key: str | SessionKey[Any]) -> None:
        """Remove ``key`` from the session (no error if it is absent)."""
        self._state.delete(key_name(key))

    def destroy(self) -> None:
        """Delete the session from storage and expire its cookie."""
        self._state.destroy()

    def __repr__(self) -> str:
        shown = self._state.id[:8] + "..." if self._state.id else None
        return f"<{type(self).__name__} id={shown!r}>"


class Session(_SessionBase[SyncStore]):
    """A request's session under WSGI: every method is synchronous."""

    __slots__ = ()

    def _execute(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        return _execute_on(self._get_store(), step)

    def _run(self, program: Program[T]) -> T:
        return run_sync(program, self._execute)

    @overload
    def get(self, key: SessionKey[T]) -> T | None: ...

    @overload
    def get(self, key: SessionKey[T], default: KeyedValue[T]) -> T: ...

    @overload
    def get(self, key: SessionKey[T], default: D) -> T | D: ...

    @overload
    def get(self, key: str, default: Any = None) -> Any: ...

    def get(self, key: str | SessionKey[Any], default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is absent or expired."""
        return self._run(self._state.get(key_name(key), default))

    def has(self, key: str | SessionKey[Any]) -> bool:
        """Whether ``key`` holds a live value."""
        return self._run(self._state.has(key_name(key)))

    def keys(self) -> list[str]:
        """The live keys."""
        return [key for key, _ in self._run(self._state.live_items())]

    def values(self) -> list[Any]:
        """The live values."""
        return [value for _, value in self._run(self._state.live_items())]

    def items(self) -> list[tuple[str, Any]]:
        """The live (key, value) pairs."""
        return self._run(self._state.live_items())

    @overload
    def update(
        self,
        key: SessionKey[T],
        fn: Callable[[T | None], T],
        *,
        default: None = None,
        ttl: float | None = None,
    ) -> T: ...

    @overload
    def update(
        self,
        key: SessionKey[T],
        fn: Callable[[T], T],
        *,
        default: KeyedValue[T],
        ttl: float | None = None,
    ) -> T: ...

    @overload
    def update(
        self, key: str, fn: Callable[[Any], Any], *, default: Any = None, ttl: float | None = None
    ) -> Any: ...

    def update(
        self,
        key: str | SessionKey[Any],
        fn: Callable[[Any], Any],
        *,
        default: Any = None,
        ttl: float | None = None,
    ) -> Any:
        """Atomically replace the value of ``key`` with ``fn(current)`` and return it.

        The change is written at once with a conditional write. If another request changed
        the session since it was read, ``fn`` runs again on the fresh value, so concurrent
        updates (counters, carts) never lose a change, and the value returned is the one
        stored. ``fn`` may therefore run more than once: keep it free of side effects.
        """
        return self._run(self._state.update(key_name(key), fn, default, ttl))

    def regenerate(self) -> None:
        """Give the session a new ID (after a login), keeping its data."""
        self._run(self._state.regenerate())

    def load(self, session_id: str) -> bool:
        """Switch to the stored session ``session_id``; False if there is no such session."""
        return self._run(self._state.load(session_id))

    def save(self) -> None:
        """Write pending changes now (the middleware does this when the response starts)."""
        self._run(self._state.save())


def _execute_on(store: SyncStore, step: Read | Write | Delete) -> Any:
    """One storage step on a sync store."""
    if isinstance(step, Read):
        return store.read(step.key)
    if isinstance(step, Retire) and not store.versioned:
        return store.delete(step.key)  # no versions, no races to tell apart: just remove
    if isinstance(step, Write):
        return store.write(
            step.key,
            step.payload,
            expires_at=step.expires_at,
            expected_version=step.expected_version,
            token=step.token,
        )
    return store.delete(step.key, expected_version=step.expected_version)


class AsyncSession(_SessionBase[AsyncStore]):
    """A request's session under ASGI: methods that may touch storage return awaitables
    (:class:`~hostsessions.pending.PendingCall`); using one without ``await`` raises
    ``TypeError`` at that line."""

    __slots__ = ()

    async def _execute(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            import asyncio  # loaded already under ASGI; kept off `import hostsessions`

            await asyncio.sleep(step.seconds)
            return None
        store = self._get_store()
        if store.immediate is not None:
            # A store whose calls never wait on I/O (the memory driver): called directly,
            # so a step costs this one await, not three.
            return _execute_on(store.immediate, step)
        if isinstance(step, Read):
            return await store.read(step.key)
        if isinstance(step, Retire) and not store.versioned:
            return await store.delete(step.key)
        if isinstance(step, Write):
            return await store.write(
                step.key,
                step.payload,
                expires_at=step.expires_at,
                expected_version=step.expected_version,
                token=step.token,
            )
        return await store.delete(step.key, expected_version=step.expected_version)

    def _run(self, program: Program[T]) -> Coroutine[Any, Any, T]:
        return run_async(program, self._execute)

    @overload
    def get(self, key: SessionKey[T]) -> PendingCall[T | None]: ...

    @overload
    def get(self, key: SessionKey[T], default: KeyedValue[T]) -> PendingCall[T]: ...

    @overload
    def get(self, key: SessionKey[T], default: D) -> PendingCall[T | D]: ...

    @overload
    def get(self, key: str, default: Any = None) -> PendingCall[Any]: ...

    def get(self, key: str | SessionKey[Any], default: Any = None) -> PendingCall[Any]:
        """The value of ``key``, or ``default`` when it is absent or expired (await it)."""
        name = key_name(key)
        return PendingCall(self._run, self._state.get(name, default), "get", name)

    def has(self, key: str | SessionKey[Any]) -> PendingCall[bool]:
        """Whether ``key`` holds a live value (await it)."""
        name = key_name(key)
        return PendingCall(self._run, self._state.has(name), "has", name)

    def keys(self) -> PendingCall[list[str]]:
        """The live keys (await it)."""
        return PendingCall(self._run, _keys(self._state.live_items()), "keys", NO_ARGUMENT)

    def values(self) -> PendingCall[list[Any]]:
        """The live values (await it)."""
        return PendingCall(self._run, _values(self._state.live_items()), "values", NO_ARGUMENT)

    def items(self) -> PendingCall[list[tuple[str, Any]]]:
        """The live (key, value) pairs (await it)."""
        return PendingCall(self._run, self._state.live_items(), "items", NO_ARGUMENT)

    @overload
    def update(
        self,
        key: SessionKey[T],
        fn: Callable[[T | None], T],
        *,
        default: None = None,
        ttl: float | None = None,
    ) -> PendingChange[T]: ...

    @overload
    def update(
        self,
        key: SessionKey[T],
        fn: Callable[[T], T],
        *,
        default: KeyedValue[T],
        ttl: float | None = None,
    ) -> PendingChange[T]: ...

    @overload
    def update(
        self, key: str, fn: Callable[[Any], Any], *, default: Any = None, ttl: float | None = None
    ) -> PendingChange[Any]: ...

    def update(
        self,
        key: str | SessionKey[Any],
        fn: Callable[[Any], Any],
        *,
        default: Any = None,
        ttl: float | None = None,
    ) -> PendingChange[Any]:
        """Atomically replace the value of ``key`` with ``fn(current)`` and return it.

        The change is written at once with a conditional write. If another request changed
        the session since it was read, ``fn`` runs again on the fresh value, so concurrent
        updates (counters, carts) never lose a change, and the value returned is the one
        stored. ``fn`` may therefore run more than once: keep it free of side effects.
        """
        name = key_name(key)
        return PendingChange(self._run, self._state.update(name, fn, default, ttl), "update", name)

    def regenerate(self) -> PendingChange[None]:
        """Give the session a new ID (after a login), keeping its data (await it)."""
        return PendingChange(self._run, self._state.regenerate(), "regenerate", NO_ARGUMENT)

    def load(self, session_id: str) -> PendingChange[bool]:
        """Switch to the stored session ``session_id``; False if there is no such session
        (await it)."""
        return PendingChange(self._run, self._state.load(session_id), "load", NO_ARGUMENT)

    def save(self) -> PendingChange[None]:
        """Write pending changes now (the middleware does this when the response starts)."""
        return PendingChange(self._run, self._state.save(), "save", NO_ARGUMENT)


def _keys(items: Program[list[tuple[str, Any]]]) -> Program[list[str]]:
    return [key for key, _ in (yield from items)]


def _values(items: Program[list[tuple[str, Any]]]) -> Program[list[Any]]:
    return [value for _, value in (yield from items)]
