"""PEP 3333 middleware: a :class:`~hostsessions.Session` at ``environ["hostsessions.session"]``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

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
        self._get_store = self.manager.sync_store  # bound once, not per request

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        state = self.manager.state_from_cookie(environ.get("HTTP_COOKIE"))
        session = Session(state, self._get_store)
        environ[ENVIRON_KEY] = session
        response = _Response(self.manager, environ, session, start_response)
        response.body = self.app(environ, response.start)
        return response


_VARY_COOKIE = ("Vary", "Cookie")
_GONE_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(GONE_BODY))),
    ("Cache-Control", "no-store"),
    _VARY_COOKIE,
]


class _Response:
    """One request's response. Its :meth:`start` is the ``start_response`` the app gets:
    it saves the session (before any byte is sent, so the client's next request reads what
    this one wrote) and adds the cookie and ``Vary: Cookie``. As the body it is the app's
    body, unchanged, and its ``close()`` also saves changes made while streaming.

    If the save at the start found the session gone (see ``GONE_STATUS``), the app's
    response is replaced by the 409's. (One object with slots, not a closure over the
    request and a body wrapper besides.)
    """

    __slots__ = ("body", "environ", "manager", "replaced", "session", "start_response", "state")

    def __init__(
        self,
        manager: SessionManager,
        environ: dict[str, Any],
        session: Session,
        start_response: StartResponse,
    ) -> None:
        self.manager = manager
        self.environ = environ
        self.session = session
        self.state = session.state
        self.start_response = start_response
        self.body: Iterable[bytes] = ()
        self.replaced: bytes | None = None

    def start(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        if exc_info is not None:
            return self.start_response(status, headers, exc_info)
        state = self.state
        if not state.touched:
            return self.start_response(status, headers)  # a session the app never used
        if state.dirty:
            try:
                self.session.save()
            except SessionGoneError:
                self.replaced = GONE_BODY
                self.start_response(f"{GONE_STATUS} {GONE_REASON}", _GONE_HEADERS)
                return _discard  # the app's own body is not sent
        decision = self.manager.cookie_decision(state)
        if decision is None:  # the usual response of a known session: Vary only
            return self.start_response(status, [*headers, _VARY_COOKIE])
        environ = self.environ
        set_cookie = self.manager.cookie_header(
            decision,
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
            x_forwarded_proto=environ.get("HTTP_X_FORWARDED_PROTO"),
            forwarded=environ.get("HTTP_FORWARDED"),
        )
        return self.start_response(status, [*headers, ("Set-Cookie", set_cookie), _VARY_COOKIE])

    def __iter__(self) -> Iterator[bytes]:
        if self.replaced is not None:
            return iter((self.replaced,))
        body = self.body
        if type(body) is list:
            # The app called start_response before it returned a list, and iterating a list
            # runs none of its code: nothing can replace the response from here on.
            return iter(cast("list[bytes]", body))
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        for chunk in self.body:
            if self.replaced is not None:  # start_response was called while iterating
                break
            yield chunk
        if self.replaced is not None:
            yield self.replaced

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            state = self.state
            # (Every change the app makes touches the state first: an untouched state is
            # clean, and that test is cheaper than dirty's.)
            if state.touched and state.dirty:
                warn_if_cookie_lost(state)
                self.session.save()


def _discard(data: bytes) -> None:
    """The ``write`` of a response replaced by the 409: the app's bytes go nowhere."""
