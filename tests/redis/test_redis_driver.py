"""The Redis driver's own promises, on a real redis-server: unstorage's key layout (so an
Astro site reads and writes the same keys), native expiry, what a request costs in round
trips, configuration by URL, environment or client, and one pool closed at shutdown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio

from hostsessions import SessionConfig, SessionConfigError, SessionTooLargeError, codec, drivers
from hostsessions.asgi import SessionMiddleware as AsgiSessionMiddleware
from hostsessions.drivers import WriteConflict
from hostsessions.drivers.redis_driver import (
    DEFAULT_URL,
    REDIS_STRING_LIMIT,
    AsyncRedisDriver,
    RedisDriver,
    redis_settings,
)
from hostsessions.manager import SessionManager
from hostsessions.testing.redis_server import RedisServer
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware

COOKIE = "astro-session"


def cart_app(config: SessionConfig) -> Any:
    """A WSGI app: /add puts a book in the cart (with a per-key TTL if ?ttl= is given)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ[ENVIRON_KEY]
        if environ["PATH_INFO"] == "/add":
            query = environ.get("QUERY_STRING", "")
            ttl = float(query.split("=", 1)[1]) if query.startswith("ttl=") else None
            session.set("cart", ["book"], ttl=ttl)
        body = repr(session.get("cart")).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return WsgiSessionMiddleware(app, config)


@pytest.fixture
def server(redis_server: RedisServer, redis_url: str) -> RedisServer:
    """The shared server, emptied."""
    return redis_server


def add_to_cart(config: SessionConfig, query: str = "") -> str:
    """One request that writes a session; its ID."""
    with httpx.Client(transport=httpx.WSGITransport(app=cart_app(config))) as client:
        response = client.get(f"http://testserver/add?{query}")
    assert response.status_code == 200, response.text
    session_id = response.cookies.get(COOKIE)
    assert session_id
    return session_id


# ---- the key layout an Astro site shares ------------------------------------------------


def test_a_session_is_the_bare_devalue_payload_under_its_id(server: RedisServer) -> None:
    session_id = add_to_cart(
        SessionConfig(driver="redis", options={"url": server.url}, cookie=COOKIE)
    )
    assert server.cli("keys", "*").split() == [session_id], "only the session's own key exists"
    assert server.cli("type", session_id).strip() == "string"
    stored = server.cli("get", session_id).rstrip("\n")
    assert stored.startswith('[["Map",'), stored
    assert codec.parse(stored) == {"cart": {"data": ["book"]}}


def test_with_a_base_the_key_is_base_colon_id_as_in_unstorage(server: RedisServer) -> None:
    options = {"url": server.url, "base": "/astro/sessions:"}
    session_id = add_to_cart(SessionConfig(driver="redis", options=options, cookie=COOKIE))
    assert server.cli("keys", "*").split() == [f"astro:sessions:{session_id}"]


def test_the_key_expires_with_the_records_last_entry(server: RedisServer) -> None:
    config = SessionConfig(driver="redis", options={"url": server.url}, cookie=COOKIE)
    before = time.time()
    session_id = add_to_cart(config, "ttl=600")
    expires_ms = int(server.cli("pexpiretime", session_id))
    assert before + 600 - 2 <= expires_ms / 1000 <= time.time() + 600 + 2


def test_a_session_without_expiring_keys_has_no_redis_expiry(server: RedisServer) -> None:
    session_id = add_to_cart(
        SessionConfig(driver="redis", options={"url": server.url}, cookie=COOKIE)
    )
    assert int(server.cli("pexpiretime", session_id)) == -1


def test_a_value_another_client_set_is_read_and_a_stale_write_conflicts(
    server: RedisServer,
) -> None:
    """An Astro site writes with a plain SET (no version field): the driver sees the change."""
    driver = drivers.redis(server.url)
    key = "0b5f3d2e-8f3c-4c56-9b1e-1f1d3c0f6a11"  # an Astro session ID (crypto.randomUUID())
    version = driver.write(key, '[["Map",1]]', expires_at=None, expected_version=None)
    astro_payload = '[["Map",1,2],"cart",{"data":3},["pen"]]'
    server.cli("set", key, astro_payload)
    record = driver.read(key)
    assert record is not None
    assert record.payload == astro_payload
    assert record.version != version
    with pytest.raises(WriteConflict):
        driver.write(key, "[]", expires_at=None, expected_version=version)
    assert driver.read(key) == record
    driver.close()


def test_a_non_utf8_value_reads_as_a_payload_the_core_then_discards(server: RedisServer) -> None:
    driver = drivers.redis(server.url)
    key = "k" * 43
    server.cli("eval", "redis.call('SET', KEYS[1], '\\255\\254') return 1", "1", key)
    record = driver.read(key)
    assert record is not None
    assert "\ufffd" in record.payload
    driver.delete(key, expected_version=record.version)
    assert driver.read(key) is None
    driver.close()


SHA1_IN_REDIS = "return redis.sha1hex(redis.call('GET', KEYS[1]))"


def test_a_reads_version_is_the_hash_the_write_script_compares(server: RedisServer) -> None:
    """The read hashes in Python what the write script hashes in Redis: for any bytes,
    including another client's that are not UTF-8, the two agree, so a plain SET by an
    Astro site is a change and an unchanged record is not."""
    driver = drivers.redis(server.url)
    samples = {"ascii": "[1]", "utf8": "Grüße, 東京, 😀", "binary": "\\255\\254 \\000"}
    for name, value in samples.items():
        key = name * 15
        server.cli("eval", f"redis.call('SET', KEYS[1], '{value}') return 1", "1", key)
        record = driver.read(key)
        assert record is not None
        assert record.version == server.cli("eval", SHA1_IN_REDIS, "1", key).strip(), name
        assert driver.write(key, "[2]", expires_at=None, expected_version=record.version)
    driver.close()


def test_a_users_client_that_decodes_replies_keeps_exact_versions(server: RedisServer) -> None:
    async def main() -> None:
        client = redis.asyncio.Redis.from_url(server.url, decode_responses=True)
        driver = drivers.redis(client=client)
        key = "0b5f3d2e-8f3c-4c56-9b1e-1f1d3c0f6a11"
        await client.set(key, "Grüße 😀")
        record = await driver.read(key)
        assert record is not None
        assert record.payload == "Grüße 😀"
        version = await driver.write(
            key, "ünïcode", expires_at=None, expected_version=record.version
        )
        assert version == await client.eval(SHA1_IN_REDIS, 1, key)
        await driver.delete(key, expected_version=version)
        assert await client.exists(key) == 0
        await client.aclose()

    asyncio.run(main())


# ---- what a request costs -------------------------------------------------------------


def command_calls(server: RedisServer) -> dict[str, int]:
    calls: dict[str, int] = {}
    for line in server.cli("info", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, stats = line.partition(":")
            calls[name.removeprefix("cmdstat_")] = int(stats.split(",")[0].split("=")[1])
    calls.pop("info", None)
    calls.pop("config|resetstat", None)
    return calls


def test_a_request_that_changes_its_session_makes_one_read_and_one_write(
    server: RedisServer,
) -> None:
    async def counter(scope: Any, receive: Any, send: Any) -> None:
        n = await scope["session"].update("n", lambda n: n + 1, default=0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(n).encode()})

    app = AsgiSessionMiddleware(counter, SessionConfig(driver="redis", options={"url": server.url}))

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/")).text == "1"
            server.cli("config", "resetstat")
            assert (await client.get("/")).text == "2"
        await app.manager.aclose()

    asyncio.run(main())
    # Two round trips: a plain GET, then the write script (GET, SET). Redis counts the
    # commands a script runs too, so any extra top-level command would show.
    assert command_calls(server) == {"get": 2, "evalsha": 1, "set": 1}


# ---- configuration ------------------------------------------------------------------------


def test_named_without_options_it_reads_hostsessions_redis_url_first() -> None:
    environ = {"HOSTSESSIONS_REDIS_URL": "redis://one:6379/1", "REDIS_URL": "redis://two:6379/2"}
    assert redis_settings(environ=environ).url == "redis://one:6379/1"
    assert redis_settings(environ={"REDIS_URL": "rediss://two:6380/2"}).url == "rediss://two:6380/2"
    assert redis_settings(environ={}).url == DEFAULT_URL


def test_driver_redis_with_redis_url_in_the_environment_stores_there(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOSTSESSIONS_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", server.url)
    session_id = add_to_cart(SessionConfig(driver="redis", cookie=COOKIE))
    assert server.cli("exists", session_id).strip() == "1"


def test_hostsessions_driver_redis_names_it_from_the_environment(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTSESSIONS_DRIVER", "redis")
    monkeypatch.setenv("HOSTSESSIONS_REDIS_URL", server.url)
    session_id = add_to_cart(SessionConfig(cookie=COOKIE))
    assert server.cli("exists", session_id).strip() == "1"


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379", "memcached://x", ""])
def test_a_url_that_is_not_redis_is_refused_at_once(url: str) -> None:
    with pytest.raises(SessionConfigError, match=r"redis://, rediss:// \(TLS\) or unix://"):
        drivers.redis(url)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": "2"}, "timeout must be a positive number"),
        ({"max_connections": 0}, "max_connections must be a positive whole number"),
        ({"max_payload_bytes": REDIS_STRING_LIMIT + 1}, "max_payload_bytes must be"),
        ({"cluster": True, "url": "unix:///run/redis.sock"}, "Redis Cluster is reached over TCP"),
        ({"client": object()}, "client must be a redis-py client"),
    ],
)
def test_bad_options_are_refused_with_what_to_use(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SessionConfigError, match=message):
        drivers.redis(**options)


def test_messages_never_show_the_password() -> None:
    settings = redis_settings("redis://app:s3cret@cache.internal:6379/0")
    assert "s3cret" not in settings.where
    assert "app:***@cache.internal:6379" in settings.where
    with pytest.raises(SessionConfigError) as caught:
        drivers.redis("http://app:s3cret@cache.internal")
    assert "s3cret" not in str(caught.value)


def test_the_default_payload_limit_is_redis_own_and_a_lower_one_is_enforced(
    server: RedisServer,
) -> None:
    assert drivers.redis(server.url).settings.max_payload_bytes == 512 * 1024 * 1024
    driver = drivers.redis(server.url, max_payload_bytes=10)
    with pytest.raises(SessionTooLargeError) as caught:
        driver.write("k" * 43, "€" * 4, expires_at=None, expected_version=None)
    assert (caught.value.store, caught.value.size, caught.value.limit) == ("Redis", 12, 10)
    assert server.cli("dbsize").strip() == "0"


def test_a_unix_socket_url_works(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    extra = ["--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    with RedisServer(extra_args=extra):
        driver = drivers.redis(f"unix://{socket_path}")
        version = driver.write("k" * 43, "over a socket", expires_at=None, expected_version=None)
        assert driver.read("k" * 43) is not None
        assert driver.read("k" * 43).payload == "over a socket"  # type: ignore[union-attr]
        assert version
        driver.close()


# ---- clients and pools ------------------------------------------------------------------


def test_a_forked_worker_never_shares_its_parents_connection(server: RedisServer) -> None:
    """A worker forked after its parent used the driver (gunicorn --preload, multiprocessing)
    sends on connections of its own: two processes on one socket would read each other's
    replies, and so each other's sessions."""
    driver = drivers.redis(server.url)
    keys = {"parent": "p" * 43, "child": "c" * 43}
    for name, key in keys.items():
        driver.write(key, f'"{name}"', expires_at=None, expected_version=None)
    assert driver.read(keys["parent"]) is not None  # a connection is now kept for reuse

    def read_own_session(name: str) -> None:
        for _ in range(2_000):
            record = driver.read(keys[name])
            assert record is not None, name
            assert record.payload == f'"{name}"', f"{name} read {record.payload}"

    child = os.fork()
    if child == 0:
        try:
            read_own_session("child")
        except BaseException:
            os._exit(1)
        os._exit(0)
    try:
        read_own_session("parent")
    finally:
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked worker read a wrong reply"
    driver.close()


def test_a_sync_client_of_the_users_own_is_used_and_never_closed(server: RedisServer) -> None:
    client = redis.Redis.from_url(server.url)
    driver = drivers.redis(client=client)
    assert isinstance(driver, RedisDriver)
    assert driver.to_async() is driver, "without a URL of its own, ASGI hops threads on it"
    driver.write("k" * 43, "mine", expires_at=None, expected_version=None)
    driver.close()
    assert client.get("k" * 43) == b"mine", "the user's client still works"
    assert "127.0.0.1" in driver.settings.where
    client.close()


def test_an_asyncio_client_of_the_users_own_gives_the_async_driver(server: RedisServer) -> None:
    async def main() -> None:
        client = redis.asyncio.Redis.from_url(server.url)
        driver = drivers.redis(client=client)
        assert isinstance(driver, AsyncRedisDriver)
        await driver.write("k" * 43, "mine", expires_at=None, expected_version=None)
        await driver.aclose()
        assert await client.get("k" * 43) == b"mine", "the user's client still works"
        await client.aclose()

    asyncio.run(main())


def test_under_asgi_the_driver_is_the_asyncio_twin() -> None:
    manager = SessionManager(SessionConfig(driver="redis", options={"url": DEFAULT_URL}))
    assert isinstance(manager.driver(), RedisDriver)
    assert isinstance(manager.async_store().driver, AsyncRedisDriver)


def hostsessions_connections(server: RedisServer) -> int:
    lines = server.cli("client", "list").splitlines()
    return sum(1 for line in lines if "cmd=client|list" not in line)


@pytest.fixture
def idle_server(server: RedisServer) -> RedisServer:
    server.cli("client", "kill", "type", "normal", "skipme", "yes")
    return server


def test_one_pool_serves_every_request_and_lifespan_shutdown_closes_it(
    idle_server: RedisServer,
) -> None:
    server = idle_server

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # as frameworks do: answer each lifespan message
            while True:
                kind = (await receive())["type"]
                await send({"type": f"{kind}.complete"})
                if kind == "lifespan.shutdown":
                    return
        scope["session"].set("seen", True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped = AsgiSessionMiddleware(app, SessionConfig(driver="redis", options={"url": server.url}))

    async def shutdown() -> None:
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        await wrapped({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    async def main() -> None:
        transport = httpx.ASGITransport(app=wrapped)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            for _ in range(20):
                assert (await client.get("/")).status_code == 200
        assert hostsessions_connections(server) == 1, "20 sequential requests, one connection"
        await shutdown()
        assert hostsessions_connections(server) == 0, "shutdown closed the pool"

    asyncio.run(main())


# ---- without redis-py ---------------------------------------------------------------------


def test_naming_redis_without_redis_py_fails_at_start_up_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "redis" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SessionConfigError, match=r"pip install 'hostsessions\[redis\]'"):
        SessionManager(SessionConfig(driver="redis"), {})


def test_the_factory_without_redis_py_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['redis'] = None  # as if redis-py were not installed\n"
        "from hostsessions import SessionConfigError, drivers\n"
        "try:\n"
        "    drivers.redis()\n"
        "except SessionConfigError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'hostsessions[redis]'" in done.stdout


@pytest.mark.parametrize(
    ("base", "key"),
    [
        ("", "ID"),
        ("sessions", "sessions:ID"),
        ("sessions:", "sessions:ID"),
        ("/astro/sessions:", "astro:sessions:ID"),
        ("a\\b/", "a:b:ID"),
        ("::a::", ":a:ID"),
    ],
)
def test_the_base_becomes_the_key_prefix_unstorage_would_write(base: str, key: str) -> None:
    assert redis_settings("redis://localhost", base=base).key("ID") == key


def test_a_save_that_meets_a_concurrent_write_retries_with_one_more_write_and_no_read(
    server: RedisServer,
) -> None:
    """The write script returns the record it met, so the core replays on it at once."""
    gate = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        if scope["path"] == "/slow":
            await session.get("a")
            await gate.wait()
            session.set("a", 1)
        else:
            await session.get("b")
            session.set("b", int(scope["query_string"] or b"0"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped = AsgiSessionMiddleware(app, SessionConfig(driver="redis", options={"url": server.url}))

    async def main() -> str:
        transport = httpx.ASGITransport(app=wrapped)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            await client.get("/fast?1")  # creates the session
            session_id = client.cookies["hostsessions"]
            server.cli("config", "resetstat")
            slow = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)  # /slow has read the session and waits at the gate
            assert (await client.get("/fast?2")).status_code == 200
            gate.set()
            assert (await slow).status_code == 200
        await wrapped.manager.aclose()
        return session_id

    session_id = asyncio.run(main())
    # /slow: GET, a conflicting write (the script's GET only), the write again (GET, SET);
    # /fast: GET, write (GET, SET). No second top-level GET for /slow.
    assert command_calls(server) == {"get": 5, "evalsha": 3, "set": 2}
    assert codec.parse(server.cli("get", session_id).rstrip("\n")) == {
        "a": {"data": 1},
        "b": {"data": 2},
    }
