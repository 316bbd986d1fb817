"""Every store call is bounded: a store that accepts connections and never answers (a
black-hole listener) ends a request that needs it in SessionStorageError (a 500) within
the driver's documented budget, for every cloud driver, under ASGI (uvicorn) and WSGI;
and requests that never touch their session are answered at once meanwhile.

The budgets here are the drivers' options set small, so the tests stay quick; the
defaults and their bounds are in docs/aws.md, docs/gcp.md and docs/azure.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from hostsessions import SessionConfig, drivers
from hostsessions.asgi import SessionMiddleware as AsgiMiddleware
from hostsessions.ids import new_session_id
from hostsessions.testing.server import serve_asgi, serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiMiddleware

from .faults import black_hole

# What a busy 2-core machine (load 15 while eight suites run) adds to a driver's budget; a
# store call that is not bounded takes minutes, so the check keeps its meaning.
SLACK = 3.0
# A session-less request must not wait for the store: the budgets below are all 2.5 s
# or more, so a request held up by the store would take at least that long.
PLAIN_LIMIT = 2.0


def within(elapsed: float, budget: float) -> bool:
    return elapsed < budget * 1.5 + SLACK


def asgi_app(config: SessionConfig) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b"plain"
        if scope["path"] == "/session":
            body = repr(await scope["session"].get("cart")).encode()
        elif scope["path"] == "/open":
            scope["session"].set("cart", ["book"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return AsgiMiddleware(app, config)


def wsgi_app(config: SessionConfig) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"plain"
        if environ["PATH_INFO"] == "/session":
            body = repr(environ[ENVIRON_KEY].get("cart")).encode()
        elif environ["PATH_INFO"] == "/open":
            environ[ENVIRON_KEY].set("cart", ["book"])
        start_response("200 OK", [])
        return [body]

    return WsgiMiddleware(app, config)


@contextmanager
def served(interface: str, config: SessionConfig) -> Iterator[str]:
    if interface == "asgi":
        with serve_asgi(asgi_app(config)) as url:
            yield url
    else:
        with serve_wsgi(wsgi_app(config)) as url:
            yield url


def dynamodb_on(port: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, float]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    driver = drivers.dynamodb(
        table="sessions",
        region="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        connect_timeout=1.0,
        read_timeout=1.5,
        max_attempts=2,
    )
    return driver, driver.call_budget


def azure_on(port: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, float]:
    from hostsessions_azure.azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY

    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )
    driver = drivers.azure_tables(
        connection_string=connection_string,
        table="sessions",
        connection_timeout=1.0,
        read_timeout=1.5,
        retry_total=1,
        timeout=3.0,
    )
    return driver, driver.settings.call_budget


def firestore_on(port: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, float]:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "hostsessions-test")
    driver = drivers.firestore(timeout=3.0)
    return driver, 3.0


DRIVERS: dict[str, Callable[[int, pytest.MonkeyPatch], tuple[Any, float]]] = {
    "dynamodb": dynamodb_on,
    "azure-tables": azure_on,
    "firestore": firestore_on,
}


async def _session_and_plain(url: str) -> tuple[httpx.Response, float, list[float]]:
    """Start a request that needs the store; while it waits, time session-less requests."""
    cookie = {"cookie": f"hostsessions={new_session_id()}"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        started = time.monotonic()
        stuck = asyncio.create_task(client.get("/session", headers=cookie))
        await asyncio.sleep(0.3)
        plain_times = []
        for _ in range(3):
            before = time.monotonic()
            plain = await client.get("/plain")
            assert plain.status_code == 200
            assert plain.text == "plain"
            plain_times.append(time.monotonic() - before)
        response = await stuck
        return response, time.monotonic() - started, plain_times


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_a_silent_store_fails_the_request_within_the_budget(
    name: str, interface: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with black_hole() as port:
        driver, budget = DRIVERS[name](port, monkeypatch)
        with served(interface, SessionConfig(driver=driver)) as url:
            response, elapsed, plain_times = asyncio.run(_session_and_plain(url))
    assert response.status_code == 500, response.text[:300]
    assert within(elapsed, budget), f"{name} answered after {elapsed:.1f}s (budget {budget}s)"
    assert max(plain_times) < PLAIN_LIMIT, f"session-less requests were held up: {plain_times}"


def test_the_default_budgets_are_bounded() -> None:
    """What the docs promise for the defaults: well under a minute, whatever the store does."""
    dynamodb = drivers.dynamodb(table="sessions", region="us-east-1")
    assert dynamodb.call_budget <= 18
    from hostsessions_azure.settings import TableSettings

    azure = TableSettings(table="sessions", connection_string="UseDevelopmentStorage=true")
    assert azure.call_budget <= 14
    assert drivers.firestore(project="p").settings.timeout <= 10


# ---- a store that dies: each emulator killed (SIGKILL) under a live session ---------------


@contextmanager
def killable(name: str, root: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """An emulator of its own for ``name`` (never the shared one), and a driver on it with
    its default timeouts (a loaded machine needs them while the store is alive; a dead one
    refuses connections at once). Yields (driver, process to kill)."""
    if name == "dynamodb":
        import subprocess
        import sys
        from pathlib import Path

        from hostsessions.testing.processes import free_port, stop_process

        from .aws.support import REGION

        port = free_port()
        script = Path(__file__).with_name("aws") / "moto_server.py"
        process = subprocess.Popen(
            [sys.executable, str(script), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port)
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            driver = drivers.dynamodb(
                table="sessions",
                region=REGION,
                endpoint_url=f"http://127.0.0.1:{port}",
                create_table=True,
            )
            yield driver, process
        finally:
            stop_process(process)
    elif name == "azure-tables":
        from hostsessions_azure.azurite import run_azurite
        from hostsessions_azure.testing import find_azurite_table

        executable = find_azurite_table(root)
        assert executable is not None, "Azurite is missing: run scripts/setup.d/30-azurite.sh"
        with run_azurite(executable) as azurite:
            azure_driver = drivers.azure_tables(
                connection_string=azurite.connection_string, table="killed"
            )
            yield azure_driver, _Pid(azurite.pid)
    else:
        import google.cloud.firestore  # noqa: F401 - see firestore_on
        from hostsessions_gcp.emulator import FirestoreEmulator

        with FirestoreEmulator() as emulator:
            monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
            monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "hostsessions-test")
            yield drivers.firestore(), emulator.process


class _Pid:
    def __init__(self, pid: int) -> None:
        self.pid = pid


def _wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _budget(driver: Any) -> float:
    if hasattr(driver, "call_budget"):
        return float(driver.call_budget)
    settings = driver.settings
    return float(getattr(settings, "call_budget", settings.timeout))


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_a_killed_store_fails_the_request_within_the_budget(
    name: str, interface: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    import os
    import signal

    with killable(name, request.config.rootpath, monkeypatch) as (driver, process):
        config = SessionConfig(driver=driver)
        with served(interface, config) as url, httpx.Client(base_url=url, timeout=120) as browser:
            opened = browser.get("/open")  # a session written to the live store
            assert opened.status_code == 200, opened.text[:300]
            cookie = {"cookie": f"hostsessions={opened.cookies['hostsessions']}"}
            assert browser.get("/session", headers=cookie).text == "['book']"
            os.kill(process.pid, signal.SIGKILL)
            started = time.monotonic()
            failed = browser.get("/session", headers=cookie)
            elapsed = time.monotonic() - started
            plain = browser.get("/plain")
    assert failed.status_code == 500, failed.text[:300]
    assert within(elapsed, _budget(driver)), f"{name}: {elapsed:.1f}s"
    assert plain.status_code == 200


# ---- the filesystem store: a writer frozen while it holds a folder's lock ----------------


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_a_frozen_lock_holder_fails_a_write_within_the_lock_timeout(
    interface: str, tmp_path: Any
) -> None:
    import fcntl
    import os

    base = tmp_path / "sessions"
    held = []
    for index in range(256):  # every folder, whatever ID the new session gets
        folder = base / f"{index:02x}"
        folder.mkdir(parents=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a stopped worker would keep holding
        held.append(fd)
    try:
        config = SessionConfig(driver=drivers.fs(base=base, lock_timeout=1.0))
        with served(interface, config) as url, httpx.Client(base_url=url, timeout=60) as browser:
            started = time.monotonic()
            failed = browser.get("/open")
            elapsed = time.monotonic() - started
            plain = browser.get("/plain")
    finally:
        for fd in held:
            os.close(fd)
    assert failed.status_code == 500
    assert within(elapsed, 1.0), f"{elapsed:.1f}s"
    assert plain.status_code == 200
