"""The middleware end to end: real servers on 127.0.0.1, a real HTTP client that keeps
cookies, and the frameworks users wrap (Starlette/FastAPI, Flask)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from hostsessions import SessionConfig, drivers
from hostsessions.asgi import SessionMiddleware as AsgiSessionMiddleware
from hostsessions.asgi import get_session
from hostsessions.testing.server import serve_asgi, serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware
from hostsessions.wsgi import get_session as get_wsgi_session

from .helpers import CountingDriver


@pytest.fixture
def driver() -> CountingDriver:
    return CountingDriver(drivers.memory())


def config_for(driver: Any, **kwargs: Any) -> SessionConfig:
    return SessionConfig(driver=driver, cookie="sid", **kwargs)


# ---- a raw ASGI app and a raw WSGI app with the same routes ---------------------------


async def raw_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    session = scope["session"]
    path = scope["path"]
    if path == "/add":
        cart = await session.update("cart", lambda c: [*c, "book"], default=[])
        body = json.dumps(cart)
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part1", "more_body": True})
        session.set("streamed", True)  # changed after the response started
        await send({"type": "http.response.body", "body": b"part2"})
        return
    elif path == "/destroy":
        session.destroy()
        body = "bye"
    elif path == "/none":
        body = "untouched"
    else:
        body = json.dumps(dict(await session.items()))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def raw_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ[ENVIRON_KEY]
    path = environ["PATH_INFO"]
    if path == "/add":
        body = json.dumps(session.update("cart", lambda c: [*c, "book"], default=[]))
    elif path == "/destroy":
        session.destroy()
        body = "bye"
    elif path == "/none":
        body = "untouched"
    else:
        body = json.dumps(dict(session.items()))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


@pytest.fixture(params=["asgi-uvicorn", "wsgi-threaded"])
def server(request: pytest.FixtureRequest, driver: CountingDriver) -> Iterator[str]:
    if request.param == "asgi-uvicorn":
        with serve_asgi(AsgiSessionMiddleware(raw_asgi, config_for(driver))) as url:
            yield url
    else:
        with serve_wsgi(WsgiSessionMiddleware(raw_wsgi, config_for(driver))) as url:
            yield url


def test_cart_persists_across_requests_with_cookie(server: str, driver: CountingDriver) -> None:
    with httpx.Client(base_url=server) as client:
        assert client.get("/add").json() == ["book"]
        set_cookie = client.cookies.get("sid")
        assert set_cookie is not None
        assert len(set_cookie) == 43
        assert client.get("/add").json() == ["book", "book"]
        assert client.get("/dump").json() == {"cart": ["book", "book"]}


def test_set_cookie_attributes(server: str) -> None:
    response = httpx.get(f"{server}/add")
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Secure" not in header, "plain http to localhost is the one non-Secure case"
    assert "cookie" in response.headers["vary"].lower()


def test_untouched_request_sets_no_cookie_and_calls_no_store(
    server: str, driver: CountingDriver
) -> None:
    with httpx.Client(base_url=server) as client:
        client.get("/add")
        driver.reset()
        response = client.get("/none")
    assert "set-cookie" not in response.headers
    assert driver.calls == {}


def test_modified_request_makes_one_read_and_one_write(server: str, driver: CountingDriver) -> None:
    with httpx.Client(base_url=server) as client:
        client.get("/add")
        driver.reset()
        client.get("/add")
    assert driver.calls == {"read": 1, "write": 1}


def test_destroy_expires_cookie_and_next_request_is_fresh(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        client.get("/add")
        response = client.get("/destroy")
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/dump").json() == {}


def test_forged_cookie_is_not_adopted(server: str) -> None:
    forged = "A" * 43
    response = httpx.get(f"{server}/add", headers={"cookie": f"sid={forged}"})
    assert response.json() == ["book"], "the forged ID's data (none) must not be used"
    assert response.cookies["sid"] not in ("", forged)


def test_save_happens_before_the_client_sees_the_response(driver: CountingDriver) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"].set("n", 1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        assert driver.calls["write"] == 1, "the write must precede the response start"
        await send({"type": "http.response.body", "body": b"ok"})

    with serve_asgi(AsgiSessionMiddleware(app, config_for(driver))) as url:
        assert httpx.get(url).status_code == 200


def test_change_made_while_streaming_is_saved_at_the_end(driver: CountingDriver) -> None:
    with (
        serve_asgi(AsgiSessionMiddleware(raw_asgi, config_for(driver))) as url,
        httpx.Client(base_url=url) as client,
    ):
        client.get("/add")
        assert client.get("/stream").text == "part1part2"
        assert client.get("/dump").json() == {"cart": ["book"], "streamed": True}


def test_secure_cookie_off_localhost() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"].set("n", 1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve_asgi(AsgiSessionMiddleware(app, config_for(drivers.memory()))) as url:
        response = httpx.get(url, headers={"host": "shop.example.com"})
    assert "Secure" in response.headers["set-cookie"]


# ---- scopes other than http -------------------------------------------------------------


def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert "session" not in scope
        seen.append(scope["type"])
        message = await receive()
        await send({"type": message["type"] + ".complete"})

    middleware = AsgiSessionMiddleware(app, config_for(drivers.memory()))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert seen == ["lifespan"]
    assert sent == [{"type": "lifespan.startup.complete"}]


def test_websocket_scope_gets_the_session(driver: CountingDriver) -> None:
    import websockets.sync.client

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await raw_asgi(scope, receive, send)
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        cart = await scope["session"].get("cart", [])
        await send({"type": "websocket.send", "text": json.dumps(cart)})
        await send({"type": "websocket.close", "code": 1000})

    with serve_asgi(AsgiSessionMiddleware(app, config_for(driver))) as url:
        cookie = httpx.get(f"{url}/add").cookies["sid"]
        ws_url = url.replace("http://", "ws://") + "/ws"
        with websockets.sync.client.connect(
            ws_url, additional_headers={"Cookie": f"sid={cookie}"}
        ) as ws:
            assert json.loads(ws.recv()) == ["book"]


# ---- frameworks ----------------------------------------------------------------------


def test_starlette_and_fastapi_read_request_session(driver: CountingDriver) -> None:
    app = FastAPI()

    @app.post("/cart/{item}")
    async def add(item: str, request: Request) -> list[str]:
        return await get_session(request).update("cart", lambda c: [*c, item], default=[])  # type: ignore[no-any-return]

    @app.get("/cart")
    async def show(request: Request) -> list[str]:
        return await get_session(request).get("cart", [])  # type: ignore[no-any-return]

    app.add_middleware(AsgiSessionMiddleware, config=config_for(driver))
    with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
        client.post("/cart/tea")
        client.post("/cart/mug")
        assert client.get("/cart").json() == ["tea", "mug"]


def test_flask_app_wrapped_at_wsgi_level(driver: CountingDriver) -> None:
    from flask import Flask, request

    app = Flask(__name__)

    @app.post("/login")
    def login() -> str:
        session = get_wsgi_session(request)
        session.regenerate()
        session.set("user", "ada")
        return "ok"

    @app.get("/me")
    def me() -> str:
        return str(request.environ[ENVIRON_KEY].get("user", "nobody"))

    app.wsgi_app = WsgiSessionMiddleware(app.wsgi_app, config_for(driver))  # type: ignore[method-assign]
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/me").text == "nobody"
        client.post("/login")
        first_id = client.cookies["sid"]
        assert client.get("/me").text == "ada"
        client.post("/login")
        assert client.cookies["sid"] != first_id
        assert client.get("/me").text == "ada"


def test_waitress_serves_the_wsgi_middleware(driver: CountingDriver) -> None:
    import threading

    from waitress.server import create_server

    server = create_server(
        WsgiSessionMiddleware(raw_wsgi, config_for(driver)), host="127.0.0.1", port=0
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}"
        with httpx.Client(base_url=url) as client:
            client.get("/add")
            assert client.get("/add").json() == ["book", "book"]
    finally:
        server.close()
        thread.join(timeout=10)


def test_lifespan_shutdown_closes_the_async_driver() -> None:
    closed: list[str] = []

    class ClosableDriver:
        def __init__(self) -> None:
            self.inner = drivers.memory()

        async def read(self, key: str) -> Any:
            return self.inner.read(key)

        async def write(self, key: str, payload: str, **kwargs: Any) -> str:
            return self.inner.write(key, payload, **kwargs)  # type: ignore[no-any-return]

        async def delete(self, key: str, **kwargs: Any) -> None:
            self.inner.delete(key, **kwargs)

        async def aclose(self) -> None:
            closed.append("aclose")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return

    middleware = AsgiSessionMiddleware(app, config_for(ClosableDriver()))
    middleware.manager.async_store()  # as the first request would
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            assert closed == ["aclose"], "the driver must be closed before shutdown completes"

    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert closed == ["aclose"]


def test_get_session_names_the_missing_middleware() -> None:
    with pytest.raises(LookupError, match="SessionMiddleware"):
        get_session({"type": "http"})
    with pytest.raises(LookupError, match="SessionMiddleware"):
        get_wsgi_session({})


@pytest.mark.parametrize("fsync", [False, True])
def test_filesystem_calls_run_on_the_loop_unless_they_flush_to_disk(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    """Reads always run on the event loop; writes too, unless they fsync (or must wait for
    another writer's lock, see test_driver_fs.py): then on the drivers' worker threads."""
    import threading

    from hostsessions.drivers import fs_driver
    from hostsessions.storage import async_store

    driver = drivers.fs(base=tmp_path, fsync=fsync)
    seen: dict[str, str] = {}
    read, replace = driver.read, fs_driver._replace

    def traced_read(key: str) -> Any:
        seen["read"] = threading.current_thread().name
        return read(key)

    def traced_replace(source: str, target: str) -> bool:
        seen["write"] = threading.current_thread().name
        return replace(source, target)

    driver.read = traced_read  # type: ignore[method-assign]
    monkeypatch.setattr(fs_driver, "_replace", traced_replace)
    store = async_store(driver)

    async def scenario() -> None:
        await store.write("k" * 43, "[]", expires_at=None, expected_version=None)
        await store.read("k" * 43)

    asyncio.run(scenario())
    assert seen["read"] == "MainThread"
    if fsync:
        assert seen["write"].startswith("hostsessions-driver")
    else:
        assert seen["write"] == "MainThread"
