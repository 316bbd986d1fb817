"""Sessions in Cloud Run functions written with Google's Functions Framework.

The Functions Framework builds the Flask app itself, so there is no app to wrap in
middleware. Decorate the function instead::

    import functions_framework
    from hostsessions_gcp.functions import session_of, with_session

    @functions_framework.http
    @with_session()
    def handler(request):
        visits = session_of(request).update("visits", lambda n: n + 1, default=0)
        return {"visits": visits}

The decorator runs the request through :class:`hostsessions.wsgi.SessionMiddleware`
(the same rules as any WSGI app: saved before the response goes out, cookie set when the
session is created or changes ID), so ``session_of(request)`` is the request's
:class:`~hostsessions.Session`, also found at ``request.environ["hostsessions.session"]``.
The driver is chosen when the function module is imported, so a misconfigured deploy
fails at start-up; on Google Cloud that is Firestore, with no configuration.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask
from werkzeug.wrappers import Response

from hostsessions import Session, SessionConfig
from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

__all__ = ["session_of", "with_session"]

Handler = Callable[[flask.Request], Any]


def with_session(
    config: SessionConfig | None = None,
) -> Callable[[Handler], Callable[[flask.Request], Response]]:
    """Give an HTTP function a session; ``config`` as for the middleware (None: zero config)."""

    def decorate(handler: Handler) -> Callable[[flask.Request], Response]:
        def respond(environ: dict[str, Any], start_response: Any) -> Any:
            # Werkzeug ran the middleware on a copy of the request's environ: hand the
            # session to the request the handler sees.
            flask.request.environ[ENVIRON_KEY] = environ[ENVIRON_KEY]
            # The handler's return value becomes a response the usual Flask way.
            response = flask.make_response(handler(flask.request))
            return response(environ, start_response)

        middleware = SessionMiddleware(respond, config)

        @functools.wraps(handler)
        def function(request: flask.Request) -> Response:
            # buffered: the body is complete (and the session saved) before returning.
            return flask.Response.from_app(middleware, request.environ, buffered=True)

        return function

    return decorate


def session_of(request: flask.Request) -> Session:
    """The session of a request handled by a function decorated with :func:`with_session`."""
    session = request.environ.get(ENVIRON_KEY)
    if not isinstance(session, Session):
        raise RuntimeError(
            "this request has no session: decorate the function with "
            "@hostsessions_gcp.functions.with_session() (under @functions_framework.http)"
        )
    return session
