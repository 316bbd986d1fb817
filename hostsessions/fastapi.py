"""FastAPI dependencies: the request's session, typed, ready for ``Annotated``.

```python
from hostsessions.fastapi import SessionDep, SyncSessionDep

@app.get("/cart")
async def cart(session: SessionDep) -> list[str]:       # async def: an AsyncSession
    return await session.get("cart", [])

@app.post("/cart/{item}")
def add(item: str, session: SyncSessionDep) -> list[str]:   # def: a Session
    return session.update("cart", lambda cart: [*cart, item], default=[])
```

``app.add_middleware(hostsessions.asgi.SessionMiddleware, ...)`` must wrap the app.
Importing this module imports FastAPI; the rest of hostsessions never does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from . import asgi
from .mapping import SessionMapping
from .session import AsyncSession, Session
from .threadsession import thread_session

__all__ = [
    "DictSessionDep",
    "SessionDep",
    "SyncSessionDep",
    "get_dict_session",
    "get_session",
    "get_sync_session",
]

# The dependencies are ``async def`` although they never wait: FastAPI runs a plain
# ``def`` dependency in a worker thread, a hop that costs more than the whole session.


async def get_session(connection: HTTPConnection) -> AsyncSession:
    """The request's :class:`~hostsessions.AsyncSession` (for ``Depends``)."""
    return asgi.get_session(connection)


async def get_sync_session(connection: HTTPConnection) -> Session:
    """The request's session for a ``def`` endpoint (which FastAPI runs in a worker
    thread): a :class:`~hostsessions.Session` whose methods return values."""
    return thread_session(asgi.get_session(connection))


async def get_dict_session(connection: HTTPConnection) -> SessionMapping:
    """The dict-style session (``SessionMiddleware(..., dict_session=True)``)."""
    return asgi.get_dict_session(connection)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
"""``session: SessionDep`` in an ``async def`` endpoint: the AsyncSession (await its reads)."""

SyncSessionDep = Annotated[Session, Depends(get_sync_session)]
"""``session: SyncSessionDep`` in a ``def`` endpoint: a Session whose methods return values."""

DictSessionDep = Annotated[SessionMapping, Depends(get_dict_session)]
"""``session: DictSessionDep``: the dict-style session, in ``def`` and ``async def`` endpoints."""
