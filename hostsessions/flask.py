"""Flask integration: ``flask.session``, ``flash()`` and Flask-Login on hostsessions stores.

::

    from flask import Flask
    from hostsessions.flask import HostSessions

    app = Flask(__name__)
    HostSessions(app)            # or HostSessions(app, SessionConfig(driver="fs", ttl=3600))

``flask.session`` is then a :class:`FlaskSession`: a dict-style view of the request's
hostsessions session (see :mod:`hostsessions.mapping`), kept server-side in the store the
platform adapters chose, behind hostsessions' opaque-ID cookie. No ``SECRET_KEY`` is
needed for it. :func:`get_session` gives the same session with the full API (per-key
``ttl``, ``update``, ``regenerate``, ``destroy``, ``load``).

The session is saved in Flask's ``process_response``, before the response is sent. Async
views use the same synchronous session: Flask runs each async view on an event loop of its
own, where the driver's calls are short and an async driver keeps running on hostsessions'
long-lived loop thread, so loop-bound clients stay valid.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask import request as flask_request
from flask import session as flask_session
from flask.sessions import SessionInterface, SessionMixin

from .config import SessionConfig
from .cookies import session_id_from_cookie_header
from .manager import SessionManager
from .mapping import SessionMapping
from .session import Session

__all__ = ["FlaskSession", "HostSessionInterface", "HostSessions", "get_session"]


class FlaskSession(SessionMapping, SessionMixin):
    """What ``flask.session`` is: a mapping over the request's :class:`~hostsessions.Session`.

    ``session.permanent = True`` gives the cookie a ``Max-Age`` of the app's
    ``PERMANENT_SESSION_LIFETIME`` (unless the config sets one); key lifetimes follow the
    config's ``ttl``. Values changed in place are saved without ``session.modified = True``.
    """

    accessed = False

    @property
    def new(self) -> bool:  # type: ignore[override]
        """True while this request knows of no stored session (no ID yet)."""
        return self.session.id is None

    @property
    def modified(self) -> bool:
        """Whether this request changed the session (assigning to it is accepted and
        ignored: changes, in-place ones included, are detected)."""
        return self.session._state.dirty

    @modified.setter
    def modified(self, value: bool) -> None:
        pass


class HostSessionInterface(SessionInterface):
    """A Flask session interface over hostsessions. The driver is chosen when it is built
    (so a misconfigured host fails at start-up) and built on the first request that needs
    storage."""

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.manager = SessionManager(config)

    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        manager = self.manager
        cookie_id = session_id_from_cookie_header(
            request.environ.get("HTTP_COOKIE"), manager.config.cookie.name
        )
        return FlaskSession(Session(manager.new_state(cookie_id), manager.sync_store))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession):
            return
        core = session.session
        state = core._state
        session.record_in_place_changes()
        if state.dirty:
            core.save()
        max_age = None
        # Only a response that may carry the cookie needs to know about `permanent`.
        if state.cookie_action(refresh=True) is not None and session.permanent:
            max_age = int(app.permanent_session_lifetime.total_seconds())
        environ = flask_request.environ
        set_cookie = self.manager.response_cookie(
            state,
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
            max_age=max_age,
            x_forwarded_proto=environ.get("HTTP_X_FORWARDED_PROTO"),
            forwarded=environ.get("HTTP_FORWARDED"),
        )
        if set_cookie is not None:
            response.headers.add("Set-Cookie", set_cookie)
        if set_cookie is not None or state.touched:
            response.headers.add("Vary", "Cookie")


def _current_session() -> object:
    proxy: Any = flask_session  # a LocalProxy, typed by Flask as the session itself
    return proxy._get_current_object()


class HostSessions:
    """The Flask extension: ``HostSessions(app)`` or ``HostSessions().init_app(app)``.

    When Flask-Login is installed, a login (its ``user_logged_in`` signal) gives the session
    a new ID, so an ID known before the login is worthless after it (session fixation).
    """

    def __init__(self, app: Flask | None = None, config: SessionConfig | None = None) -> None:
        self.config = config
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        interface = HostSessionInterface(self.config)
        app.session_interface = interface
        app.extensions["hostsessions"] = interface
        _regenerate_on_login(app)


def _regenerate_on_login(app: Flask) -> None:
    try:
        from flask_login import user_logged_in  # type: ignore[import-untyped]
    except ImportError:
        return

    def regenerate(sender: Any, **extra: Any) -> None:
        session = _current_session()
        if isinstance(session, FlaskSession):
            session.session.regenerate()

    user_logged_in.connect(regenerate, app, weak=False)


def get_session() -> Session:
    """The current request's session with the full hostsessions API (``set(key, value,
    ttl=)``, ``update``, ``regenerate``, ``destroy``, ``load``); ``flask.session`` is a
    dict-style view of the same session."""
    session = _current_session()
    if not isinstance(session, FlaskSession):
        raise LookupError(
            "flask.session is not a hostsessions session: call HostSessions(app) "
            "(from hostsessions.flask) when creating the app"
        )
    return session.session
