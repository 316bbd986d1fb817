"""hostsessions apps for the shared peer benchmark (``shared/bench/peers`` beside the repository).

Same endpoints as the peers' ``apps.py``: ``GET /a`` never touches the session, ``GET /b``
reads ``n``, adds one, stores it and returns it, ``GET /r`` only reads ``n``.

Factories (pass them to ``run.sh --extra KEY=asgi|wsgi:hostsessions_bench:FACTORY``):

    make_asgi_app      Starlette + hostsessions.asgi.SessionMiddleware, memory driver
    make_asgi_fs_app   the same with the filesystem driver
    make_asgi_dict_app Starlette + the dict-style session (``dict_session=True``), memory
    make_wsgi_app      Flask, its wsgi_app wrapped in hostsessions.wsgi.SessionMiddleware, memory
    make_wsgi_fs_app   the same with the filesystem driver

Every app keeps hostsessions' default cookie: the benchmark's clients speak plain http
to ``testserver``, a test client's host, which gets a cookie without Secure (the peers'
starsessions app needs ``cookie_https_only=False`` for that). Filesystem stores go to a fresh
directory under ``$PEERBENCH_STATE``, as the peers' stores do. Every app carries a
``peer_counter`` dict (reads / writes / removes that reach the driver), so the benchmark's
behaviour check shows them; counting is one extra Python call around each driver call
and a dict increment (well under a microsecond; the peers' timed apps count nothing). The
counting wrapper declares what the driver declares and hands the write token on, so the
timed path is the one an app on the bare driver takes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, cast

sys.dont_write_bytecode = True

from hostsessions import AsyncSession, Session, SessionConfig  # noqa: E402
from hostsessions import drivers as hs_drivers  # noqa: E402
from hostsessions.drivers import Record  # noqa: E402
from hostsessions.storage import takes_tokens  # noqa: E402


class Counter(dict[str, int]):
    """The peers' counter shape: ``peer_counter["read"]`` etc. It starts with every count
    at zero, so that a counting wrapper adds one with ``counter["read"] += 1`` and no call."""

    def __init__(self) -> None:
        super().__init__(read=0, write=0, remove=0)

    def hit(self, key: str) -> None:
        self[key] = self.get(key, 0) + 1


#: What a driver may declare about itself (``drivers.base``: the blocking and expiry hints,
#: its name in errors): a counting wrapper declares the same, so the core takes the path it
#: takes for the inner driver.
CAPABILITIES = ("blocking", "blocking_reads", "keeps_objects", "reports_expiry", "store_name")


def _declare_as(wrapper: object, inner: Any) -> None:
    """Give ``wrapper`` every capability ``inner`` declares (an absent one stays absent)."""
    for name in CAPABILITIES:
        if hasattr(inner, name):
            setattr(wrapper, name, getattr(inner, name))


class CountingDriver:
    """Counts the calls that reach ``inner``; declares what ``inner`` declares (its
    ``blocking`` and ``blocking_reads`` flags, ``keeps_objects``, ``reports_expiry``,
    ``store_name``), hands the core's ``kept`` object on, and keeps
    its async face (``to_async``, the filesystem driver's), and hands the core's write token
    on, so the core takes the very path it takes for ``inner`` itself (the memory and
    filesystem drivers keep write tokens)."""

    def __init__(self, inner: Any, counter: Counter) -> None:
        self.inner = inner
        self.counter = counter
        _declare_as(self, inner)
        if not takes_tokens(inner):  # the core then writes without tokens, as for inner
            self.write = self._write_without_token  # type: ignore[method-assign, assignment]
        if callable(getattr(inner, "to_async", None)):
            self.to_async = lambda: AsyncCountingDriver(inner.to_async(), counter)

    def read(self, key: str) -> Record | None:
        self.counter["read"] += 1
        record: Record | None = self.inner.read(key)
        return record

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
        kept: Any = None,
    ) -> str:
        self.counter["write"] += 1
        if kept is None:  # (the core passes it only when ``inner`` keeps objects)
            version: str = self.inner.write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )
        else:
            version = self.inner.write(
                key,
                payload,
                expires_at=expires_at,
                expected_version=expected_version,
                token=token,
                kept=kept,
            )
        return version

    def _write_without_token(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.counter["write"] += 1
        version: str = self.inner.write(
            key, payload, expires_at=expires_at, expected_version=expected_version
        )
        return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self.counter["remove"] += 1
        self.inner.delete(key, expected_version=expected_version)

    def close(self) -> None:
        """Closes ``inner``'s connections, if it keeps any (the Redis driver's pool)."""
        if callable(getattr(self.inner, "close", None)):
            self.inner.close()


class AsyncCountingDriver:
    """:class:`CountingDriver` for an async driver."""

    def __init__(self, inner: Any, counter: Counter) -> None:
        self.inner = inner
        self.counter = counter
        _declare_as(self, inner)
        if not takes_tokens(inner):  # the core then writes without tokens, as for inner
            self.write = self._write_without_token  # type: ignore[method-assign, assignment]

    async def read(self, key: str) -> Record | None:
        self.counter["read"] += 1
        record: Record | None = await self.inner.read(key)
        return record

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        self.counter["write"] += 1
        version: str = await self.inner.write(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )
        return version

    async def _write_without_token(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.counter["write"] += 1
        version: str = await self.inner.write(
            key, payload, expires_at=expires_at, expected_version=expected_version
        )
        return version

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self.counter["remove"] += 1
        await self.inner.delete(key, expected_version=expected_version)

    async def aclose(self) -> None:
        """Closes ``inner``'s connections at lifespan shutdown, if it keeps any."""
        if callable(getattr(self.inner, "aclose", None)):
            await self.inner.aclose()


def _config(kind: str) -> tuple[SessionConfig, Counter]:
    """The driver (counted); everything else is the default."""
    driver, counter = _driver(kind)
    return SessionConfig(driver=driver), counter


def _driver(kind: str) -> tuple[CountingDriver, Counter]:
    counter = Counter()
    if kind == "memory":
        inner: hs_drivers.MemoryDriver | hs_drivers.FsDriver = hs_drivers.memory()
    else:
        base = os.environ.get("PEERBENCH_STATE") or os.path.join(
            tempfile.gettempdir(), "peerbench", "state"
        )
        os.makedirs(base, exist_ok=True)
        inner = hs_drivers.fs(base=tempfile.mkdtemp(prefix="hostsessions_fs-", dir=base))
    return CountingDriver(inner, counter), counter


# --------------------------------------------------------------------------------- ASGI


def _starlette(kind: str, *, dict_session: bool = False) -> Any:
    config, counter = _config(kind)
    return starlette_app(config, counter, dict_session=dict_session)


def starlette_app(config: SessionConfig, counter: Counter, *, dict_session: bool = False) -> Any:
    """The Starlette app on ``config``, whose driver counts its calls in ``counter``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from hostsessions.asgi import SessionMiddleware

    async def a(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    # (The session is typed by annotation, not with typing.cast: a cast is a function call
    # in the timed request that the peers' apps do not make.)
    async def b(request: Request) -> PlainTextResponse:
        session: AsyncSession = request.session  # type: ignore[assignment]
        n = await session.get("n", 0) + 1
        session.set("n", n)
        return PlainTextResponse(str(n))

    async def r(request: Request) -> PlainTextResponse:
        session: AsyncSession = request.session  # type: ignore[assignment]
        return PlainTextResponse(str(await session.get("n", 0)))

    async def b_dict(request: Request) -> PlainTextResponse:
        session = request.session
        n = session.get("n", 0) + 1
        session["n"] = n
        return PlainTextResponse(str(n))

    async def r_dict(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("n", 0)))

    routes = (
        [Route("/a", a), Route("/b", b_dict), Route("/r", r_dict)]
        if dict_session
        else [Route("/a", a), Route("/b", b), Route("/r", r)]
    )
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SessionMiddleware, config=config, dict_session=dict_session)],
    )
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


def make_asgi_app() -> Any:
    """Starlette + hostsessions, memory driver."""
    return _starlette("memory")


def make_asgi_fs_app() -> Any:
    """Starlette + hostsessions, filesystem driver."""
    return _starlette("fs")


def make_asgi_dict_app() -> Any:
    """Starlette + hostsessions' dict-style session (``request.session["n"]``), memory driver."""
    return _starlette("memory", dict_session=True)


# --------------------------------------------------------------------------------- WSGI


def _flask(kind: str) -> Any:
    config, counter = _config(kind)
    return flask_app(f"hostsessions_{kind}", config, counter)


def flask_app(name: str, config: SessionConfig, counter: Counter) -> Any:
    """The Flask app ``name``, its WSGI app wrapped in hostsessions on ``config``, whose
    driver counts its calls in ``counter``."""
    from flask import Flask, request

    from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

    app = Flask(name)

    def session() -> Session:
        return cast(Session, request.environ[ENVIRON_KEY])

    @app.get("/a")
    def a() -> str:
        return "ok"

    @app.get("/b")
    def b() -> str:
        n = session().get("n", 0) + 1
        session().set("n", n)
        return str(n)

    @app.get("/r")
    def r() -> str:
        return str(session().get("n", 0))

    app.wsgi_app = SessionMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]
    app.peer_counter = counter  # type: ignore[attr-defined]
    return app


def make_wsgi_app() -> Any:
    """Flask with its WSGI app wrapped in hostsessions, memory driver."""
    return _flask("memory")


def make_wsgi_fs_app() -> Any:
    """Flask with its WSGI app wrapped in hostsessions, filesystem driver."""
    return _flask("fs")
