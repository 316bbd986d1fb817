"""A storage error a view catches is the view's to answer: the middleware does not save the
same failed change again, so the view's response (here a 413) reaches the client. And a
value too large raises SessionTooLargeError whichever limit it hit first, the store's or
the codec's. Through real servers: uvicorn (ASGI) and a threaded WSGI server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from hostsessions import SessionConfig, SessionTooLargeError
from hostsessions.asgi import SessionMiddleware as AsgiMiddleware
from hostsessions.codec import MAX_INPUT_CHARS
from hostsessions.drivers import MemoryDriver
from hostsessions.testing.server import serve_asgi, serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiMiddleware

STORE_LIMIT = 1024 * 1024  # a 1 MiB store, like Firestore's or Azure's
BIG = "x" * (STORE_LIMIT + 10)  # over the store's limit, under the codec's
HUGE = "x" * (MAX_INPUT_CHARS + 10)  # over the codec's limit too


def _value(path: str) -> str:
    return HUGE if path.endswith("/huge") else BIG


async def asgi_route(session: Any, path: str) -> tuple[int, Any]:
    if path == "/open":
        session.set("cart", ["book"])
        return 200, "ok"
    try:
        if path.startswith("/save/"):
            session.set("upload", _value(path))
            await session.save()
        elif path.startswith("/update/"):
            value = _value(path)
            await session.update("upload", lambda _: value)
    except SessionTooLargeError as exc:
        return 413, {"store": exc.store, "unit": exc.unit}
    return 200, {"items": sorted(dict(await session.items()))}


def wsgi_route(session: Any, path: str) -> tuple[int, Any]:
    if path == "/open":
        session.set("cart", ["book"])
        return 200, "ok"
    try:
        if path.startswith("/save/"):
            session.set("upload", _value(path))
            session.save()
        elif path.startswith("/update/"):
            value = _value(path)
            session.update("upload", lambda _: value)
    except SessionTooLargeError as exc:
        return 413, {"store": exc.store, "unit": exc.unit}
    return 200, {"items": sorted(dict(session.items()))}


@contextmanager
def served(interface: str) -> Iterator[str]:
    config = SessionConfig(driver=MemoryDriver(max_payload_bytes=STORE_LIMIT))
    if interface == "asgi":

        async def app(scope: Any, receive: Any, send: Any) -> None:
            status, result = await asgi_route(scope["session"], scope["path"])
            start = {"type": "http.response.start", "status": status, "headers": []}
            await send(start)
            await send({"type": "http.response.body", "body": json.dumps(result).encode()})

        with serve_asgi(AsgiMiddleware(app, config)) as url:
            yield url
    else:

        def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            status, result = wsgi_route(environ[ENVIRON_KEY], environ["PATH_INFO"])
            start_response(f"{status} X", [("Content-Type", "application/json")])
            return [json.dumps(result).encode()]

        with serve_wsgi(WsgiMiddleware(wsgi, config)) as url:
            yield url


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
@pytest.mark.parametrize("call", ["save", "update"])
@pytest.mark.parametrize(
    ("size", "store", "unit"),
    [("big", "memory", "bytes"), ("huge", "session codec", "characters")],
)
def test_a_view_that_catches_a_too_large_error_answers_413(
    interface: str, call: str, size: str, store: str, unit: str
) -> None:
    with served(interface) as url:
        opened = httpx.get(f"{url}/open")
        cookie = {"cookie": f"hostsessions={opened.cookies['hostsessions']}"}
        response = httpx.get(f"{url}/{call}/{size}", headers=cookie, timeout=60)
        assert response.status_code == 413, response.text[:300]
        assert response.json() == {"store": store, "unit": unit}
        assert "set-cookie" not in response.headers
        after = httpx.get(f"{url}/dump", headers=cookie)
    assert after.json() == {"items": ["cart"]}, "the session is as it was before"


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_a_too_large_first_session_sets_no_cookie(interface: str) -> None:
    with served(interface) as url:
        response = httpx.get(f"{url}/save/big")
    assert response.status_code == 413
    assert "set-cookie" not in response.headers, "no cookie for a session never stored"
