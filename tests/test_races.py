"""Work racing regenerate() (a login in another tab) or destroy() (a logout) is kept under
the new ID or reported, never answered 200 and dropped; a racing response never expires
or replaces the cookie a newer response set. Through real servers: uvicorn on the
filesystem store, a threaded WSGI server on the memory store (docs/concurrency.md)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostsessions import SessionConfig, SessionGoneError, drivers
from hostsessions.asgi import SessionMiddleware as AsgiMiddleware
from hostsessions.testing.server import serve_asgi, serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiMiddleware

COOKIE = "sid"


class Gate:
    """Makes a race happen in one order every time: the slow request stops after reading
    its session (``read`` is set) until the test has run the racer and sets ``go``."""

    def __init__(self) -> None:
        self.read = threading.Event()
        self.go = threading.Event()

    def reset(self) -> None:
        self.read.clear()
        self.go.clear()

    def pause(self) -> None:
        self.read.set()
        assert self.go.wait(30), "the test never let the slow request go on"


GATE = Gate()


def _increment(n: int) -> int:
    return n + 1


async def asgi_route(session: Any, path: str) -> tuple[int, Any]:
    if path == "/open":
        session.set("cart", ["book"])
        return 200, "ok"
    if path == "/login":
        await session.regenerate()
        session.set("user", "ada")
        return 200, "ok"
    if path == "/slow-login":  # reads, checks a password a while, then logs in
        await session.get("cart")
        await asyncio.to_thread(GATE.pause)
        await session.regenerate()
        session.set("user", "ada")
        return 200, "ok"
    if path == "/logout":
        session.destroy()
        return 200, "ok"
    if path == "/slow-set":  # reads, works a while, then changes the session
        await session.get("cart")
        await asyncio.to_thread(GATE.pause)
        session.set("late", True)
        return 200, "ok"
    if path == "/set-only":  # never reads: a write-only request
        session.set("seen", True)
        return 200, "ok"
    if path == "/slow-incr":
        await session.get("cart")
        await asyncio.to_thread(GATE.pause)
        try:
            return 200, await session.update("n", _increment, default=0)
        except SessionGoneError:
            return 409, "gone"
    return 200, {"id": session.id, "items": dict(await session.items())}


def wsgi_route(session: Any, path: str) -> tuple[int, Any]:
    if path == "/open":
        session.set("cart", ["book"])
        return 200, "ok"
    if path == "/login":
        session.regenerate()
        session.set("user", "ada")
        return 200, "ok"
    if path == "/slow-login":
        session.get("cart")
        GATE.pause()
        session.regenerate()
        session.set("user", "ada")
        return 200, "ok"
    if path == "/logout":
        session.destroy()
        return 200, "ok"
    if path == "/slow-set":
        session.get("cart")
        GATE.pause()
        session.set("late", True)
        return 200, "ok"
    if path == "/set-only":
        session.set("seen", True)
        return 200, "ok"
    if path == "/slow-incr":
        session.get("cart")
        GATE.pause()
        try:
            return 200, session.update("n", _increment, default=0)
        except SessionGoneError:
            return 409, "gone"
    return 200, {"id": session.id, "items": dict(session.items())}


def asgi_app(config: SessionConfig) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        status, result = await asgi_route(scope["session"], scope["path"])
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(result).encode()})

    return AsgiMiddleware(app, config)


def wsgi_app(config: SessionConfig) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status, result = wsgi_route(environ[ENVIRON_KEY], environ["PATH_INFO"])
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    return WsgiMiddleware(app, config)


@contextmanager
def served(interface: str, tmp_path: Path) -> Iterator[str]:
    if interface == "asgi":
        config = SessionConfig(driver=drivers.fs(base=tmp_path / "sessions"), cookie=COOKIE)
        with serve_asgi(asgi_app(config)) as url:
            yield url
    else:
        config = SessionConfig(driver=drivers.memory(), cookie=COOKIE)
        with serve_wsgi(wsgi_app(config)) as url:
            yield url


INTERFACES = ["asgi", "wsgi"]  # asgi: uvicorn + fs; wsgi: threaded server + memory


def _cookie(session_id: str) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={session_id}"}


def _open(url: str) -> str:
    response = httpx.get(f"{url}/open")
    assert response.status_code == 200
    return response.cookies[COOKIE]


def _dump(url: str, session_id: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/dump", headers=_cookie(session_id))
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _new_cookie(response: httpx.Response) -> str | None:
    header = response.headers.get("set-cookie")
    return None if header is None else header.split(";", 1)[0].split("=", 1)[1]


async def _race(url: str, slow_path: str, racer_path: str, session_id: str) -> tuple[Any, Any]:
    """Start the slow request, wait until it has read its session, run the racer to the
    end, then let the slow request finish; return both responses."""
    GATE.reset()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        slow = asyncio.create_task(client.get(slow_path, headers=_cookie(session_id)))
        assert await asyncio.to_thread(GATE.read.wait, 30), "the slow request never read"
        racer = await client.get(racer_path, headers=_cookie(session_id))
        GATE.go.set()
        return await slow, racer


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_change_racing_a_login_is_reported_and_leaves_the_new_cookie_alone(
    interface: str, tmp_path: Path
) -> None:
    with served(interface, tmp_path) as url:
        old_id = _open(url)
        slow, login = asyncio.run(_race(url, "/slow-set", "/login", old_id))
        new_id = _new_cookie(login)
        assert login.status_code == 200
        assert new_id not in (None, old_id)
        assert slow.status_code == 409, "the late change was not saved, and says so"
        assert "set-cookie" not in slow.headers, "it must not expire or replace the new cookie"
        after = _dump(url, new_id)
    assert after["items"] == {"cart": ["book"], "user": "ada"}


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_write_only_request_after_a_login_does_not_move_the_browser(
    interface: str, tmp_path: Path
) -> None:
    with served(interface, tmp_path) as url:
        old_id = _open(url)
        login = httpx.get(f"{url}/login", headers=_cookie(old_id))
        new_id = _new_cookie(login)
        assert new_id is not None
        # sent with the old cookie before the login's response arrived
        late = httpx.get(f"{url}/set-only", headers=_cookie(old_id))
        assert late.status_code == 409
        assert "set-cookie" not in late.headers
        assert _dump(url, new_id)["items"] == {"cart": ["book"], "user": "ada"}


@pytest.mark.parametrize("interface", INTERFACES)
def test_an_update_racing_a_logout_raises_an_error_the_view_catches(
    interface: str, tmp_path: Path
) -> None:
    with served(interface, tmp_path) as url:
        old_id = _open(url)
        slow, logout = asyncio.run(_race(url, "/slow-incr", "/logout", old_id))
        assert logout.status_code == 200
        assert logout.headers["set-cookie"].startswith(f"{COOKIE}=;")
        assert (slow.status_code, slow.json()) == (409, "gone")
        assert "set-cookie" not in slow.headers
        assert _dump(url, old_id)["items"] == {}, "the destroyed session stays destroyed"


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_read_only_request_racing_a_login_leaves_the_cookie_alone(
    interface: str, tmp_path: Path
) -> None:
    with served(interface, tmp_path) as url:
        old_id = _open(url)
        httpx.get(f"{url}/login", headers=_cookie(old_id))
        late = httpx.get(f"{url}/dump", headers=_cookie(old_id))
        assert late.status_code == 200
        assert late.json()["items"] == {}
        assert "set-cookie" not in late.headers, "an expiring cookie would log the user out"


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_change_saved_before_the_login_finishes_moves_with_the_session(
    interface: str, tmp_path: Path
) -> None:
    with served(interface, tmp_path) as url:
        old_id = _open(url)
        # the login reads, then the quick change saves, then the login moves the session

        login, quick = asyncio.run(_race(url, "/slow-login", "/set-only", old_id))
        assert quick.status_code == 200
        assert login.status_code == 200
        new_id = _new_cookie(login)
        assert new_id is not None
        items = _dump(url, new_id)["items"]
    assert items == {"cart": ["book"], "seen": True, "user": "ada"}
