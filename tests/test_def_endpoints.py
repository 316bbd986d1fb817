"""``def`` endpoints, which Starlette and Litestar run in a worker thread:
``get_sync_session(request)`` is a Session whose methods return values, on the same
session the middleware saves, through each framework's test client and uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, get, post
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient as LitestarTestClient
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hostsessions import AsyncSession, Session, SessionConfig, drivers
from hostsessions.asgi import SessionMiddleware, get_session, get_sync_session
from hostsessions.state import SessionState
from hostsessions.storage import async_store, sync_store
from hostsessions.testing import holds_no_session
from hostsessions.testing.server import serve_asgi
from hostsessions.threadsession import ThreadSession

from .helpers import CountingDriver, asgi_client


def starlette_app(driver: Any) -> Starlette:
    def add(request: StarletteRequest) -> JSONResponse:  # a def endpoint: a worker thread
        session = get_sync_session(request)
        item = request.path_params["item"]
        cart = session.update("cart", lambda cart: [*cart, item], default=[])
        return JSONResponse({"cart": cart, "has": session.has("cart"), "keys": session.keys()})

    def show(request: StarletteRequest) -> JSONResponse:
        session = get_sync_session(request)
        return JSONResponse({"cart": session.get("cart", []), "user": session.get("user")})

    def login(request: StarletteRequest) -> JSONResponse:
        session = get_sync_session(request)
        session.has("user")
        old = session.id
        session.regenerate()
        session.set("user", "ada")
        return JSONResponse({"old": old, "new": session.id})

    async def wrong(request: StarletteRequest) -> JSONResponse:
        get_sync_session(request)
        return JSONResponse("unreachable")

    app = Starlette(
        routes=[
            Route("/cart/{item}", add, methods=["POST"]),
            Route("/cart", show),
            Route("/login", login, methods=["POST"]),
            Route("/wrong", wrong),
        ]
    )
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=driver))
    return app


@pytest.fixture
def driver() -> CountingDriver:
    return CountingDriver()


@pytest.fixture(params=["testclient", "uvicorn"])
def client(request: pytest.FixtureRequest, driver: CountingDriver) -> Iterator[httpx.Client]:
    with asgi_client(starlette_app(driver), request.param) as client:
        yield client


def test_starlette_def_endpoints_get_values(client: httpx.Client, driver: CountingDriver) -> None:
    assert client.post("/cart/tea").json() == {"cart": ["tea"], "has": True, "keys": ["cart"]}
    driver.reset()
    assert client.post("/cart/mug").json()["cart"] == ["tea", "mug"]
    assert driver.calls == {"read": 1, "write": 1}
    ids = client.post("/login").json()
    assert ids["old"] is not None
    assert ids["new"] != ids["old"]
    assert holds_no_session(driver.inner.read(ids["old"]))
    assert client.get("/cart").json() == {"cart": ["tea", "mug"], "user": "ada"}


def test_get_sync_session_on_the_event_loop_says_what_to_use(driver: CountingDriver) -> None:
    with TestClient(starlette_app(driver)) as client, pytest.raises(RuntimeError, match="def"):
        client.get("/wrong")


def test_a_sync_session_on_the_event_loop_refuses_storage_before_any_call() -> None:
    # The first read and a plain save call the store directly (no program): on the loop's
    # own thread such a call would wait for the loop forever, so it is refused first.
    driver = CountingDriver()
    writer = Session(SessionState(None), lambda: sync_store(driver))
    writer.set("n", 1)
    writer.save()
    assert writer.id is not None
    driver.reset()
    waited: list[Any] = []

    def on_loop(function: Any) -> Any:
        waited.append(function)
        raise AssertionError("a storage call reached the event loop from its own thread")

    async def in_async_code() -> None:
        session = AsyncSession(SessionState(writer.id), lambda: async_store(driver))
        sync = ThreadSession(session, on_loop)
        with pytest.raises(RuntimeError, match="worker thread"):
            sync.get("n")
        sync.set("n", 2)
        with pytest.raises(RuntimeError, match="worker thread"):
            sync.save()
        assert session.state.dirty, "the change stays, for the middleware's save"

    asyncio.run(in_async_code())
    assert waited == []
    assert driver.calls == {}


def litestar_app() -> Litestar:
    @post("/visit", sync_to_thread=True)
    def visit(request: Request[Any, Any, Any]) -> dict[str, int]:
        session = get_sync_session(request)
        return {"visits": session.update("visits", lambda n: n + 1, default=0)}

    @get("/visits")
    async def visits(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"visits": await get_session(request).get("visits")}

    # Litestar builds its middleware for each route handler: one store object for all
    config = SessionConfig(driver=drivers.memory())
    return Litestar(
        route_handlers=[visit, visits],
        middleware=[DefineMiddleware(SessionMiddleware, config=config)],
    )


def test_litestar_sync_handlers_in_a_thread() -> None:
    with LitestarTestClient(app=litestar_app()) as client:
        assert [client.post("/visit").json()["visits"] for _ in range(3)] == [1, 2, 3]
        assert client.get("/visits").json() == {"visits": 3}
    with serve_asgi(litestar_app()) as url, httpx.Client(base_url=url) as client:
        assert [client.post("/visit").json()["visits"] for _ in range(2)] == [1, 2]


def test_quart_sync_views() -> None:
    import asyncio

    from quart import Quart
    from quart import request as quart_request

    app = Quart(__name__)
    app.asgi_app = SessionMiddleware(  # type: ignore[method-assign]
        app.asgi_app, SessionConfig(driver="memory")
    )

    @app.get("/count")
    def count() -> dict[str, int]:  # Quart runs it in a worker thread
        session = get_sync_session(quart_request)
        return {"visits": session.update("visits", lambda n: n + 1, default=0)}

    async def visits() -> list[int]:
        client = app.test_client()
        return [(await (await client.get("/count")).get_json())["visits"] for _ in range(3)]

    assert asyncio.run(visits()) == [1, 2, 3]
