"""Fixtures of the Astro end-to-end suite: the built Astro site run as in production
(``node dist/server/entry.mjs``), a hostsessions app under uvicorn, the store they share
(unstorage's fs-lite layout in a folder, or a real redis-server), and a browser that
carries the one ``astro-session`` cookie between them.

The site is installed from npm and built by scripts/setup.d/70-astro-site.sh;
redis-server comes from scripts/setup.d/60-redis.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_py

from hostsessions import drivers
from hostsessions.testing.processes import free_port, stop_process
from hostsessions.testing.redis_server import RedisServer
from hostsessions.testing.server import serve_asgi

from .python_app import COOKIE_NAME, make_app

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / ".tools" / "astro-site"
SETUP = "bash scripts/setup.d/70-astro-site.sh"
REDIS_BASE = "astro-sessions"


@dataclass
class Store:
    """The store both sides share, and a look at its raw records."""

    name: str
    site_env: dict[str, str]
    python_driver: Any
    folder: Path | None = None
    redis: RedisServer | None = None
    redis_base: str = ""

    def redis_key(self, session_id: str) -> str:
        """unstorage's Redis key: the bare ID, or ``<base>:<id>``."""
        return f"{self.redis_base}:{session_id}" if self.redis_base else session_id

    def raw(self, session_id: str) -> str | None:
        """The bare payload stored for ``session_id`` where unstorage keeps it, or None."""
        if self.folder is not None:
            path = self.folder / session_id
            return path.read_text(encoding="utf-8") if path.exists() else None
        assert self.redis is not None
        with redis_py.Redis.from_url(self.redis.url) as client:
            value = client.get(self.redis_key(session_id))
        return None if value is None else bytes(value).decode("utf-8")

    def keys(self) -> list[str]:
        """Every key in the store: file names, or Redis keys (with their base)."""
        if self.folder is not None:
            return sorted(p.name for p in self.folder.iterdir() if not p.name.startswith("."))
        assert self.redis is not None
        with redis_py.Redis.from_url(self.redis.url) as client:
            return sorted(bytes(key).decode() for key in client.keys("*"))


@pytest.fixture(scope="session")
def astro_site() -> Path:
    entry = SITE / "dist" / "server" / "entry.mjs"
    if shutil.which("node") is None:
        pytest.fail(f"node is not installed: install Node.js 20 or later, then run `{SETUP}`")
    if not entry.exists():
        pytest.fail(f"the Astro site is not built: run `{SETUP}`")
    return entry


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(params=["fs-lite", "redis", "redis-bare"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "fs-lite":
        folder = tmp_path / "sessions"
        yield Store(
            "fs-lite",
            {"SESSION_STORE": "fs-lite", "SESSION_DIR": str(folder)},
            drivers.fs_lite(folder),
            folder=folder,
        )
        return
    # "redis": keys <base>:<id>; "redis-bare": the session ID alone (no base on either side)
    base = REDIS_BASE if request.param == "redis" else ""
    server: RedisServer = request.getfixturevalue("redis_server")
    server.cli("flushall")
    driver = drivers.redis(server.url, base=base)
    try:
        yield Store(
            request.param,
            {"SESSION_STORE": "redis", "REDIS_URL": server.url, "REDIS_BASE": base},
            driver,
            redis=server,
            redis_base=base,
        )
    finally:
        close = getattr(driver, "close", None)
        if close is not None:
            close()


@pytest.fixture
def astro(astro_site: Path, store: Store, tmp_path: Path) -> Iterator[str]:
    """The Astro server on ``store``, as production runs it; yields its base URL."""
    port = free_port()
    log = tmp_path / "astro.log"
    env = {**os.environ, **store.site_env, "HOST": "127.0.0.1", "PORT": str(port)}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["node", str(astro_site)], cwd=tmp_path, env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Astro server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
        if process.returncode not in (0, -15, 143):
            print(log.read_text())


@pytest.fixture
def python(store: Store) -> Iterator[str]:
    """The hostsessions app on ``store`` under uvicorn; yields its base URL."""
    with serve_asgi(make_app(store.python_driver)) as url:
        yield url


@dataclass
class Browser:
    """One browser: the ``astro-session`` cookie it holds, sent to both servers
    (cookies are per host, not per port: a site and an app on one domain share them)."""

    astro: str
    python: str
    cookie: str | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        base = self.astro if path.startswith("/astro/") else self.python
        headers = {"origin": base}
        if self.cookie is not None:
            headers["cookie"] = f"{COOKIE_NAME}={self.cookie}"
        content = None
        if method == "POST":  # JSON, as a page's fetch() sends: not a cross-site form post
            content = json.dumps(body)
            headers["content-type"] = "application/json"
        response = self.client.request(method, base + path, headers=headers, content=content)
        assert response.status_code == 200, (path, response.status_code, response.text)
        for header in response.headers.get_list("set-cookie"):
            self._take(header)
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def _take(self, header: str) -> None:
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        if name != COOKIE_NAME:
            return
        expired = False
        for attribute in attributes:
            key, _, setting = attribute.partition("=")
            if key.lower() == "max-age" and int(setting) <= 0:
                expired = True
            if (
                key.lower() == "expires"
                and parsedate_to_datetime(setting).timestamp() < time.time()
            ):
                expired = True
        self.cookie = None if expired else value


@pytest.fixture
def browser(astro: str, python: str) -> Iterator[Browser]:
    browser = Browser(astro, python)
    try:
        yield browser
    finally:
        browser.client.close()
