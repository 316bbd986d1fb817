"""Shared test helpers: a driver that counts its calls, and a clock the tests move."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from hostsessions.drivers.base import Record
from hostsessions.drivers.memory_driver import MemoryDriver


class CountingDriver:
    """A memory driver that counts reads, writes and deletes."""

    blocking = False

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner if inner is not None else MemoryDriver()
        self.calls: Counter[str] = Counter()

    def read(self, key: str) -> Record | None:
        self.calls["read"] += 1
        return self.inner.read(key)  # type: ignore[no-any-return]

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.calls["write"] += 1
        return self.inner.write(
            key, payload, expires_at=expires_at, expected_version=expected_version
        )  # type: ignore[no-any-return]

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self.calls["delete"] += 1
        self.inner.delete(key, expected_version=expected_version)

    def reset(self) -> None:
        self.calls.clear()


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def load_module(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (examples are files, not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def asgi_client(app: Any, through: str) -> Iterator[Any]:
    """A client that keeps cookies, for an ASGI app: ``through="testclient"`` is Starlette's
    (and FastAPI's) TestClient, ``through="uvicorn"`` a real server on 127.0.0.1."""
    import httpx
    from starlette.testclient import TestClient

    from hostsessions.testing.server import serve_asgi

    if through == "testclient":
        with TestClient(app) as client:
            yield client
    else:
        with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
            yield client


def _count_visits(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    from hostsessions.wsgi import ENVIRON_KEY

    count = environ[ENVIRON_KEY].update("visits", lambda n: (n or 0) + 1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(count).encode()]


def assert_config_keeps_a_visitors_session(config: Any) -> None:
    """A WSGI app on ``config``, served for real, counts one visitor's visits and starts a
    new visitor afresh: what a user's first test of an adapter's session-config fixture does."""
    import httpx

    from hostsessions.testing.server import serve_wsgi
    from hostsessions.wsgi import SessionMiddleware

    app = SessionMiddleware(_count_visits, config)
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
        assert httpx.get(url).text == "1", "a new visitor starts a session of their own"


PEER_BENCH_APPS = Path(__file__).resolve().parents[1] / "benchmarks" / "peers"


def check_peer_bench_app(app: Any, family: str) -> None:
    """Drive a peer-benchmark app as the harness does: ``/a`` never touches the session,
    ``/b`` counts up in it, ``/r`` reads it; its ``peer_counter`` sees one read and one
    write per ``/b`` and no store call for ``/a``. A broken app would otherwise show up
    only as a 500 in the middle of a benchmark run."""
    import asyncio

    import httpx

    paths = ["/a", "/b", "/b", "/r", "/a"]
    if family == "asgi":

        async def visit() -> list[str]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return [(await c.get(path)).raise_for_status().text for path in paths]

        bodies = asyncio.run(visit())
    else:
        with httpx.Client(
            transport=httpx.WSGITransport(app=app), base_url="http://testserver"
        ) as client:
            bodies = [client.get(path).raise_for_status().text for path in paths]
    assert bodies[1:4] == ["1", "2", "2"], bodies
    counter = dict(app.peer_counter)
    assert counter.get("write") == 2, counter
    assert counter.get("read", 0) <= 3, counter  # the first /b has no cookie yet
    assert counter.get("remove", 0) == 0, counter
