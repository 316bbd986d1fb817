"""ASGI 3 middleware: an :class:`~hostsessions.AsyncSession` at ``scope["session"]``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .config import SessionConfig
from .cookies import session_id_from_cookie_header
from .manager import SessionManager, warn_if_cookie_lost
from .session import AsyncSession

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_START_MESSAGES = frozenset({"http.response.start", "websocket.accept"})


def get_session(request_or_scope: Any) -> AsyncSession:
    """The session of a request, typed: ``get_session(request)`` for a Starlette/FastAPI
    request (whose ``request.session`` is typed as a dict), or ``get_session(scope)``."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    try:
        session = scope["session"]
    except (KeyError, TypeError):
        session = None
    if not isinstance(session, AsyncSession):
        raise LookupError(
            "no hostsessions session on this request: wrap the app in "
            "hostsessions.asgi.SessionMiddleware"
        )
    return session


class SessionMiddleware:
    """Wraps an ASGI app; Starlette and FastAPI code reads the session as ``request.session``.

    The session is saved when the response starts (before the client sees it), and again
    at the end if the app changed it while streaming. Lifespan scopes pass straight through.
    """

    def __init__(self, app: ASGIApp, config: SessionConfig | None = None) -> None:
        self.app = app
        self.manager = SessionManager(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        manager = self.manager
        cookie_header, host = _cookie_and_host(scope)
        state = manager.new_state(
            session_id_from_cookie_header(cookie_header, manager.config.cookie.name)
        )
        session = AsyncSession(state, manager.async_store)
        scope["session"] = session
        started = False

        async def send_with_session(message: Message) -> None:
            nonlocal started
            kind = message["type"]
            if kind in _START_MESSAGES:
                started = True
                if state.dirty:
                    await session.save()
                set_cookie = manager.response_cookie(state, scope.get("scheme", "http"), host)
                if set_cookie is not None or state.touched:
                    headers = list(message.get("headers") or ())
                    if set_cookie is not None:
                        headers.append((b"set-cookie", set_cookie.encode("latin-1")))
                    headers.append((b"vary", b"Cookie"))
                    message = {**message, "headers": headers}
            elif state.dirty and (
                kind == "websocket.close"
                or (kind == "http.response.body" and not message.get("more_body", False))
            ):
                await _late_save(session)
            await send(message)

        await self.app(scope, receive, send_with_session)
        if started and state.dirty:
            await _late_save(session)

    def _closing_on_shutdown(self, send: Send) -> Send:
        """Close the driver's connections when the server shuts down."""

        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.manager.aclose()
            await send(message)

        return send_closing


async def _late_save(session: AsyncSession) -> None:
    warn_if_cookie_lost(session._state)
    await session.save()


def _cookie_and_host(scope: Scope) -> tuple[str | None, str | None]:
    cookies: list[str] = []
    host: str | None = None
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            cookies.append(value.decode("latin-1"))
        elif name == b"host":
            host = value.decode("latin-1")
    if host is None and scope.get("server"):
        host = str(scope["server"][0])
    return ("; ".join(cookies) if cookies else None), host
