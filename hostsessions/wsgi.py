"""PEP 3333 middleware: a :class:`~hostsessions.Session` at ``environ["hostsessions.session"]``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .checks import is_dict
from .config import SessionConfig
from .errors import SessionGoneError
from .manager import GONE_BODY, GONE_REASON, GONE_STATUS, SessionManager, warn_if_cookie_lost
from .session import Session

__all__ = ["ENVIRON_KEY", "SessionMiddleware", "StartResponse", "WSGIApp", "get_session"]

ENVIRON_KEY = "hostsessions.session"

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def get_session(request_or_environ: Any) -> Session:
    """The session of a request, typed: ``get_session(environ)``, or any request object
    with an ``environ`` (Flask, Werkzeug, Django's WSGIRequest has ``META``)."""
    environ: object = getattr(request_or_environ, "environ", None)
    if environ is None:
        environ = getattr(request_or_environ, "META", request_or_environ)
    session = environ.get(ENVIRON_KEY) if is_dict(environ) else None
    if not isinstance(session, Session):
        raise LookupError(
            "no hostsessions session on this request: wrap the WSGI app in "
            "hostsessions.wsgi.SessionMiddleware"
        )
    return session


class SessionMiddleware:
    """Wraps a WSGI app (Flask, Django, Bottle, ...). The session is saved inside
    ``start_response``, before any byte of the response is sent, and again when the
    response is closed if the app changed it while streaming."""

    def __init__(self, app: WSGIApp, config: SessionConfig | None = None) -> None:
        self.app = app
        self.manager = SessionManager(config)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        manager = self.manager
        state = manager.state_from_cookie(environ.get("HTTP_COOKIE"))
        session = Session(state, manager.sync_store)
        environ[ENVIRON_KEY] = session
        body: _ClosingBody

        def start_with_session(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            if not state.touched:
                return start_response(status, headers)  # a session the app never used
            if state.dirty:
                try:
                    session.save()
                except SessionGoneError:
                    body.replace_with(GONE_BODY)
                    write = start_response(f"{GONE_STATUS} {GONE_REASON}", _GONE_HEADERS)
                    return lambda data: None if body.replaced else write(data)
            headers = list(headers)
            decision = manager.cookie_decision(state)
            if decision is not None:
                set_cookie = manager.cookie_header(
                    decision,
                    environ.get("wsgi.url_scheme", "http"),
                    environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
                    x_forwarded_proto=environ.get("HTTP_X_FORWARDED_PROTO"),
                    forwarded=environ.get("HTTP_FORWARDED"),
                )
                headers.append(("Set-Cookie", set_cookie))
            headers.append(("Vary", "Cookie"))
            return start_response(status, headers)

        body = _ClosingBody(session)
        body.wrap(self.app(environ, start_with_session))
        return body


_GONE_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(GONE_BODY))),
    ("Cache-Control", "no-store"),
    ("Vary", "Cookie"),
]


class _ClosingBody:
    """The app's body, unchanged; its close() also saves changes made while streaming.

    If the save at the start of the response found the session gone (see ``GONE_STATUS``),
    the app's body is replaced by the 409 response's.
    """

    __slots__ = ("_body", "_session", "replaced")

    def __init__(self, session: Session) -> None:
        self._body: Iterable[bytes] = ()
        self._session = session
        self.replaced: bytes | None = None

    def wrap(self, body: Iterable[bytes]) -> None:
        self._body = body

    def replace_with(self, content: bytes) -> None:
        self.replaced = content

    def __iter__(self) -> Iterator[bytes]:
        if self.replaced is not None:
            return iter((self.replaced,))
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        for chunk in self._body:
            if self.replaced is not None:  # start_response was called while iterating
                break
            yield chunk
        if self.replaced is not None:
            yield self.replaced

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            state = self._session.state
            if state.dirty:
                warn_if_cookie_lost(state)
                self._session.save()
