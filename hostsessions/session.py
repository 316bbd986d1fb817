"""``Session`` (sync, for WSGI) and ``AsyncSession`` (async, for ASGI): thin shells that run
the programs of :mod:`hostsessions.state` against a store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar, overload

from .keys import KeyedValue, SessionKey, key_name
from .pending import NO_ARGUMENT, PendingCall, PendingChange
from .plans import LATER, Running, drive_async, run_sync
from .state import UNKNOWN, Program, Read, Retire, SessionState, Sleep, Step, Write
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
    def state(self) -> SessionState:
        """The request's :class:`~hostsessions.state.SessionState`, for integrations (the
        middlewares, the framework layers) that read what the response must carry or run
        a program of their own with :meth:`run_program`. Apps use the methods instead."""
        return self._state

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
        self._state.set(key if type(key) is str else key_name(key), value, ttl)

    def delete(self, key: str | SessionKey[Any]) -> None:
        """Remove ``key`` from the session (no error if it is absent)."""
        self._state.delete(key if type(key) is str else key_name(key))

    def destroy(self) -> None:
        """Delete the session from storage and expire its cookie."""
        self._state.destroy()

    def __repr__(self) -> str:
        shown = self._state.id[:8] + "..." if self._state.id else None
        return f"<{type(self).__name__} id={shown!r}>"


class Session(_SessionBase[SyncStore]):
    """A request's session under WSGI: every method is synchronous.

    A sync store's call has answered when it returns, whatever the store (memory, files,
    Redis, an async driver run on the loop thread): so the first read (of ``get``,
    ``update``, ``keys``, ``values``, ``items``) and a plain save make their one store call
    directly (:meth:`SessionState.load_at_once`, :meth:`SessionState.save_at_once`), as the
    async shell does for a store that never waits. The call is the very one the program's
    step would make; everything else (a conflict's retries and their pauses, ``update``'s
    own save, ``regenerate``, ``destroy``, ``load``) runs as a program.
    """

    __slots__ = ()

    def _execute(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        return _execute_on(self._get_store(), step)

    def _run(self, program: Program[T]) -> T:
        return run_sync(program, self._execute)

    def run_program(self, program: Program[T]) -> T:
        """Run a program of this session's :attr:`state` against its store (for
        integrations: a framework layer runs its own)."""
        return self._run(program)

    def run_load(self) -> None:
        """Read the stored session now, once: ``run_program(state.load_current())`` made
        directly (``items``, ``update`` and integrations that need it loaded, such as
        Django's ``load()``); nothing when it is loaded already."""
        if not self._state.loaded:
            self._state.load_at_once(self._get_store().read)

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
        name = key if type(key) is str else key_name(key)
        state = self._state
        value = state.known_value(name, default)
        if value is UNKNOWN:  # the first read of the request: read, then answer
            state.load_at_once(self._get_store().read)
            value = state.known_value(name, default)
        return value

    def has(self, key: str | SessionKey[Any]) -> bool:
        """Whether ``key`` holds a live value."""
        return self.get(key, _ABSENT) is not _ABSENT

    def keys(self) -> list[str]:
        """The live keys."""
        return [key for key, _ in self.items()]

    def values(self) -> list[Any]:
        """The live values."""
        return [value for _, value in self.items()]

    def items(self) -> list[tuple[str, Any]]:
        """The live (key, value) pairs."""
        self.run_load()  # its one read made directly: the program then needs no step
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
        self.run_load()  # its one read made directly: the program starts loaded
        return self._run(self._state.update(key_name(key), fn, default, ttl))

    def regenerate(self) -> None:
        """Give the session a new ID (after a login), keeping its data."""
        self._run(self._state.regenerate())

    def load(self, session_id: str) -> bool:
        """Switch to the stored session ``session_id``; False if there is no such session."""
        return self._run(self._state.load(session_id))

    def save(self) -> None:
        """Write pending changes now (the middleware does this when the response starts)."""
        state = self._state
        if not state.dirty:  # (no store built for a save with nothing to write)
            return
        try:
            store = self._get_store()
        except Exception as error:
            # No store to write to (its driver failed to build): the save fails as the
            # program's first storage step would fail it, its changes dropped.
            run_sync(state.save(), _raise(error))
            return  # (a save that ended up needing no write does not fail)
        # A plain save's one conditional write is made directly; a conflict hands the rest
        # of the save (re-read, replay, retry) to the program, as does any other save.
        program = state.save_at_once(store.write, keep=store.keeps_objects)
        if program is not None:
            self._run(program)


_ABSENT: Any = object()  # has(): what get() returns for a key that holds nothing


def _raise(error: Exception) -> Callable[[Step], Any]:
    """A step performer whose every step fails with ``error``."""

    def fail(step: Step) -> Any:
        raise error

    return fail


def _execute_on(store: SyncStore, step: Step) -> Any:
    """One storage step on a sync store (steps are only made by the state machine, so
    their exact types are known: no isinstance chain)."""
    kind = type(step)
    if kind is Read:
        return store.read(step.key)  # type: ignore[union-attr]
    if kind is Write or (kind is Retire and store.versioned):
        return store.write(
            step.key,  # type: ignore[union-attr]
            step.payload,  # type: ignore[union-attr]
            expires_at=step.expires_at,  # type: ignore[union-attr]
            expected_version=step.expected_version,  # type: ignore[union-attr]
            token=step.token,  # type: ignore[union-attr]
        )
    if kind is Retire:
        return store.delete(step.key)  # type: ignore[union-attr]  # no versions: just remove
    return store.delete(step.key, expected_version=step.expected_version)  # type: ignore[union-attr]


class AsyncSession(_SessionBase[AsyncStore]):
    """A request's session under ASGI: methods that may touch storage return awaitables
    (:class:`~hostsessions.pending.PendingCall`); using one without ``await`` raises
    ``TypeError`` at that line."""

    __slots__ = ()

    def _perform_now(self, step: Step) -> Any:
        """A storage step done at once when the store never waits on I/O (the memory
        driver): no coroutine, no await. ``LATER`` for every other step. The store is
        looked up at the first storage step, so a program that needs none never builds
        the driver."""
        if type(step) is Sleep:
            return LATER
        immediate = self._get_store().immediate
        if immediate is None:
            return LATER
        return _execute_on(immediate, step)

    async def _execute(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            import asyncio  # loaded already under ASGI; kept off `import hostsessions`

            await asyncio.sleep(step.seconds)
            return None
        store = self._get_store()
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

    def run_program(self, program: Program[T]) -> Awaitable[T]:
        """Run a program of this session's :attr:`state` against its store (await it; for
        integrations: the middleware saves with it, a framework layer runs its own)."""
        return Running(drive_async(program, self._execute, self._perform_now))

    def run_load(self) -> Awaitable[None]:
        """Read the stored session now, once (await it): ``run_program(state.load_current())``
        for integrations that need the session loaded before the app runs (the dict-style
        session), with a store that answers at once read directly (no program)."""
        return Running(self._await_load())

    def _await_load(self) -> Generator[Any, None, None]:
        state = self._state
        if state.loaded:  # (no store built for a session known without a read)
            return
        store = self._get_store().immediate
        if store is None:
            yield from self._await_program(state.load_current())
        else:
            state.load_at_once(store.read)

    def run_save(self) -> Awaitable[None]:
        """Write the session's changes (await it): :meth:`save` for integrations (the
        middleware saves with it when the response starts), with nothing to warn about
        when it is dropped unawaited."""
        return Running(self._await_save())

    def start_save(self) -> Awaitable[None] | None:
        """:meth:`run_save`, done at once where it can be: None when the save is over (a
        session with nothing to write, or a plain save to a store that answers at once,
        made with its one write here), otherwise the awaitable that finishes it (await
        it). What the middleware calls when the response starts: no awaitable, no
        generator for the usual save of the memory driver."""
        state = self._state
        if not state.dirty:  # (no store built for a save with nothing to write)
            return None
        try:
            store = self._get_store()
        except Exception:
            # A store that cannot be had fails the save as its first write would: the
            # program meets the same error there and drops the changes (and a save that
            # ends up writing nothing needs no store at all).
            return Running(self._await_program(state.save()))
        immediate = store.immediate
        # A store that answers at once takes a plain save's one write directly (no program).
        program: Program[None] | None
        if immediate is None:
            program = state.save()
        else:
            program = state.save_at_once(immediate.write, keep=store.keeps_objects)
        return None if program is None else Running(self._await_program(program))

    def _await_save(self) -> Generator[Any, None, None]:
        pending = self.start_save()
        if pending is not None:
            yield from pending.__await__()

    def _await_program(self, program: Program[T]) -> Generator[Any, None, T]:
        # No coroutine: the runner is the awaitable's iterator, and a store that never waits
        # (the memory driver) has every step done inside the await that started it.
        return drive_async(program, self._execute, self._perform_now)

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
        name = key if type(key) is str else key_name(key)
        return _PendingGet(self, self._state, self._get_store, name, default)

    def has(self, key: str | SessionKey[Any]) -> PendingCall[bool]:
        """Whether ``key`` holds a live value (await it)."""
        name = key_name(key)
        return PendingCall(self._await_program, (self._state.has(name),), "has", name)

    def keys(self) -> PendingCall[list[str]]:
        """The live keys (await it)."""
        program = _keys(self._state.live_items())
        return PendingCall(self._await_program, (program,), "keys", NO_ARGUMENT)

    def values(self) -> PendingCall[list[Any]]:
        """The live values (await it)."""
        program = _values(self._state.live_items())
        return PendingCall(self._await_program, (program,), "values", NO_ARGUMENT)

    def items(self) -> PendingCall[list[tuple[str, Any]]]:
        """The live (key, value) pairs (await it)."""
        program = self._state.live_items()
        return PendingCall(self._await_program, (program,), "items", NO_ARGUMENT)

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
        program = self._state.update(name, fn, default, ttl)
        return PendingChange(self._await_program, (program,), "update", name)

    def regenerate(self) -> PendingChange[None]:
        """Give the session a new ID (after a login), keeping its data (await it)."""
        program = self._state.regenerate()
        return PendingChange(self._await_program, (program,), "regenerate", NO_ARGUMENT)

    def load(self, session_id: str) -> PendingChange[bool]:
        """Switch to the stored session ``session_id``; False if there is no such session
        (await it)."""
        program = self._state.load(session_id)
        return PendingChange(self._await_program, (program,), "load", NO_ARGUMENT)

    def save(self) -> PendingChange[None]:
        """Write pending changes now (the middleware does this when the response starts)."""
        return PendingChange(self._await_save, (), "save", NO_ARGUMENT)


class _PendingGet(PendingCall[Any]):
    """What :meth:`AsyncSession.get` returns: a :class:`PendingCall` whose ``await`` runs
    the read itself (no bound method and argument tuple per call, one generator in all).
    """

    __slots__ = ("_default", "_get_store", "_session", "_state")

    def __init__(
        self,
        session: AsyncSession,
        state: SessionState,
        get_store: Callable[[], AsyncStore],
        name: str,
        default: Any,
    ) -> None:
        self._session = session
        self._state = state
        self._get_store = get_store
        self._argument = name
        self._default = default
        self._method = "get"
        self._started = False

    def __await__(self) -> Generator[Any, None, Any]:
        # A generator function: ``await`` calls it and runs it at once, so the check below
        # still fails at the second ``await`` itself.
        if self._started:
            raise RuntimeError(f"{self._call()} was already awaited; call it again")
        self._started = True
        name, default = self._argument, self._default
        state = self._state
        value = state.known_value(name, default)
        if value is UNKNOWN:  # the first read of the request: read, then answer
            store = self._get_store().immediate
            if store is None:
                program = state.value_after_read(name, default)
                return (yield from self._session.run_program(program).__await__())
            # A store that answers at once (memory): the program's one Read, made here.
            state.load_at_once(store.read)
            value = state.known_value(name, default)
        return value


def _keys(items: Program[list[tuple[str, Any]]]) -> Program[list[str]]:
    return [key for key, _ in (yield from items)]


def _values(items: Program[list[tuple[str, Any]]]) -> Program[list[Any]]:
    return [value for _, value in (yield from items)]
