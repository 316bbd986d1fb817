"""ASGI 3 middleware: an :class:`~hostsessions.AsyncSession` at ``scope["session"]`` (or a
dict-style session there, opt-in), and always at ``scope["hostsessions.session"]``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

from .checks import is_mapping, is_nonempty_text
from .config import SessionConfig
from .cookies import CookieDecision
from .errors import SessionGoneError
from .manager import GONE_BODY, GONE_STATUS, SessionManager, warn_if_cookie_lost
from .mapping import SessionMapping, loaded_session
from .session import AsyncSession, Session
from .state import SessionState

__all__ = [
    "SCOPE_KEY",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "SessionMiddleware",
    "get_dict_session",
    "get_session",
    "get_sync_session",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_START_MESSAGES = frozenset({"http.response.start", "websocket.accept"})
_VARY_COOKIE = (b"vary", b"Cookie")  # on every response whose session was used
SCOPE_KEY = "hostsessions.session"  # where the AsyncSession always is, whatever scope_key says


# get_session is a function in all but one respect, its signature. FastAPI reads a
# dependency's signature to decide what to pass: a plain ``request: Any`` would be taken
# for a query parameter (and the endpoint would answer 422), so ``Depends(get_session)``
# is shown ``request: HTTPConnection`` instead. Starlette is imported only when something
# asks for the signature.
class _GetSession:
    """The session of a request, typed: ``get_session(request)`` for a Starlette, FastAPI
    or Litestar request (whose ``request.session`` is typed as a dict), or
    ``get_session(scope)``. Works whatever ``scope_key`` the middleware uses, beside other
    session middleware too. ``Depends(get_session)`` works in FastAPI (as a synchronous
    dependency; ``hostsessions.fastapi.SessionDep`` saves its thread hop).
    Raises ``LookupError`` when the middleware is missing."""

    def __call__(self, request: Any) -> AsyncSession:
        scope = getattr(request, "scope", request)
        try:
            session = scope[SCOPE_KEY]
        except (KeyError, TypeError):
            session = None
        if not isinstance(session, AsyncSession):
            raise LookupError(
                "no hostsessions session on this request: wrap the app in "
                "hostsessions.asgi.SessionMiddleware"
            )
        return session

    @property
    def __signature__(self) -> inspect.Signature:
        try:
            from starlette.requests import HTTPConnection
        except ImportError:  # no Starlette: the plain signature
            annotation: Any = Any
        else:
            annotation = HTTPConnection
        parameter = inspect.Parameter(
            "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation
        )
        return inspect.Signature([parameter], return_annotation=AsyncSession)

    def __repr__(self) -> str:
        return "<function hostsessions.asgi.get_session>"


get_session = _GetSession()


def get_sync_session(request_or_scope: Any) -> Session:
    """The request's session for a ``def`` endpoint, which Starlette, FastAPI, Litestar and
    Quart run in a worker thread: a :class:`~hostsessions.Session` whose methods return
    values (its storage calls run on the request's event loop). Raises ``RuntimeError``
    when called on the event loop itself."""
    from .threadsession import worker_thread_session

    session = get_session(request_or_scope)
    scope = getattr(request_or_scope, "scope", request_or_scope)
    return worker_thread_session(session, scope[_LOOP_KEY])


def get_dict_session(request_or_scope: Any) -> SessionMapping:
    """The dict-style session of a request, typed (see ``SessionMiddleware(dict_session=True)``)."""
    scope: object = getattr(request_or_scope, "scope", request_or_scope)
    view = scope.get(_DICT_KEY) if is_mapping(scope) else None
    if not isinstance(view, SessionMapping):
        raise LookupError(
            "no dict-style session on this request: add the middleware with "
            "hostsessions.asgi.SessionMiddleware(app, config, dict_session=True)"
        )
    return view


_DICT_KEY = "hostsessions.dict_session"
_LOOP_KEY = "hostsessions.loop"  # the loop serving the request, for get_sync_session


class SessionMiddleware:
    """Wraps an ASGI app; Starlette and FastAPI code reads the session as ``request.session``.

    ``scope_key`` is where the app finds the session (``"session"``: Starlette's, FastAPI's
    and Litestar's ``request.session``). If another middleware already put something
    there, it is left alone, so both can run side by side; ``get_session(request)`` finds
    hostsessions' session in any case. ``dict_session=True`` puts a dict-style
    :class:`~hostsessions.mapping.SessionMapping` at ``scope_key`` instead of the
    :class:`~hostsessions.AsyncSession`, for code written for Starlette's dict session; it
    reads the stored session before the app runs when the request carries a cookie.

    The session is saved when the response starts (before the client sees it), and again
    at the end if the app changed it while streaming. Lifespan scopes pass straight through.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: SessionConfig | None = None,
        *,
        scope_key: str = "session",
        dict_session: bool = False,
    ) -> None:
        if not is_nonempty_text(scope_key) or scope_key == SCOPE_KEY:
            raise ValueError(f"scope_key must be a non-empty string other than {SCOPE_KEY!r}")
        self.app = app
        self.manager = SessionManager(config)
        self.scope_key = scope_key
        self.dict_session = dict_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                send = self._closing_on_shutdown(send)
            await self.app(scope, receive, send)
            return
        manager = self.manager
        # The request's Cookie header, read alone since every request needs it (an HTTP/2
        # client may split it into several fields, RFC 9113 8.2.3: they are joined)
        cookie: str | None = None
        for name, value in scope.get("headers") or ():
            if name == b"cookie":
                text = value.decode("latin-1")
                cookie = text if cookie is None else f"{cookie}; {text}"
        state = manager.state_from_cookie(cookie)
        session = AsyncSession(state, manager.get_async_store)
        scope[SCOPE_KEY] = session
        scope[_LOOP_KEY] = asyncio.get_running_loop()
        view: SessionMapping | None = None
        if self.dict_session:
            # dict operations cannot await: read the stored session now, once
            await session.run_load()
            scope[_DICT_KEY] = view = SessionMapping(loaded_session(state))
        if self.scope_key not in scope:
            scope[self.scope_key] = session if view is None else view
        sending = _Sending(manager, scope, state, session, view, send)
        await self.app(scope, receive, sending.send)
        # Changes made after the last body message went out (or with none sent): saved now.
        if sending.started and (
            (view is not None and view.watching) or (state.touched and state.dirty)
        ):
            await _late_save(session, view)

    def _closing_on_shutdown(self, send: Send) -> Send:
        """Close the driver's connections when the server shuts down."""

        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.manager.aclose()
            await send(message)

        return send_closing


class _Sending:
    """The send of one request: saves the session when the response starts (before the
    client can see it, so that its next request reads what this one wrote) and adds the
    cookie and ``Vary: Cookie``; saves again after the last body message if the app changed
    the session while streaming. (An object with slots, not a closure: one allocation per
    request instead of a cell per captured name.)"""

    __slots__ = (
        "manager",
        "replaced",
        "scope",
        "send_next",
        "session",
        "started",
        "state",
        "view",
    )

    def __init__(
        self,
        manager: SessionManager,
        scope: Scope,
        state: SessionState,
        session: AsyncSession,
        view: SessionMapping | None,
        send_next: Send,
    ) -> None:
        self.manager = manager
        self.scope = scope
        self.state = state
        self.session = session
        self.view = view
        self.send_next = send_next
        self.started = False
        self.replaced = False  # the app's response was replaced by a 409 (see GONE_STATUS)

    async def send(self, message: Message) -> None:
        if self.replaced:
            return  # the rest of the app's response: already answered
        kind = message["type"]
        state = self.state
        view = self.view
        if kind in _START_MESSAGES:
            self.started = True
            # A session the app never used (and no dict view) adds nothing to the response.
            if view is not None or state.touched:
                if view is not None:
                    view.record_in_place_changes()
                try:
                    pending = self.session.start_save()  # (None: saved, or nothing to save)
                    if pending is not None:
                        await pending
                except SessionGoneError:
                    if kind != "http.response.start":
                        raise
                    self.replaced = True
                    await self.send_next(_gone_response_start())
                    await self.send_next({"type": "http.response.body", "body": GONE_BODY})
                    return
                decision = state.cookie_action(refresh=self.manager.rolling)
                if decision is None:  # the usual response of a known session: Vary only
                    if state.touched:
                        headers = [*(message.get("headers") or ()), _VARY_COOKIE]
                        message = {**message, "headers": headers}
                else:
                    message = self._with_cookie(message, decision)
        elif (
            (kind == "http.response.body" and not message.get("more_body", False))
            or kind == "websocket.close"
        ) and ((view is not None and view.watching) or (state.touched and state.dirty)):
            # (Every change the app makes touches the state first: an untouched state is
            # clean, and that test is cheaper than dirty's.)
            await _late_save(self.session, view)
        await self.send_next(message)

    def _with_cookie(self, message: Message, decision: CookieDecision) -> Message:
        """The start of the response, the session saved and the cookie to change: with its
        Set-Cookie and ``Vary: Cookie``. (A response whose cookie stays gets ``Vary`` alone,
        in :meth:`send`.)"""
        scope = self.scope
        request = _request_headers(scope)
        set_cookie = self.manager.cookie_header(
            decision,
            scope.get("scheme", "http"),
            request.host,
            x_forwarded_proto=request.x_forwarded_proto,
            forwarded=request.forwarded,
        )
        headers = [
            *(message.get("headers") or ()),
            (b"set-cookie", set_cookie.encode("latin-1")),
            _VARY_COOKIE,
        ]
        return {**message, "headers": headers}


def _gone_response_start() -> Message:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(GONE_BODY)).encode("ascii")),
        (b"cache-control", b"no-store"),
        (b"vary", b"Cookie"),
    ]
    return {"type": "http.response.start", "status": GONE_STATUS, "headers": headers}


async def _late_save(session: AsyncSession, view: SessionMapping | None) -> None:
    """A save after the response started (changes made while streaming)."""
    if view is not None:
        view.record_in_place_changes()
    state = session.state
    if state.dirty:
        warn_if_cookie_lost(state)
        await session.run_save()


class _RequestHeaders(NamedTuple):
    host: str | None
    x_forwarded_proto: str | None
    forwarded: str | None


def _request_headers(scope: Scope) -> _RequestHeaders:
    """The request headers the Secure rule needs, in one pass: read only when the response
    sets or expires the cookie."""
    host = x_forwarded_proto = forwarded = None
    for name, value in scope.get("headers") or ():
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"x-forwarded-proto":
            x_forwarded_proto = value.decode("latin-1")
        elif name == b"forwarded":
            forwarded = value.decode("latin-1")
    if host is None and scope.get("server"):
        host = str(scope["server"][0])
    return _RequestHeaders(host, x_forwarded_proto, forwarded)
