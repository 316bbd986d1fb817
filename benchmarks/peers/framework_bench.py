"""Flask and Django apps for the shared peer benchmark (see benchmarks/README.md): the
Flask session interface and the Django session engine, next to the core's WSGI middleware
in the same framework and, for Django, Django's own cache and database session backends.

Same endpoints as the peers' apps: ``GET /a`` never touches the session, ``GET /b`` reads
``n``, adds one, stores it and returns it, ``GET /r`` only reads ``n``.

Factories (``run.sh --extra KEY=wsgi:framework_bench:FACTORY``, with
``--extra-path`` this folder):

    make_flask_interface     Flask + HostSessions(app): flask.session on hostsessions, memory
    make_django_floor        Django, no session middleware (its /a is the Django floor; its /b
                             counts in a plain cookie, for the harness's checks)
    make_django_core         Django wrapped in hostsessions.wsgi.SessionMiddleware, memory
    make_django_core_rules   the same, configured with Django's rules: keys live
                             SESSION_COOKIE_AGE, the cookie re-sent with Max-Age on each save
    make_django_engine       Django SessionMiddleware + SESSION_ENGINE="hostsessions.django", memory
    make_django_middleware   the same engine under hostsessions.django.SessionMiddleware
    make_django_cache        Django SessionMiddleware + Django's cache backend (LocMemCache)
    make_django_db           Django SessionMiddleware + Django's database backend (SQLite file)

Every hostsessions app uses the memory driver wrapped in the counting driver of
``hostsessions_bench`` and cookies without Secure (the harness speaks plain http to
``testserver``). Django's settings are process-wide, so every Django app of one process
shares one configuration; each factory builds its own handler with its own middleware.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

sys.dont_write_bytecode = True

from hostsessions_bench import Counter, _config  # noqa: E402

# ---------------------------------------------------------------------------------- Flask


def make_flask_interface() -> Any:
    """Flask + ``HostSessions(app)``: ``flask.session`` is hostsessions, memory driver."""
    from flask import Flask, session

    from hostsessions.flask import HostSessions

    app = Flask("hostsessions_flask_interface")

    @app.get("/a")
    def a() -> str:
        return "ok"

    @app.get("/b")
    def b() -> str:
        n = session.get("n", 0) + 1
        session["n"] = n
        return str(n)

    @app.get("/r")
    def r() -> str:
        return str(session.get("n", 0))

    config, counter = _config("memory")
    HostSessions(app, config)
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


# --------------------------------------------------------------------------------- Django

_ENGINE_COUNTER: Counter | None = None
_DATABASE_FOLDER: tempfile.TemporaryDirectory[str] | None = None


def _django_settings() -> Counter:
    """Configure Django once per process; the engine's (counted) memory driver with it."""
    global _ENGINE_COUNTER
    if _ENGINE_COUNTER is not None:
        return _ENGINE_COUNTER
    import django
    from django.conf import settings

    global _DATABASE_FOLDER
    config, counter = _config("memory")
    state = os.environ.get("PEERBENCH_STATE") or tempfile.gettempdir()
    os.makedirs(state, exist_ok=True)
    # removed when the process exits (the folder's finalizer), not left behind per run
    _DATABASE_FOLDER = tempfile.TemporaryDirectory(prefix="django_db-", dir=state)
    database = os.path.join(_DATABASE_FOLDER.name, "db.sqlite3")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="peer-benchmark-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=[],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        SESSION_ENGINE="hostsessions.django",
        HOSTSESSIONS=config,
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "sessions", verbosity=0)
    _ENGINE_COUNTER = counter
    return counter


def _session(request: Any) -> Any:
    """``request.session`` under Django's SessionMiddleware, else the core's WSGI session,
    else None (the floor, whose /b and /r only exist for the harness's checks)."""
    session = getattr(request, "session", None)
    if session is not None:
        return session
    from hostsessions.wsgi import ENVIRON_KEY

    return request.META.get(ENVIRON_KEY)


def _view_a(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


def _view_b(request: Any) -> Any:
    from django.http import HttpResponse

    session = _session(request)
    if session is None:
        # The floor: the harness wants a counter and a cookie from every extra's /b; a plain
        # cookie holds it (the floor is compared on /a only).
        n = int(request.COOKIES.get("floor_n", "0")) + 1
        response = HttpResponse(str(n))
        response.set_cookie("floor_n", str(n))
        return response
    if hasattr(request, "session"):
        n = session.get("n", 0) + 1
        session["n"] = n
    else:
        n = session.get("n", 0) + 1
        session.set("n", n)
    return HttpResponse(str(n))


def _view_r(request: Any) -> Any:
    from django.http import HttpResponse

    session = _session(request)
    return HttpResponse("ok" if session is None else str(session.get("n", 0)))


def __getattr__(name: str) -> Any:
    # ROOT_URLCONF is this module; its patterns are built after settings exist.
    if name == "urlpatterns":
        from django.urls import path

        return [path("a", _view_a), path("b", _view_b), path("r", _view_r)]
    raise AttributeError(name)


DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


def _django_handler(engine: str | None, middleware_class: str = DJANGO_MIDDLEWARE) -> Any:
    """A WSGI handler whose middleware is ``middleware_class`` on ``engine``, or none."""
    _django_settings()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    middleware = [] if engine is None else [middleware_class]
    # The handler builds its middleware chain (and SessionMiddleware picks its engine) now.
    with override_settings(MIDDLEWARE=middleware, SESSION_ENGINE=engine or "hostsessions.django"):
        return WSGIHandler()


def make_django_floor() -> Any:
    """Django with no session middleware."""
    return _django_handler(None)


def make_django_core() -> Any:
    """Django wrapped in the core's WSGI middleware (memory driver, counted)."""
    from hostsessions.wsgi import SessionMiddleware

    _django_settings()
    config, counter = _config("memory")
    app = SessionMiddleware(_django_handler(None), config)
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


def make_django_core_rules() -> Any:
    """The core's WSGI middleware around Django, configured with Django's session rules as
    far as the core has them: every key lives ``SESSION_COOKIE_AGE`` (``ttl``) and the
    cookie is sent again with its ``Max-Age`` after every save (``CookieOptions(max_age=)``).
    What the engine adds over this is its own cost (and the whole-session renewal)."""
    from django.conf import settings

    from hostsessions import CookieOptions, SessionConfig
    from hostsessions.wsgi import SessionMiddleware

    _django_settings()
    config, counter = _config("memory")
    age = settings.SESSION_COOKIE_AGE
    rules = SessionConfig(driver=config.driver, ttl=age, cookie=CookieOptions(max_age=age))
    app = SessionMiddleware(_django_handler(None), rules)
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


def make_django_engine() -> Any:
    """Django's SessionMiddleware with ``SESSION_ENGINE = "hostsessions.django"`` (memory)."""
    counter = _django_settings()
    app = _django_handler("hostsessions.django")
    app.peer_counter = counter
    return app


def make_django_middleware() -> Any:
    """``SESSION_ENGINE = "hostsessions.django"`` under ``hostsessions.django.SessionMiddleware``
    (memory)."""
    counter = _django_settings()
    app = _django_handler("hostsessions.django", "hostsessions.django.SessionMiddleware")
    app.peer_counter = counter
    return app


def make_django_cache() -> Any:
    """Django's SessionMiddleware with its cache backend on LocMemCache."""
    return _django_handler("django.contrib.sessions.backends.cache")


def make_django_db() -> Any:
    """Django's SessionMiddleware with its database backend on a SQLite file."""
    return _django_handler("django.contrib.sessions.backends.db")
