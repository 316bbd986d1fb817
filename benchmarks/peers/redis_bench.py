"""Redis-backed apps for the shared peer benchmark: hostsessions' redis driver next to
starsessions' ``RedisStore`` and Flask-Session's redis interface, on one redis-server.

Same endpoints as the peers' ``apps.py``: ``GET /a`` never touches the session, ``GET /b``
reads ``n``, adds one, stores it and returns it, ``GET /r`` only reads ``n``.
``benchmarks/peers/run_redis.sh`` starts the redis-server and passes its URL in
``PEERBENCH_REDIS_URL``; each library gets a database of its own on it.

Factories (``run.sh --extra KEY=asgi|wsgi:redis_bench:FACTORY``):

    make_hs_redis_asgi            Starlette + hostsessions.asgi.SessionMiddleware, redis driver
                                  (its asyncio flavour: no thread hop)
    make_hs_redis_wsgi            Flask wrapped in hostsessions.wsgi.SessionMiddleware, redis
    make_starsessions_redis       Starlette + starsessions.SessionMiddleware(RedisStore), with
                                  load_session() in /b, as the harness's InMemoryStore app
    make_flask_session_redis      Flask + Flask-Session 0.8, SESSION_TYPE="redis"

Every store writes with an expiry, as each library does by default for a lasting session:
hostsessions with a 14-day ``ttl`` (SET ... PXAT), starsessions with its lifetime
(SET ... EX), Flask-Session with the permanent lifetime (SET ... EX). Every app carries a
``peer_counter`` dict of the store calls it makes, which the harness's behaviour check
prints: one read and one (conditional, for hostsessions) write per /b.
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

sys.dont_write_bytecode = True

from hostsessions_bench import (  # noqa: E402
    AsyncCountingDriver,
    Counter,
    CountingDriver,
    flask_app,
    starlette_app,
)

from hostsessions import CookieOptions, SessionConfig  # noqa: E402
from hostsessions import drivers as hs_drivers  # noqa: E402

#: The lifetime every library gets, in seconds.
LIFETIME = 14 * 24 * 3600


def redis_url(db: int) -> str:
    """The benchmark's redis-server, database ``db`` (one per library)."""
    url = os.environ.get("PEERBENCH_REDIS_URL")
    if not url:
        raise SystemExit("PEERBENCH_REDIS_URL is not set: run benchmarks/peers/run_redis.sh")
    return urlsplit(url)._replace(path=f"/{db}").geturl()


# ------------------------------------------------------------------------- hostsessions


def _hs_config(driver: Any) -> SessionConfig:
    # Plain http to `testserver` in the harness: no Secure flag (starsessions is set up
    # the same way with cookie_https_only=False).
    return SessionConfig(driver=driver, cookie=CookieOptions(secure=False), ttl=LIFETIME)


def make_hs_redis_asgi() -> Any:
    """Starlette + hostsessions, redis driver (asyncio)."""
    counter = Counter()
    driver = AsyncCountingDriver(hs_drivers.redis(redis_url(1)).to_async(), counter)
    return starlette_app(_hs_config(driver), counter)


def make_hs_redis_wsgi() -> Any:
    """Flask with its WSGI app wrapped in hostsessions, redis driver (sync)."""
    counter = Counter()
    driver = CountingDriver(hs_drivers.redis(redis_url(1)), counter)
    return flask_app("hostsessions_redis", _hs_config(driver), counter)


# ---------------------------------------------------------------------------- the peers


def make_starsessions_redis() -> Any:
    """Starlette + starsessions.SessionMiddleware(RedisStore(connection=redis.asyncio.Redis))."""
    import redis.asyncio
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starsessions import SessionMiddleware, load_session
    from starsessions.stores.redis import RedisStore

    counter = Counter()

    class CountingRedisStore(RedisStore):
        async def read(self, session_id: str, lifetime: int) -> bytes:
            counter.hit("read")
            return await super().read(session_id, lifetime)

        async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
            counter.hit("write")
            return await super().write(session_id, data, lifetime, ttl)

        async def remove(self, session_id: str) -> None:
            counter.hit("remove")
            await super().remove(session_id)

    async def a(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def b(request: Request) -> PlainTextResponse:
        await load_session(request)
        n = request.session.get("n", 0) + 1
        request.session["n"] = n
        return PlainTextResponse(str(n))

    async def r(request: Request) -> PlainTextResponse:
        await load_session(request)
        return PlainTextResponse(str(request.session.get("n", 0)))

    store = CountingRedisStore(connection=redis.asyncio.Redis.from_url(redis_url(2)))
    middleware = Middleware(
        SessionMiddleware, store=store, cookie_https_only=False, lifetime=LIFETIME
    )
    app = Starlette(
        routes=[Route("/a", a), Route("/b", b), Route("/r", r)], middleware=[middleware]
    )
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


def make_flask_session_redis() -> Any:
    """Flask + Flask-Session 0.8, SESSION_TYPE="redis" on a redis.Redis client."""
    from datetime import timedelta

    import redis
    from flask import Flask, session
    from flask_session import Session as FlaskSession

    counter = Counter()

    class CountingRedis(redis.Redis):  # type: ignore[type-arg]
        def get(self, name: Any) -> Any:
            counter.hit("read")
            return super().get(name)

        def set(self, name: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            counter.hit("write")
            return super().set(name, value, *args, **kwargs)

        def delete(self, *names: Any) -> Any:
            counter.hit("remove")
            return super().delete(*names)

    app = Flask("flask_session_redis")

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

    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=CountingRedis.from_url(redis_url(3)),
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=LIFETIME),
    )
    FlaskSession(app)
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app
