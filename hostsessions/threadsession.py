"""A synchronous session for code that runs in a worker thread while its request is served
on an event loop: ``def`` endpoints and dependencies of FastAPI, Starlette and Litestar.

Its methods return values, like WSGI's :class:`~hostsessions.Session` (it is one). It
shares the request's state with the :class:`~hostsessions.AsyncSession`, so the ASGI
middleware saves what it changed; each storage call runs on the request's own event loop,
where the driver's connections live, and the worker thread waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .drivers.base import Record
from .session import AsyncSession, Session
from .state import Program
from .storage import AsyncStore, SyncStore

__all__ = ["OnLoop", "ThreadSession", "thread_session", "worker_thread_session"]

T = TypeVar("T")

#: Runs ``function()`` (a coroutine function) on the request's event loop and waits for it.
OnLoop = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]


class _OnLoopStore:
    """A :class:`~hostsessions.storage.SyncStore` whose calls run an async store's on the
    event loop, waited for in the calling thread."""

    keeps_objects = False  # (what the core keeps goes to an in-process store only directly)

    def __init__(self, store: AsyncStore, on_loop: OnLoop) -> None:
        self._store = store
        self._on_loop = on_loop
        self.versioned = store.versioned
        self.driver = store.driver

    def read(self, key: str) -> Record | None:
        async def read() -> Record | None:
            return await self._store.read(key)

        record: Record | None = self._on_loop(read)
        return record

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        async def write() -> str:
            return await self._store.write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )

        version: str = self._on_loop(write)
        return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        async def delete() -> None:
            await self._store.delete(key, expected_version=expected_version)

        self._on_loop(delete)


class ThreadSession(Session):
    """The request's session for a worker thread: every method returns its value.

    Calling a method that may touch storage on an event loop's own thread (from an
    ``async def`` endpoint) would wait for the loop forever; it raises ``RuntimeError``
    instead, pointing at the awaitable session.
    """

    __slots__ = ()

    def __init__(self, session: AsyncSession, on_loop: OnLoop) -> None:
        get_async_store = session._get_store

        def get_store() -> SyncStore:
            # Every storage call waits for the event loop: on the loop's own thread it would
            # wait forever. (A first read or a plain save calls the store directly.)
            if _on_an_event_loop():
                raise _on_loop_error()
            return _OnLoopStore(get_async_store(), on_loop)

        super().__init__(session.state, get_store)

    def _run(self, program: Program[T]) -> T:
        if _on_an_event_loop():
            program.close()
            raise _on_loop_error()
        return super()._run(program)

    def save(self) -> None:
        # Refused before the save starts, so that its changes stay for the middleware's save.
        if _on_an_event_loop():
            raise _on_loop_error()
        super().save()


def _on_loop_error() -> RuntimeError:
    return RuntimeError(
        "the synchronous session is for code in a worker thread ('def' endpoints); "
        "in an 'async def' endpoint use the AsyncSession (get_session(request), "
        "hostsessions.fastapi.SessionDep) and await its methods"
    )


def _on_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def thread_session(session: AsyncSession) -> ThreadSession:
    """A :class:`ThreadSession` over ``session``, bound to the running event loop: call it
    on the loop (an ``async def`` dependency), use the result in a worker thread."""
    loop = asyncio.get_running_loop()

    def on_loop(function: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(function(), loop).result()

    return ThreadSession(session, on_loop)


def worker_thread_session(session: AsyncSession, loop: asyncio.AbstractEventLoop) -> ThreadSession:
    """A :class:`ThreadSession` over ``session`` for the worker thread it is called in;
    ``loop`` is the event loop serving the request (the ASGI middleware records it)."""
    if _on_an_event_loop():
        raise RuntimeError(
            "get_sync_session() is for 'def' endpoints, which run in a worker thread; in an "
            "'async def' endpoint use get_session(request) and await its methods"
        )

    def on_loop(function: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(function(), loop).result()

    return ThreadSession(session, on_loop)
