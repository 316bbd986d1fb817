"""The dict-style session (``SessionMiddleware(..., dict_session=True)``): code written for
Starlette's ``request.session`` dict, on the core's state machine, through Starlette's
TestClient and a real uvicorn server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hostsessions import (
    SessionConfig,
    SessionSerializationError,
    SessionStorageError,
    SessionTooLargeError,
    codec,
)
from hostsessions.asgi import SessionMiddleware, get_dict_session, get_session
from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.mapping import SessionMapping
from hostsessions.testing import holds_no_session
from hostsessions.testing.server import (
    check_concurrent_keys_at,
    check_concurrent_updates_at,
    check_no_resurrection_at,
    serve_asgi,
)

from .helpers import CountingDriver, asgi_client


async def dump(request: Request) -> Response:
    session = request.session
    return JSONResponse({"id": session.id, "items": dict(session.items()), "len": len(session)})


async def dict_ops(request: Request) -> Response:
    session = request.session
    session["user"] = "ada"
    session.update({"theme": "dark", "lang": "en"})
    session.setdefault("cart", []).append("tea")
    session.setdefault("cart", []).append("mug")
    popped = session.pop("lang")
    missing = session.pop("nothing", "default")
    return JSONResponse(
        {
            "popped": popped,
            "missing": missing,
            "in": ["user" in session, "lang" in session, 3 in session],
            "iter": sorted(session),
            "get": [session.get("theme"), session.get("absent"), session.get("absent", 0)],
            "item": session["user"],
        }
    )


async def clear(request: Request) -> Response:
    request.session.clear()
    return PlainTextResponse("ok")


async def missing_item(request: Request) -> Response:
    try:
        request.session["absent"]
    except KeyError:
        return PlainTextResponse("KeyError")
    return PlainTextResponse("no error")


async def unstorable(request: Request) -> Response:
    try:
        request.session["when"] = object()
    except SessionSerializationError as error:
        return PlainTextResponse(str(error), status_code=422)
    return PlainTextResponse("stored")


async def cart_in_place(request: Request) -> Response:
    cart = request.session.get("cart")
    cart.append("spoon")  # changed in place, never assigned back
    return PlainTextResponse("ok")


async def in_place_while_streaming(request: Request) -> Response:
    cart = request.session.get("cart")

    async def body() -> AsyncIterator[bytes]:
        yield b"first "
        cart.append("fork")  # changed in place after the response started
        yield b"last"

    return StreamingResponse(body())


async def set_while_streaming(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"first "
        request.session["streamed"] = True  # set after the response started
        yield b"last"

    return StreamingResponse(body())


async def nothing(request: Request) -> Response:
    return PlainTextResponse("ok")


async def login(request: Request) -> Response:
    session = request.session
    old = session.id
    session.regenerate()
    session.set("user", "ada", ttl=60)
    return JSONResponse({"old": old, "new": session.id})


async def logout(request: Request) -> Response:
    request.session.destroy()
    return PlainTextResponse("bye")


ROUTES = [
    Route("/dump", dump),
    Route("/ops", dict_ops),
    Route("/clear", clear),
    Route("/missing", missing_item),
    Route("/unstorable", unstorable),
    Route("/cart-in-place", cart_in_place),
    Route("/in-place-while-streaming", in_place_while_streaming),
    Route("/set-while-streaming", set_while_streaming),
    Route("/nothing", nothing),
    Route("/login", login),
    Route("/logout", logout),
]


def dict_app(driver: Any, **kwargs: Any) -> Starlette:
    return Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(
                SessionMiddleware,
                config=SessionConfig(driver=driver),
                dict_session=True,
                **kwargs,
            )
        ],
    )


@pytest.fixture
def driver() -> CountingDriver:
    return CountingDriver()


@pytest.fixture(params=["testclient", "uvicorn"])
def client(request: pytest.FixtureRequest, driver: CountingDriver) -> Iterator[httpx.Client]:
    with asgi_client(dict_app(driver), request.param) as client:
        yield client


def stored(driver: CountingDriver, session_id: str) -> dict[str, Any]:
    record = driver.inner.read(session_id)
    assert record is not None
    return {key: entry["data"] for key, entry in codec.parse(record.payload).items()}


def test_dict_operations_work_as_on_starlettes_session(
    client: httpx.Client, driver: CountingDriver
) -> None:
    result = client.get("/ops").json()
    assert result == {
        "popped": "en",
        "missing": "default",
        "in": [True, False, False],
        "iter": ["cart", "theme", "user"],
        "get": ["dark", None, 0],
        "item": "ada",
    }
    state = client.get("/dump").json()
    assert state["items"] == {"user": "ada", "theme": "dark", "cart": ["tea", "mug"]}
    assert state["len"] == 3
    assert stored(driver, state["id"]) == state["items"]
    assert client.get("/missing").text == "KeyError"


def test_values_changed_in_place_are_saved(client: httpx.Client, driver: CountingDriver) -> None:
    client.get("/ops")
    client.get("/cart-in-place")
    assert client.get("/dump").json()["items"]["cart"] == ["tea", "mug", "spoon"]


def test_changes_made_while_the_response_streams_are_saved(
    client: httpx.Client, driver: CountingDriver
) -> None:
    client.get("/ops")
    assert client.get("/in-place-while-streaming").text == "first last"
    assert client.get("/dump").json()["items"]["cart"] == ["tea", "mug", "fork"]
    assert client.get("/set-while-streaming").text == "first last"
    assert client.get("/dump").json()["items"]["streamed"] is True


def test_clear_empties_the_session(client: httpx.Client) -> None:
    client.get("/ops")
    client.get("/clear")
    assert client.get("/dump").json()["items"] == {}


def test_unstorable_value_fails_at_the_assignment_naming_the_key(client: httpx.Client) -> None:
    response = client.get("/unstorable")
    assert response.status_code == 422
    assert "'when'" in response.text
    assert "object" in response.text


def test_one_read_with_a_cookie_none_without(client: httpx.Client, driver: CountingDriver) -> None:
    client.get("/nothing")
    assert driver.calls == {}, "no cookie: nothing to load"
    assert "set-cookie" not in client.get("/nothing").headers
    client.get("/ops")
    driver.reset()
    response = client.get("/nothing")
    assert driver.calls == {"read": 1}, "loaded once before the endpoint, never written"
    assert "set-cookie" not in response.headers
    driver.reset()
    client.get("/ops")
    assert driver.calls == {"read": 1, "write": 1}


class BlockingCountingDriver(CountingDriver):
    """A store whose calls may block (as a network client's do): the core runs them in
    its worker threads, not at once on the event loop."""

    blocking = True


def test_a_store_that_blocks_is_read_once_before_the_endpoint_too() -> None:
    driver = BlockingCountingDriver()
    with asgi_client(dict_app(driver), "testclient") as client:
        client.get("/ops")
        driver.reset()
        assert client.get("/dump").json()["items"] == {
            "user": "ada",
            "theme": "dark",
            "cart": ["tea", "mug"],
        }
        assert driver.calls == {"read": 1}


def test_regenerate_and_destroy(client: httpx.Client, driver: CountingDriver) -> None:
    client.get("/ops")
    ids = client.get("/login").json()
    assert ids["old"] != ids["new"]
    assert holds_no_session(driver.inner.read(ids["old"]))
    assert client.get("/dump").json()["id"] == ids["new"]
    client.get("/logout")
    assert holds_no_session(driver.inner.read(ids["new"]))
    assert client.get("/dump").json()["items"] == {}


def test_the_async_session_and_the_dict_share_one_state(driver: CountingDriver) -> None:
    async def both(request: Request) -> Response:
        request.session["a"] = 1
        session = get_session(request)
        session.set("b", 2)
        assert get_dict_session(request) is request.session
        return JSONResponse({"a": await session.get("a"), "b": request.session["b"]})

    app = Starlette(routes=[Route("/both", both), Route("/dump", dump)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=driver), dict_session=True)
    with TestClient(app) as client:
        assert client.get("/both").json() == {"a": 1, "b": 2}
        assert client.get("/dump").json()["items"] == {"a": 1, "b": 2}
    assert driver.calls["write"] == 1


def test_get_dict_session_without_the_option_explains_it() -> None:
    async def view(request: Request) -> Response:
        get_dict_session(request)
        return PlainTextResponse("unreachable")

    app = Starlette(routes=[Route("/", view)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver="memory"))
    with TestClient(app) as client, pytest.raises(LookupError, match="dict_session=True"):
        client.get("/")


# ---- beside Starlette's own SessionMiddleware ------------------------------------------


async def beside(request: Request) -> Response:
    hosted = get_session(request)
    request.session["signed"] = request.session.get("signed", 0) + 1  # Starlette's cookie
    n = await hosted.update("n", lambda n: n + 1, default=0)
    return JSONResponse({"signed": request.session["signed"], "hosted": n})


@pytest.mark.parametrize("hostsessions_outside", [True, False])
def test_sits_beside_starlettes_session_middleware_with_zero_config(
    hostsessions_outside: bool,
) -> None:
    ours = Middleware(SessionMiddleware, config=SessionConfig(driver="memory"))
    theirs = Middleware(StarletteSessionMiddleware, secret_key="not-so-secret")
    middleware = [ours, theirs] if hostsessions_outside else [theirs, ours]
    app = Starlette(routes=[Route("/", beside)], middleware=middleware)
    with TestClient(app) as client:
        assert client.get("/").json() == {"signed": 1, "hosted": 1}
        assert client.get("/").json() == {"signed": 2, "hosted": 2}
        assert {"hostsessions", "session"} <= set(client.cookies.keys())


def test_scope_key_names_where_the_session_goes() -> None:
    async def view(request: Request) -> Response:
        hosted = request.scope["hs"]
        hosted["visits"] = hosted.get("visits", 0) + 1
        request.session["signed"] = True
        return JSONResponse({"visits": hosted["visits"], "signed": request.session["signed"]})

    app = Starlette(
        routes=[Route("/", view)],
        middleware=[
            Middleware(StarletteSessionMiddleware, secret_key="not-so-secret"),
            Middleware(
                SessionMiddleware,
                config=SessionConfig(driver="memory"),
                scope_key="hs",
                dict_session=True,
            ),
        ],
    )
    with TestClient(app) as client:
        assert client.get("/").json() == {"visits": 1, "signed": True}
        assert client.get("/").json() == {"visits": 2, "signed": True}


@pytest.mark.parametrize("scope_key", ["", "hostsessions.session"])
def test_scope_key_must_be_a_usable_name(scope_key: str) -> None:
    with pytest.raises(ValueError, match="scope_key"):
        SessionMiddleware(nothing, scope_key=scope_key)  # type: ignore[arg-type]


# ---- the core's concurrency checks, through the dict-style session ------------------


def concurrency_dict_app(config: SessionConfig) -> Starlette:
    """The routes of hostsessions.testing.server's checks, written against the dict."""
    import asyncio

    async def set_key(request: Request) -> Response:
        request.session[request.path_params["key"]] = True
        return JSONResponse("ok")

    async def incr(request: Request) -> Response:
        # an atomic read-modify-write needs storage mid-request: the AsyncSession beside it
        return JSONResponse(await get_session(request).update("n", lambda n: n + 1, default=0))

    async def slow_set(request: Request) -> Response:
        request.session.get("anything")
        await asyncio.sleep(float(request.query_params.get("delay", "0.5")))
        request.session["late"] = True
        return JSONResponse("ok")

    async def destroy(request: Request) -> Response:
        request.session.destroy()
        return JSONResponse("ok")

    async def dump_all(request: Request) -> Response:
        session: SessionMapping = request.session  # type: ignore[assignment]
        return Response(
            json.dumps({"id": session.id, "items": dict(session.items())}),
            media_type="application/json",
        )

    return Starlette(
        routes=[
            Route("/set/{key}", set_key),
            Route("/incr", incr),
            Route("/slow-set", slow_set),
            Route("/destroy", destroy),
            Route("/dump", dump_all),
        ],
        middleware=[Middleware(SessionMiddleware, config=config, dict_session=True)],
    )


@pytest.fixture(params=["memory", "fs"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> SessionConfig:
    if request.param == "fs":
        return SessionConfig(driver="fs", options={"base": str(tmp_path / "sessions")})
    return SessionConfig(driver="memory")


def test_fifty_concurrent_dict_writes_of_own_keys_keep_all_keys(config: SessionConfig) -> None:
    with serve_asgi(concurrency_dict_app(config)) as url:
        check_concurrent_keys_at(url, config.cookie.name, n=50)


def test_fifty_concurrent_updates_beside_the_dict_never_lose_an_increment(
    config: SessionConfig,
) -> None:
    with serve_asgi(concurrency_dict_app(config)) as url:
        check_concurrent_updates_at(url, config.cookie.name, n=50)


def test_late_dict_save_after_destroy_does_not_resurrect(config: SessionConfig) -> None:
    with serve_asgi(concurrency_dict_app(config)) as url:
        check_no_resurrection_at(url, config.cookie.name)


# ---- errors: the library's own, never a lost or half-written session -------------------


class DownDriver(CountingDriver):
    """A store that answers nothing: every call fails as a real outage would."""

    def read(self, key: str) -> Any:
        raise SessionStorageError("the store is unreachable")

    def write(self, key: str, payload: str, **kwargs: Any) -> str:
        raise SessionStorageError("the store is unreachable")


def test_a_store_outage_is_a_clear_error_before_the_endpoint(driver: CountingDriver) -> None:
    with TestClient(dict_app(driver)) as client:
        client.get("/ops")
        cookie = client.cookies["hostsessions"]
    down = DownDriver(driver.inner)
    with (
        TestClient(dict_app(down), cookies={"hostsessions": cookie}) as client,
        pytest.raises(SessionStorageError, match="unreachable"),
    ):
        client.get("/dump")
    # nothing was half-written: the stored session is as the last good request left it
    assert stored(driver, cookie)["user"] == "ada"


def test_an_oversized_session_fails_with_the_stores_limit_and_writes_nothing() -> None:
    limited = CountingDriver(MemoryDriver(max_payload_bytes=200))

    async def big(request: Request) -> Response:
        request.session["blob"] = "x" * 500
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/big", big)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=limited), dict_session=True)
    with TestClient(app) as client, pytest.raises(SessionTooLargeError) as caught:
        client.get("/big")
    assert (caught.value.store, caught.value.limit) == ("memory", 200)
    assert caught.value.size > 500
    assert not limited.inner._records, "nothing was written"


def test_websockets_get_the_dict_session_and_save_it(driver: CountingDriver) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def chat(websocket: WebSocket) -> None:
        websocket.session["before_accept"] = True
        await websocket.accept()
        name = await websocket.receive_text()
        websocket.session["name"] = name  # after accept: saved when the socket closes
        await websocket.send_text(f"hello {name}, you are {websocket.session['user']}")
        await websocket.close()

    app = Starlette(routes=[*ROUTES, WebSocketRoute("/chat", chat)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver=driver), dict_session=True)
    with TestClient(app) as client:
        client.get("/ops")
        with client.websocket_connect("/chat") as websocket:
            websocket.send_text("ada's phone")
            assert websocket.receive_text() == "hello ada's phone, you are ada"
        items = client.get("/dump").json()["items"]
    assert items["before_accept"] is True
    assert items["name"] == "ada's phone"
