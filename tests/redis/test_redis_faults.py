"""When Redis is away, misconfigured or read-only, every call ends in a SessionStorageError
that says what and where, within the driver's timeout; when Redis comes back, the same
driver (and the same app) carries on and nothing saved before is lost."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from hostsessions import SessionConfig, SessionStorageError, drivers
from hostsessions.drivers.redis_driver import AsyncRedisDriver, RedisDriver
from hostsessions.testing.processes import free_port
from hostsessions.testing.redis_server import RedisServer
from hostsessions.testing.server import serve_concurrency_app

KEY = "k" * 43
TIMEOUT = 0.5
# A failing call may wait for the connection and then for one reply; allow scheduling noise.
BOUND = 2 * TIMEOUT + 1.5

Flavour = Callable[..., tuple[Any, float]]


def call_sync(url: str, operation: str = "read", **options: Any) -> tuple[Any, float]:
    """Run one driver call with a fresh sync driver; (result or error, seconds taken)."""
    driver = drivers.redis(url, timeout=TIMEOUT, **options)
    return _timed(lambda: _operation(driver, operation))


def call_async(url: str, operation: str = "read", **options: Any) -> tuple[Any, float]:
    async def main() -> tuple[Any, float]:
        driver = drivers.redis(url, timeout=TIMEOUT, **options).to_async()
        assert isinstance(driver, AsyncRedisDriver)
        started = time.monotonic()
        try:
            result: Any = await _operation(driver, operation)
        except SessionStorageError as error:
            result = error
        finally:
            await driver.aclose()
        return result, time.monotonic() - started

    return asyncio.run(main())


def _operation(driver: RedisDriver | AsyncRedisDriver, operation: str) -> Any:
    if operation == "read":
        return driver.read(KEY)
    # A new session each time, so the write reaches its SET (no conflict on the way).
    return driver.write(
        secrets.token_urlsafe(32), "payload", expires_at=None, expected_version=None
    )


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        result = action()
    except SessionStorageError as error:
        result = error
    return result, time.monotonic() - started


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Flavour:
    return call_sync if request.param == "sync" else call_async


Scenario = Callable[[Any, bool], Coroutine[Any, Any, None]]


def run_scenario(call: Flavour, url: str, scenario: Scenario) -> None:
    """Run ``scenario(driver, is_async)`` on one driver of ``call``'s flavour, closed after."""
    if call is call_sync:
        sync_driver = drivers.redis(url, timeout=TIMEOUT)
        asyncio.run(scenario(sync_driver, False))
        sync_driver.close()
        return

    async def main() -> None:
        driver: Any = drivers.redis(url, timeout=TIMEOUT).to_async()
        await scenario(driver, True)
        await driver.aclose()

    asyncio.run(main())


def assert_storage_error(result: Any, *fragments: str) -> str:
    assert isinstance(result, SessionStorageError), f"expected a SessionStorageError: {result!r}"
    message = str(result)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ---- nothing there, or something that never answers ----------------------------------------


def test_connection_refused_says_cannot_connect_and_where(call: Flavour) -> None:
    port = free_port()
    result, seconds = call(f"redis://127.0.0.1:{port}/0")
    assert_storage_error(result, "session read on Redis at", f"127.0.0.1:{port}", "cannot connect")
    assert seconds < BOUND


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog does) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield int(listener.getsockname()[1])


@pytest.fixture
def unanswered_handshake() -> Iterator[int]:
    """A port whose TCP handshake never completes: a listener whose accept queue is full,
    so the kernel drops further SYNs, as a firewall that drops packets does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = []
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        yield port
        for filler in fillers:
            filler.close()


def test_a_host_that_never_completes_the_handshake_fails_within_the_timeout(
    call: Flavour, unanswered_handshake: int
) -> None:
    result, seconds = call(f"redis://127.0.0.1:{unanswered_handshake}/0")
    assert_storage_error(result, f"127.0.0.1:{unanswered_handshake}", "no answer within")
    assert seconds < BOUND, f"took {seconds:.2f} s with timeout={TIMEOUT}"


@pytest.mark.parametrize("operation", ["read", "write"])
def test_a_black_holed_port_fails_within_the_timeout(
    call: Flavour, black_hole: int, operation: str
) -> None:
    result, seconds = call(f"redis://127.0.0.1:{black_hole}/0", operation)
    assert_storage_error(result, f"127.0.0.1:{black_hole}", f"no answer within {TIMEOUT:g} s")
    assert seconds < BOUND, f"took {seconds:.2f} s with timeout={TIMEOUT}"


def test_a_request_on_a_black_holed_redis_fails_fast_instead_of_hanging(black_hole: int) -> None:
    options = {"url": f"redis://127.0.0.1:{black_hole}/0", "timeout": TIMEOUT}
    config = SessionConfig(driver="redis", options=options)
    with serve_concurrency_app(config, "asgi") as url:
        started = time.monotonic()
        response = httpx.get(f"{url}/incr", timeout=30)
        seconds = time.monotonic() - started
    assert response.status_code == 500
    assert seconds < BOUND


# ---- credentials and roles -------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_server() -> Iterator[RedisServer]:
    with RedisServer(password="the-right-one") as server:
        yield server


@pytest.mark.parametrize("credentials", [":not-the-password@", "default:not-the-password@", ""])
def test_a_wrong_or_missing_password_says_authentication_failed(
    call: Flavour, guarded_server: RedisServer, credentials: str
) -> None:
    url = f"redis://{credentials}127.0.0.1:{guarded_server.port}/0"
    result, seconds = call(url)
    message = assert_storage_error(result, "authentication failed", "redis://")
    assert "not-the-password" not in message
    assert seconds < BOUND


def test_the_right_password_works(call: Flavour, guarded_server: RedisServer) -> None:
    result, _ = call(guarded_server.url, "write")
    assert isinstance(result, str), result


@pytest.fixture(scope="module")
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    with RedisServer() as primary, RedisServer(replica_of=primary) as replica:
        yield primary, replica


def test_a_read_only_replica_serves_reads_and_refuses_writes_plainly(
    call: Flavour, primary_and_replica: tuple[RedisServer, RedisServer]
) -> None:
    primary, replica = primary_and_replica
    primary.cli("set", KEY, "replicated")
    deadline = time.monotonic() + 10
    while replica.cli("get", KEY).strip() != "replicated":
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.05)
    record, _ = call(replica.url)
    assert record.payload == "replicated"
    result, _ = call(replica.url, "write")
    assert_storage_error(result, "session write on Redis at", "read-only replica", "primary")


# ---- Redis stopped mid-run and restarted -----------------------------------------------------


@pytest.fixture
def durable_server() -> Iterator[RedisServer]:
    """A server that keeps its data across a restart (append-only file, fsync always)."""
    extra = ["--appendonly", "yes", "--appendfsync", "always"]
    with RedisServer(extra_args=extra) as server:
        yield server


def test_the_same_driver_fails_plainly_while_redis_is_down_and_recovers_after(
    call: Flavour, durable_server: RedisServer
) -> None:
    async def scenario(driver: Any, is_async: bool) -> None:
        async def run(operation: str, expected_version: str | None = None) -> Any:
            try:
                if operation == "read":
                    result = driver.read(KEY)
                else:
                    result = driver.write(
                        KEY, operation, expires_at=None, expected_version=expected_version
                    )
                return await result if is_async else result
            except SessionStorageError as error:
                return error

        version = await run("before", None)
        durable_server.stop()
        assert_storage_error(await run("read"), "cannot connect", f"{durable_server.port}")
        durable_server.start()
        record = await run("read")
        assert record.payload == "before", "the record written before the restart is there"
        assert record.version == version
        assert isinstance(await run("after", version), str)

    run_scenario(call, durable_server.url, scenario)


def test_the_first_call_after_a_restart_between_calls_succeeds(
    call: Flavour, durable_server: RedisServer
) -> None:
    """The pooled connection the restart closed is noticed before it is used, not by a
    failed call."""

    async def scenario(driver: Any, is_async: bool) -> None:
        async def run(result: Any) -> Any:
            return await result if is_async else result

        version = await run(driver.write(KEY, "before", expires_at=None, expected_version=None))
        durable_server.stop()
        await asyncio.sleep(0.1)  # an app's event loop keeps running between requests
        durable_server.start()
        record = await run(driver.read(KEY))
        assert record is not None
        assert record.version == version
        assert await run(driver.write(KEY, "after", expires_at=None, expected_version=version))

    run_scenario(call, durable_server.url, scenario)


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_an_app_whose_redis_restarts_loses_no_saved_increment(
    durable_server: RedisServer, interface: str
) -> None:
    options = {"url": durable_server.url, "timeout": TIMEOUT}
    config = SessionConfig(driver="redis", options=options)
    with (
        serve_concurrency_app(config, interface) as url,  # type: ignore[arg-type]
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert client.get("/set/opened").status_code == 200
        counts = [client.get("/incr").json() for _ in range(3)]
        assert counts == [1, 2, 3]
        durable_server.stop()
        started = time.monotonic()
        assert client.get("/incr").status_code == 500, "no silent success while down"
        assert time.monotonic() - started < BOUND
        durable_server.start()
        assert client.get("/incr").json() == 4, "the count saved before the restart is kept"
        assert client.get("/dump").json()["items"] == {"opened": True, "n": 4}


# ---- a reply that comes too late ---------------------------------------------------------------

# Keeps the server busy (and so every other client waiting) for ARGV[1] microseconds.
BUSY_SCRIPT = """
local started = redis.call('TIME')
local until_us = started[1] * 1000000 + started[2] + tonumber(ARGV[1])
repeat local now = redis.call('TIME') until now[1] * 1000000 + now[2] >= until_us
return 1
"""


def test_a_reply_that_comes_after_the_timeout_never_answers_a_later_call(
    call: Flavour, redis_url: str, redis_server: RedisServer
) -> None:
    """The timed-out call's connection is dropped, not reused: its late reply (the other
    session's payload) must not be read as the answer to the next call."""
    late, next_key = "l" * 43, "n" * 43
    redis_server.cli("set", late, "the late reply")
    redis_server.cli("set", next_key, "the right reply")
    busy = threading.Thread(
        target=redis_server.cli, args=("eval", BUSY_SCRIPT, "0", str(int(4 * TIMEOUT * 1e6)))
    )

    async def scenario(driver: Any, is_async: bool) -> None:
        async def read(key: str) -> Any:
            try:
                result = driver.read(key)
                return await result if is_async else result
            except SessionStorageError as error:
                return error

        assert (await read(next_key)).payload == "the right reply"  # the pool has a connection
        busy.start()
        await asyncio.sleep(TIMEOUT / 2)  # the busy script has started
        assert_storage_error(await read(late), "no answer within")
        await asyncio.to_thread(busy.join)
        for _ in range(3):
            record = await read(next_key)
            assert not isinstance(record, Exception), record
            assert record.payload == "the right reply"

    run_scenario(call, redis_url, scenario)
