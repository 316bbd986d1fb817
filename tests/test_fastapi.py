"""FastAPI: the typed dependencies (``SessionDep`` for ``async def``, ``SyncSessionDep`` for
``def`` endpoints, ``DictSessionDep``) through FastAPI's TestClient and uvicorn, and the
core's three concurrency checks through the dependency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from hostsessions import AsyncSession, Session, SessionConfig, SessionKey, SessionStorageError
from hostsessions.asgi import SessionMiddleware
from hostsessions.asgi import get_session as core_get_session
from hostsessions.fastapi import DictSessionDep, SessionDep, SyncSessionDep, get_session
from hostsessions.testing import holds_no_session
from hostsessions.testing.server import (
    check_concurrent_keys_at,
    check_concurrent_updates_at,
    check_no_resurrection_at,
    serve_asgi,
)

from .helpers import CountingDriver, asgi_client

CART = SessionKey("cart", list[str])


def shop_app(driver: Any, *, dict_session: bool = False) -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        SessionMiddleware, config=SessionConfig(driver=driver), dict_session=dict_session
    )

    @app.post("/cart/{item}")
    async def add(item: str, session: SessionDep) -> list[str]:
        return await session.update(CART, lambda cart: [*(cart or []), item])

    @app.get("/cart")
    async def cart(session: SessionDep) -> list[str]:
        return await session.get(CART, [])

    @app.post("/sync/cart/{item}")
    def add_sync(item: str, session: SyncSessionDep) -> dict[str, Any]:
        before = session.get(CART, [])
        session.set(CART, [*before, item])
        return {"before": before, "has": session.has(CART), "keys": session.keys()}

    @app.get("/sync/cart")
    def cart_sync(session: SyncSessionDep) -> list[str]:
        return session.get(CART, [])

    @app.post("/sync/visits")
    def visits(session: SyncSessionDep) -> int:
        return session.update("visits", lambda n: n + 1, default=0)

    @app.post("/sync/login")
    def login(session: SyncSessionDep) -> dict[str, str | None]:
        session.has("user")  # the ID is known once the session was read
        old = session.id
        session.regenerate()
        session.set("user", "ada")
        return {"old": old, "new": session.id}

    @app.post("/sync/logout")
    def logout(session: SyncSessionDep) -> str:
        session.destroy()
        return "bye"

    @app.get("/plain-depends")
    async def plain(session: Annotated[AsyncSession, Depends(get_session)]) -> str | None:
        return session.id

    @app.get("/wrong-flavour")
    async def wrong(session: SyncSessionDep) -> Any:
        return session.get(CART)

    @app.get("/dict")
    def as_dict(session: DictSessionDep) -> dict[str, Any]:
        session["seen"] = session.get("seen", 0) + 1
        return dict(session)

    return app


@pytest.fixture
def driver() -> CountingDriver:
    return CountingDriver()


@pytest.fixture(params=["testclient", "uvicorn"])
def client(request: pytest.FixtureRequest, driver: CountingDriver) -> Iterator[httpx.Client]:
    with asgi_client(shop_app(driver), request.param) as client:
        yield client


def test_async_dependency_keeps_the_cart(client: httpx.Client) -> None:
    assert client.post("/cart/tea").json() == ["tea"]
    assert client.post("/cart/mug").json() == ["tea", "mug"]
    assert client.get("/cart").json() == ["tea", "mug"]


def test_def_endpoint_gets_values_not_coroutines(client: httpx.Client) -> None:
    assert client.post("/sync/cart/tea").json() == {"before": [], "has": True, "keys": ["cart"]}
    assert client.post("/sync/cart/mug").json()["before"] == ["tea"]
    assert client.get("/sync/cart").json() == ["tea", "mug"]
    assert client.get("/cart").json() == ["tea", "mug"], "one session for both flavours"
    assert [client.post("/sync/visits").json() for _ in range(3)] == [1, 2, 3]


def test_def_endpoint_regenerates_and_destroys(
    client: httpx.Client, driver: CountingDriver
) -> None:
    client.post("/sync/cart/tea")
    ids = client.post("/sync/login").json()
    assert ids["old"] is not None
    assert ids["new"] != ids["old"]
    assert holds_no_session(driver.inner.read(ids["old"]))
    assert client.get("/sync/cart").json() == ["tea"]
    client.post("/sync/logout")
    assert holds_no_session(driver.inner.read(ids["new"]))
    assert client.get("/sync/cart").json() == []


def test_def_endpoint_makes_one_read_and_one_write(
    client: httpx.Client, driver: CountingDriver
) -> None:
    client.post("/sync/cart/tea")
    driver.reset()
    client.post("/sync/cart/mug")
    assert driver.calls == {"read": 1, "write": 1}


def test_plain_depends_on_get_session_is_not_a_422(client: httpx.Client) -> None:
    response = client.get("/plain-depends")
    assert response.status_code == 200
    assert response.json() is None  # no session yet


def test_the_sync_session_in_an_async_endpoint_says_what_to_use(driver: CountingDriver) -> None:
    with TestClient(shop_app(driver)) as client:
        client.post("/cart/tea")
        with pytest.raises(RuntimeError, match="SessionDep"):
            client.get("/wrong-flavour")


def test_dict_dependency(driver: CountingDriver) -> None:
    with TestClient(shop_app(driver, dict_session=True)) as client:
        assert client.get("/dict").json() == {"seen": 1}
        assert client.get("/dict").json() == {"seen": 2}


def test_a_store_outage_in_a_def_endpoint_is_a_clear_error() -> None:
    class DownDriver(CountingDriver):
        def read(self, key: str) -> Any:
            raise SessionStorageError("the store is down")

    app = shop_app(DownDriver())

    @app.exception_handler(SessionStorageError)
    async def outage(request: Any, error: SessionStorageError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=503)

    with TestClient(app) as client:
        assert client.post("/sync/cart/tea").status_code == 200  # new session: no read
        response = client.get("/sync/cart")
    assert response.status_code == 503
    assert response.json() == {"error": "the store is down"}


# ---- the core's concurrency checks, through the FastAPI dependencies -----------------


def concurrency_app(config: SessionConfig, flavour: str) -> FastAPI:
    import asyncio
    import time

    app = FastAPI()
    app.add_middleware(SessionMiddleware, config=config)

    if flavour == "async":

        @app.get("/set/{key}")
        async def set_key(key: str, session: SessionDep) -> str:
            session.set(key, True)
            return "ok"

        @app.get("/incr")
        async def incr(session: SessionDep) -> int:
            return await session.update("n", lambda n: n + 1, default=0)

        @app.get("/slow-set")
        async def slow_set(session: SessionDep, delay: float = 0.5) -> str:
            await session.get("anything")
            await asyncio.sleep(delay)
            session.set("late", True)
            return "ok"

        @app.get("/destroy")
        async def destroy(session: SessionDep) -> str:
            session.destroy()
            return "ok"

        @app.get("/dump")
        async def dump(session: SessionDep) -> dict[str, Any]:
            items = dict(await session.items())  # read first: then the ID is known
            return {"id": session.id, "items": items}

    else:

        @app.get("/set/{key}")
        def set_key_sync(key: str, session: SyncSessionDep) -> str:
            session.set(key, True)
            return "ok"

        @app.get("/incr")
        def incr_sync(session: SyncSessionDep) -> int:
            return session.update("n", lambda n: n + 1, default=0)

        @app.get("/slow-set")
        def slow_set_sync(session: SyncSessionDep, delay: float = 0.5) -> str:
            session.get("anything")
            time.sleep(delay)
            session.set("late", True)
            return "ok"

        @app.get("/destroy")
        def destroy_sync(session: SyncSessionDep) -> str:
            session.destroy()
            return "ok"

        @app.get("/dump")
        def dump_sync(session: SyncSessionDep) -> dict[str, Any]:
            items = dict(session.items())
            return {"id": session.id, "items": items}

    return app


@pytest.fixture(params=["memory", "fs"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> SessionConfig:
    if request.param == "fs":
        return SessionConfig(driver="fs", options={"base": str(tmp_path / "sessions")})
    return SessionConfig(driver="memory")


FLAVOURS = pytest.mark.parametrize("flavour", ["async", "sync"])


@FLAVOURS
def test_fifty_concurrent_requests_setting_own_keys_keep_all_keys(
    config: SessionConfig, flavour: str
) -> None:
    with serve_asgi(concurrency_app(config, flavour)) as url:
        check_concurrent_keys_at(url, config.cookie.name, n=50)


@FLAVOURS
def test_fifty_concurrent_updates_never_lose_an_increment(
    config: SessionConfig, flavour: str
) -> None:
    with serve_asgi(concurrency_app(config, flavour)) as url:
        check_concurrent_updates_at(url, config.cookie.name, n=50)


@FLAVOURS
def test_late_save_after_destroy_does_not_resurrect(config: SessionConfig, flavour: str) -> None:
    with serve_asgi(concurrency_app(config, flavour)) as url:
        check_no_resurrection_at(url, config.cookie.name)


def test_session_types_are_what_the_dependencies_say(driver: CountingDriver) -> None:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=driver))

    @app.get("/types")
    def types(sync: SyncSessionDep) -> list[str]:
        return [type(sync).__name__, str(isinstance(sync, Session))]

    with TestClient(app) as client:
        assert client.get("/types").json() == ["ThreadSession", "True"]


def test_depends_on_the_core_get_session_as_the_issue_wrote_it(driver: CountingDriver) -> None:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=driver))

    @app.get("/annotated")
    async def annotated(session: Annotated[AsyncSession, Depends(core_get_session)]) -> int:
        return await session.update("n", lambda n: n + 1, default=0)

    @app.get("/default")
    async def default(session: AsyncSession = Depends(core_get_session)) -> int:  # noqa: B008
        return await session.update("n", lambda n: n + 1, default=0)

    with TestClient(app) as client:
        assert [client.get("/annotated").json(), client.get("/default").json()] == [1, 2]
    for path in ("/annotated", "/default"):
        assert "parameters" not in app.openapi()["paths"][path]["get"], "no query parameter"
