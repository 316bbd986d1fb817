"""A synchronous session for code that runs in a worker thread while its request is served
on an event loop: FastAPI's and Starlette's ``def`` endpoints and dependencies.

Its methods return values, like WSGI's :class:`~hostsessions.Session` (it is one). It
shares the request's state with the :class:`~hostsessions.AsyncSession`, so the ASGI
middleware saves what it changed; each storage call runs on the request's own event loop,
where the driver's connections live, and the worker thread waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from .drivers.base import Record
from .session import AsyncSession, Session
from .state import Program
from .storage import AsyncStore

T = TypeVar("T")


class _OnLoop:
    """A :class:`~hostsessions.storage.SyncStore` that runs an async store's calls on
    ``loop`` and waits for them in the calling thread."""

    def __init__(self, store: AsyncStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self.versioned = store.versioned
        self.driver = store.driver

    def _wait(self, awaitable: Awaitable[T]) -> T:
        async def call() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result()

    def read(self, key: str) -> Record | None:
        return self._wait(self._store.read(key))

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        return self._wait(
            self._store.write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )
        )

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self._wait(self._store.delete(key, expected_version=expected_version))


class ThreadSession(Session):
    """The request's session for a worker thread: every method returns its value.

    Calling a method that may touch storage on the event loop's own thread (from an
    ``async def`` endpoint) would wait for the loop forever; it raises ``RuntimeError``
    instead, pointing at the awaitable session.
    """

    __slots__ = ("_loop",)

    def __init__(self, session: AsyncSession, loop: asyncio.AbstractEventLoop) -> None:
        get_async_store = session._get_store
        super().__init__(session._state, lambda: _OnLoop(get_async_store(), loop))
        self._loop = loop

    def _run(self, program: Program[T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            program.close()
            raise RuntimeError(
                "the synchronous session is for code in a worker thread (FastAPI's 'def' "
                "endpoints); in an 'async def' endpoint use the AsyncSession "
                "(hostsessions.fastapi.SessionDep) and await its methods"
            )
        return super()._run(program)


def thread_session(session: AsyncSession) -> ThreadSession:
    """A :class:`ThreadSession` over ``session``; call it on the request's event loop."""
    return ThreadSession(session, asyncio.get_running_loop())
