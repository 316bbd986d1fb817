"""Real servers on 127.0.0.1 and the concurrency checks every driver must pass through them.

``check_concurrent_keys``, ``check_concurrent_updates`` and
``check_no_resurrection_after_destroy`` start a real server (uvicorn for ASGI, a threaded
stdlib server for WSGI) around a small app on the given config, fire concurrent requests
at one session with a real HTTP client, and raise AssertionError if any change is lost.
Needs the ``testing`` extra (httpx, uvicorn).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import parse_qs

from ..asgi import SessionMiddleware as AsgiSessionMiddleware
from ..config import SessionConfig
from ..devserver import make_dev_server
from ..session import AsyncSession, Session
from ..wsgi import ENVIRON_KEY
from ..wsgi import SessionMiddleware as WsgiSessionMiddleware

__all__ = [
    "Interface",
    "check_concurrent_keys",
    "check_concurrent_keys_at",
    "check_concurrent_updates",
    "check_concurrent_updates_at",
    "check_no_resurrection_after_destroy",
    "check_no_resurrection_at",
    "concurrency_asgi_app",
    "concurrency_wsgi_app",
    "serve_asgi",
    "serve_concurrency_app",
    "serve_wsgi",
]

Interface = Literal["asgi", "wsgi"]


@contextmanager
def serve_asgi(app: Any) -> Generator[str]:
    """Run ``app`` under uvicorn on a free port of 127.0.0.1; yield its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def serve_wsgi(app: Any) -> Generator[str]:
    """Run ``app`` in a threaded stdlib WSGI server on a free port of 127.0.0.1."""
    server = make_dev_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, name="wsgi-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=20)


# ---- the app the checks drive: the same routes under ASGI and WSGI --------------------


def _increment(n: int) -> int:
    return n + 1


async def _asgi_routes(session: AsyncSession, path: str, query: dict[str, list[str]]) -> Any:
    if path.startswith("/set/"):
        session.set(path[5:], True)
        return "ok"
    if path == "/incr":
        return await session.update("n", _increment, default=0)
    if path == "/slow-set":
        await session.get("anything")
        await asyncio.sleep(float(query.get("delay", ["0.5"])[0]))
        session.set("late", True)
        return "ok"
    if path == "/destroy":
        session.destroy()
        return "ok"
    items = dict(await session.items())
    return {"id": session.id, "items": items}


def _wsgi_routes(session: Session, path: str, query: dict[str, list[str]]) -> Any:
    if path.startswith("/set/"):
        session.set(path[5:], True)
        return "ok"
    if path == "/incr":
        return session.update("n", _increment, default=0)
    if path == "/slow-set":
        session.get("anything")
        time.sleep(float(query.get("delay", ["0.5"])[0]))
        session.set("late", True)
        return "ok"
    if path == "/destroy":
        session.destroy()
        return "ok"
    items = dict(session.items())
    return {"id": session.id, "items": items}


def concurrency_asgi_app(config: SessionConfig) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        query = parse_qs(scope.get("query_string", b"").decode())
        result = await _asgi_routes(scope["session"], scope["path"], query)
        body = json.dumps(result).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return AsgiSessionMiddleware(app, config)


def concurrency_wsgi_app(config: SessionConfig) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        result = _wsgi_routes(environ[ENVIRON_KEY], environ["PATH_INFO"], query)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    return WsgiSessionMiddleware(app, config)


@contextmanager
def serve_concurrency_app(config: SessionConfig, interface: Interface = "asgi") -> Generator[str]:
    if interface == "asgi":
        with serve_asgi(concurrency_asgi_app(config)) as url:
            yield url
    else:
        with serve_wsgi(concurrency_wsgi_app(config)) as url:
            yield url


# ---- the checks ---------------------------------------------------------------------


async def _fire(url: str, cookie: str, paths: list[str]) -> list[Any]:
    import httpx

    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.get(path, headers={"cookie": cookie}) for path in paths)
        )
    failures = [r for r in responses if r.status_code != 200]
    assert not failures, (
        f"{len(failures)} of {len(paths)} concurrent requests failed: {failures[0].text[:300]}"
    )
    return [r.json() for r in responses]


def _open_session(url: str, cookie_name: str) -> tuple[str, str]:
    import httpx

    response = httpx.get(f"{url}/set/opened")
    assert response.status_code == 200, response.text
    session_id = response.cookies.get(cookie_name)
    assert session_id, f"the first request set no {cookie_name!r} cookie: {response.headers}"
    return f"{cookie_name}={session_id}", session_id


def _dump(url: str, cookie: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(f"{url}/dump", headers={"cookie": cookie})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def check_concurrent_keys(
    config: SessionConfig, n: int = 50, interface: Interface = "asgi"
) -> None:
    """``n`` concurrent requests on one session, each setting its own key: all keys survive."""
    with serve_concurrency_app(config, interface) as url:
        check_concurrent_keys_at(url, config.cookie.name, n)


def check_concurrent_updates(
    config: SessionConfig, n: int = 50, interface: Interface = "asgi"
) -> None:
    """``n`` concurrent ``update(lambda n: n + 1)`` on one session end at exactly ``n``."""
    with serve_concurrency_app(config, interface) as url:
        check_concurrent_updates_at(url, config.cookie.name, n)


def check_no_resurrection_after_destroy(
    config: SessionConfig, interface: Interface = "asgi"
) -> None:
    """A request that read the session before another destroyed it saves late: the session
    must stay destroyed, and the late request is told (409: its change was not saved), with
    no Set-Cookie that would undo the destroying response's."""
    with serve_concurrency_app(config, interface) as url:
        check_no_resurrection_at(url, config.cookie.name)


# ---- the same checks against any running app: framework integrations ----------------------
#
# The app at ``url`` serves the routes of the app above, through its own session API:
# ``/set/<key>`` sets key to true, ``/incr`` is ``update("n", n + 1, default=0)`` and returns
# the new value, ``/slow-set?delay=s`` reads, sleeps, then sets ``late``, ``/destroy``
# destroys the session, ``/dump`` returns ``{"id": session id, "items": {...}}`` as JSON.


def check_concurrent_keys_at(url: str, cookie_name: str, n: int = 50) -> None:
    """``n`` concurrent requests to ``url`` on one session, each setting its own key."""
    cookie, session_id = _open_session(url, cookie_name)
    asyncio.run(_fire(url, cookie, [f"/set/k{i}" for i in range(n)]))
    dump = _dump(url, cookie)
    assert dump["id"] == session_id, "the session was replaced during concurrent writes"
    missing = sorted({f"k{i}" for i in range(n)} - set(dump["items"]))
    assert not missing, f"{len(missing)} of {n} concurrently set keys were lost: {missing[:10]}"


def check_concurrent_updates_at(url: str, cookie_name: str, n: int = 50) -> None:
    """``n`` concurrent ``/incr`` requests to ``url`` on one session end at exactly ``n``."""
    cookie, _ = _open_session(url, cookie_name)
    results = asyncio.run(_fire(url, cookie, ["/incr"] * n))
    dump = _dump(url, cookie)
    assert dump["items"].get("n") == n, (
        f"{n} concurrent increments ended at {dump['items'].get('n')}"
    )
    assert sorted(results) == list(range(1, n + 1)), "each update must return a distinct count"


def check_no_resurrection_at(
    url: str, cookie_name: str, *, late_statuses: tuple[int, ...] = (409,)
) -> None:
    """A late save after a concurrent destroy leaves the session destroyed. The late request
    is told its change was not saved: it answers one of ``late_statuses`` (the middleware's
    409; Django answers 400: its session was interrupted), and sends no Set-Cookie that
    would undo the destroying response's (docs/concurrency.md). On a loaded machine the
    late request may save before the destroy lands after all; then it answers 200, which
    is right too (its change was saved, then destroyed). tests/test_races.py orders the
    race exactly."""
    cookie, session_id = _open_session(url, cookie_name)

    async def race() -> None:
        import httpx

        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            slow = asyncio.create_task(
                client.get("/slow-set?delay=0.5", headers={"cookie": cookie})
            )
            await asyncio.sleep(0.2)
            destroyed = await client.get("/destroy", headers={"cookie": cookie})
            assert destroyed.status_code == 200, destroyed.text
            late = await slow
            assert late.status_code in (*late_statuses, 200), (late.status_code, late.text[:300])
            assert "set-cookie" not in late.headers, "a racing response touched the cookie"

    asyncio.run(race())
    dump = _dump(url, cookie)
    assert dump["items"] == {}, f"a late save brought back a destroyed session: {dump['items']}"
    assert dump["id"] != session_id
