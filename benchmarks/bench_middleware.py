"""What the hostsessions middleware adds to a request, and how many storage calls it makes.

One run measures, side by side in interleaved rounds, the same tiny app with and without
the middleware (memory driver), for four kinds of request:

    untouched  GET /a with a session cookie; the app never looks at the session
    read       GET /r with a session cookie; the app reads one key
    modify     GET /b with a session cookie; the app reads a counter and sets it + 1
    new        GET /s with no cookie; the app only sets one key (a new session)

Phases (each prints a table):

1. storage calls per request, ASGI and WSGI, through a counting driver; the script exits
   with status 1 if a count is not the expected one (0 / 1 read / 1 read + 1 write / 1 write).
2. ASGI in-process: the app called directly with a prepared scope and a no-op send.
3. WSGI in-process: the app called directly with a prepared environ.
4. ASGI through uvicorn on 127.0.0.1, load from ``wrk`` (skipped, with a note, if wrk is
   missing: ``apt-get install -y wrk``).

The machine this runs on is usually noisy, so every comparison is paired: in each round
every target runs one block, the floor's block of the same round is the reference, and
the tables show medians over rounds of those paired ratios and differences.

Run from the repository root::

    .venv/bin/python benchmarks/bench_middleware.py            # ~4 min on 2 cores
    .venv/bin/python benchmarks/bench_middleware.py --quick    # ~40 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

# Measure this checkout's code, whatever copy of hostsessions the interpreter has installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hostsessions import (
    SessionConfig,
    drivers,
)
from hostsessions.asgi import SessionMiddleware as AsgiSessionMiddleware
from hostsessions.drivers import Record
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

COOKIE_NAME = "hostsessions"
# What the floor sends instead of a real session cookie: same name, same length.
DUMMY_COOKIE = f"{COOKIE_NAME}={'f' * 43}"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    with_cookie: bool
    expected_calls: dict[str, int]
    description: str


SCENARIOS = [
    Scenario("untouched", "/a", True, {}, "cookie sent, session never used"),
    Scenario("read", "/r", True, {"read": 1}, "cookie sent, get('n')"),
    Scenario("modify", "/b", True, {"read": 1, "write": 1}, "cookie sent, get('n') then set"),
    Scenario("new", "/s", False, {"write": 1}, "no cookie, set('n', 1) only"),
]
# Checked for call counts only (the design's "lazy" rule), never timed.
EXTRA_COUNT_SCENARIOS = [
    Scenario("untouched, no cookie", "/a", False, {}, "no cookie, session never used"),
    Scenario("get, no cookie", "/r", False, {}, "no cookie, get('n') only"),
]


# ------------------------------------------------------------------------------ the apps


def _body_for(path: str, value: object) -> bytes:
    return b"ok" if value is None else str(value).encode()


async def raw_asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The app under test. Without the middleware there is no session and it answers "ok"."""
    session = scope.get("session")
    path = scope["path"]
    value: object = None
    if session is not None:
        if path == "/r":
            value = await session.get("n", 0)
        elif path == "/b":
            value = await session.get("n", 0) + 1
            session.set("n", value)
        elif path == "/s":
            value = 1
            session.set("n", value)
    body = _body_for(path, value)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def raw_wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI twin of :func:`raw_asgi_app`."""
    session = environ.get(ENVIRON_KEY)
    path = environ["PATH_INFO"]
    value: object = None
    if session is not None:
        if path == "/r":
            value = session.get("n", 0)
        elif path == "/b":
            value = session.get("n", 0) + 1
            session.set("n", value)
        elif path == "/s":
            value = 1
            session.set("n", value)
    body = _body_for(path, value)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


class CountingDriver:
    """Counts the versioned calls that reach the wrapped driver."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.blocking = getattr(inner, "blocking", True)
        self.calls: Counter[str] = Counter()

    def read(self, key: str) -> Record | None:
        self.calls["read"] += 1
        record: Record | None = self.inner.read(key)
        return record

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        self.calls["write"] += 1
        version: str = self.inner.write(
            key, payload, expires_at=expires_at, expected_version=expected_version
        )
        return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self.calls["delete"] += 1
        self.inner.delete(key, expected_version=expected_version)


class ThreadHopMemoryDriver:
    """The memory driver without its ``blocking = False``: the ASGI shell then runs every
    call on a worker thread, as it does for any driver that may block (the fs driver)."""

    def __init__(self) -> None:
        inner = drivers.memory()
        self.read = inner.read
        self.write = inner.write
        self.delete = inner.delete


def make_asgi(variant: str) -> ASGIApp:
    """``raw``, ``memory`` or ``memory-thread`` (the memory driver behind a thread hop)."""
    if variant == "raw":
        return raw_asgi_app
    if variant == "memory":
        return AsgiSessionMiddleware(raw_asgi_app, SessionConfig(driver="memory"))
    if variant == "memory-thread":
        return AsgiSessionMiddleware(raw_asgi_app, SessionConfig(driver=ThreadHopMemoryDriver()))
    raise ValueError(variant)


def make_wsgi(variant: str) -> WSGIApp:
    if variant == "raw":
        return raw_wsgi_app
    if variant == "memory":
        return WsgiSessionMiddleware(raw_wsgi_app, SessionConfig(driver="memory"))
    raise ValueError(variant)


# ------------------------------------------------------------------ direct calls, one request


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


def asgi_scope(path: str, cookie: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


async def asgi_request(app: ASGIApp, path: str, cookie: str | None) -> Response:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    await app(asgi_scope(path, cookie), _receive, send)
    start = messages[0]
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return Response(start["status"], headers, body)


def wsgi_environ(path: str, cookie: str | None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def _consume(body: Iterable[bytes]) -> bytes:
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def wsgi_request(app: WSGIApp, path: str, cookie: str | None) -> Response:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    body = _consume(app(wsgi_environ(path, cookie), start_response))
    return Response(int(started[0].split()[0]), list(started[1]), body)


def cookie_from(response: Response) -> str:
    for value in response.header("set-cookie"):
        pair = value.split(";", 1)[0]
        if pair.startswith(COOKIE_NAME + "=") and len(pair) > len(COOKIE_NAME) + 1:
            return pair
    raise RuntimeError(f"no session cookie in {response.headers!r}")


# ----------------------------------------------------------------------- phase 1: call counts


@dataclass
class CountRow:
    family: str
    scenario: Scenario
    calls: dict[str, int]
    set_cookie: int
    vary: int
    requests: int

    @property
    def ok(self) -> bool:
        return self.calls == self.scenario.expected_calls


def check_counts(per_scenario: int = 3) -> list[CountRow]:
    """Storage calls per request through a counting driver, for ASGI and WSGI."""
    rows: list[CountRow] = []
    for family in ("asgi", "wsgi"):
        driver = CountingDriver(drivers.memory())
        config = SessionConfig(driver=driver)
        loop = asyncio.new_event_loop()
        call = _caller(family, config, loop)
        cookie = cookie_from(call("/b", None))
        for scenario in SCENARIOS + EXTRA_COUNT_SCENARIOS:
            before = Counter(driver.calls)
            set_cookie = vary = 0
            for _ in range(per_scenario):
                response = call(scenario.path, cookie if scenario.with_cookie else None)
                assert response.status == 200, (family, scenario.name, response)
                set_cookie += bool(response.header("set-cookie"))
                vary += any("cookie" in v.lower() for v in response.header("vary"))
            delta = driver.calls - before
            # A count that is not a whole number per request shows as the total, and fails.
            per_request = {
                k: v // per_scenario if v % per_scenario == 0 else v for k, v in delta.items()
            }
            rows.append(CountRow(family, scenario, per_request, set_cookie, vary, per_scenario))
        loop.close()
    return rows


def _caller(
    family: str, config: SessionConfig, loop: asyncio.AbstractEventLoop
) -> Callable[[str, str | None], Response]:
    if family == "asgi":
        asgi_app = AsgiSessionMiddleware(raw_asgi_app, config)
        return lambda path, cookie: loop.run_until_complete(asgi_request(asgi_app, path, cookie))
    wsgi_app = WsgiSessionMiddleware(raw_wsgi_app, config)
    return lambda path, cookie: wsgi_request(wsgi_app, path, cookie)


def print_counts(rows: list[CountRow]) -> bool:
    print("\n## Storage calls per request (counting driver around the memory driver)\n")
    table = [["family", "request", "calls per request", "expected", "Set-Cookie", "Vary", "ok"]]
    for row in rows:
        table.append(
            [
                row.family,
                f"{row.scenario.name} ({row.scenario.description})",
                _calls(row.calls),
                _calls(row.scenario.expected_calls),
                f"{row.set_cookie}/{row.requests}",
                f"{row.vary}/{row.requests}",
                "ok" if row.ok else "WRONG",
            ]
        )
    print_table(table)
    return all(row.ok for row in rows)


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(calls.items())) or "0"


# ------------------------------------------------------------------ phases 2-3: in-process


@dataclass
class Target:
    """One (variant, scenario) pair; ``blocks`` holds ns per request for each round."""

    family: str
    variant: str
    scenario: Scenario
    blocks: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.family}:{self.variant}:{self.scenario.name}"


def rotations(items: list[Any], rounds: int) -> Iterator[list[Any]]:
    """Each round starts one target later, so no target is always first (or last)."""
    for r in range(rounds):
        k = r % len(items)
        yield items[k:] + items[:k]


async def _asgi_block(app: ASGIApp, scope: dict[str, Any], n: int) -> int:
    copy = scope.copy
    start = perf_counter_ns()
    for _ in range(n):
        await app(copy(), _receive, _discard)
    return perf_counter_ns() - start


def _wsgi_block(app: WSGIApp, environ: dict[str, Any], n: int) -> int:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    copy = environ.copy
    start = perf_counter_ns()
    for _ in range(n):
        body = app(copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return perf_counter_ns() - start


class DirectApp:
    """One app under test, called directly on one event loop (ASGI) or plainly (WSGI)."""

    def __init__(self, family: str, variant: str, loop: asyncio.AbstractEventLoop) -> None:
        self.family = family
        self.loop = loop
        if family == "asgi":
            self.asgi = make_asgi(variant)
        else:
            self.wsgi = make_wsgi(variant)

    def request(self, path: str, cookie: str | None) -> Response:
        if self.family == "asgi":
            return self.loop.run_until_complete(asgi_request(self.asgi, path, cookie))
        return wsgi_request(self.wsgi, path, cookie)

    def prepare(self, path: str, cookie: str | None) -> dict[str, Any]:
        return (asgi_scope if self.family == "asgi" else wsgi_environ)(path, cookie)

    def block(self, prepared: dict[str, Any], n: int) -> int:
        """ns for ``n`` calls with copies of ``prepared``."""
        if self.family == "asgi":
            return self.loop.run_until_complete(_asgi_block(self.asgi, prepared, n))
        return _wsgi_block(self.wsgi, prepared, n)


def run_inproc(family: str, variants: list[str], n: int, rounds: int, warmup: int) -> list[Target]:
    """Interleaved blocks of ``n`` direct calls per target and round."""
    loop = asyncio.new_event_loop()
    try:
        apps: dict[str, DirectApp] = {}
        prepared: dict[str, dict[str, Any]] = {}
        targets: list[Target] = []
        for variant in variants:
            app = apps[variant] = DirectApp(family, variant, loop)
            cookie = DUMMY_COOKIE if variant == "raw" else cookie_from(app.request("/b", None))
            for scenario in SCENARIOS:
                target = Target(family, variant, scenario)
                sent = cookie if scenario.with_cookie else None
                check = app.request(scenario.path, sent)
                if check.status != 200:
                    raise RuntimeError(f"{target.key}: status {check.status}")
                prepared[target.key] = app.prepare(scenario.path, sent)
                targets.append(target)
        for target in targets:
            apps[target.variant].block(prepared[target.key], warmup)
        for order in rotations(targets, rounds):
            for target in order:
                gc.collect()
                elapsed = apps[target.variant].block(prepared[target.key], n)
                target.blocks.append(elapsed / n)
        return targets
    finally:
        loop.close()


@dataclass
class Comparison:
    scenario: str
    variant: str
    us_per_request: float
    rps: float
    floor_rps: float
    ratio: float  # rps with the middleware / rps without, median of paired rounds
    added_us: float  # median of paired (us - floor us)
    added_us_range: tuple[float, float]


def compare(targets: list[Target], floor_variant: str) -> list[Comparison]:
    """Paired per round with the floor's block of the same scenario."""
    floors = {t.scenario.name: t for t in targets if t.variant == floor_variant}
    out: list[Comparison] = []
    for target in targets:
        floor = floors[target.scenario.name]
        pairs = list(zip(target.blocks, floor.blocks, strict=True))
        added = [(ns - floor_ns) / 1000 for ns, floor_ns in pairs]
        out.append(
            Comparison(
                scenario=target.scenario.name,
                variant=target.variant,
                us_per_request=statistics.median(target.blocks) / 1000,
                rps=1e9 / statistics.median(target.blocks),
                floor_rps=1e9 / statistics.median(floor.blocks),
                ratio=statistics.median(floor_ns / ns for ns, floor_ns in pairs),
                added_us=statistics.median(added),
                added_us_range=(min(added), max(added)),
            )
        )
    return out


def print_comparisons(title: str, rows: list[Comparison]) -> None:
    print(f"\n## {title}\n")
    table = [["request", "variant", "us/req", "req/s", "req/s ratio", "+us/req", "+us range"]]
    for scenario in SCENARIOS:
        for row in rows:
            if row.scenario != scenario.name:
                continue
            is_floor = row.rps == row.floor_rps and row.added_us == 0
            table.append(
                [
                    row.scenario,
                    row.variant,
                    f"{row.us_per_request:.1f}",
                    f"{row.rps:,.0f}",
                    "-" if is_floor else f"{row.ratio:.2f}",
                    "-" if is_floor else f"{row.added_us:+.1f}",
                    "-"
                    if is_floor
                    else f"{row.added_us_range[0]:+.1f} .. {row.added_us_range[1]:+.1f}",
                ]
            )
    print_table(table)


# ------------------------------------------------------------- phase 4: uvicorn and wrk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(variant: str, port: int) -> None:
    """The child process of the server phase: one uvicorn, one app."""
    import uvicorn

    uvicorn.run(
        make_asgi(variant),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


class Server:
    """A uvicorn child process, started and stopped by PID."""

    def __init__(self, variant: str, cpu: int | None, log_dir: str) -> None:
        self.variant = variant
        self.port = free_port()
        command = [sys.executable, os.path.abspath(__file__), "--serve", variant]
        command += ["--port", str(self.port)]
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        self.log = open(os.path.join(log_dir, f"uvicorn-{variant}.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.cookie = DUMMY_COOKIE

    def request(self, path: str, cookie: str | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            reply = connection.getresponse()
            return Response(reply.status, list(reply.getheaders()), reply.read())
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn {self.variant} exited; see {self.log.name}")
            with contextlib.suppress(OSError):
                if self.request("/a").status == 200:
                    if self.variant != "raw":
                        self.cookie = cookie_from(self.request("/b"))
                    return
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn {self.variant} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:")


def run_wrk(
    port: int, path: str, cookie: str | None, seconds: int, connections: int, cpu: int | None
) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    if _WRK_ERRORS.search(output):
        raise RuntimeError(f"wrk saw errors on {path}:\n{output}")
    match = _WRK_RPS.search(output)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    return float(match.group(1))


def run_server_phase(
    variants: list[str], seconds: int, rounds: int, connections: int, pin: bool, log_dir: str
) -> list[Target]:
    """wrk against one uvicorn per variant; ``blocks`` holds 1e9 / req/s (ns per request)."""
    server_cpu, wrk_cpu = (1, 0) if pin else (None, None)
    servers = {variant: Server(variant, server_cpu, log_dir) for variant in variants}
    try:
        for server in servers.values():
            server.wait_ready()
        targets = [Target("uvicorn", v, s) for v in variants for s in SCENARIOS]

        def one(target: Target, duration: int) -> float:
            server = servers[target.variant]
            cookie = server.cookie if target.scenario.with_cookie else None
            return run_wrk(
                server.port, target.scenario.path, cookie, duration, connections, wrk_cpu
            )

        for target in targets:
            one(target, 1)  # warm-up
        for order in rotations(targets, rounds):
            for target in order:
                target.blocks.append(1e9 / one(target, seconds))
        for variant, server in servers.items():
            if variant != "raw":  # the session still counts after the load
                response = server.request("/b", server.cookie)
                assert response.status == 200, response
                assert int(response.body) > 1, response
        return targets
    finally:
        for server in servers.values():
            server.stop()


# --------------------------------------------------------------------------------- output


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def environment() -> dict[str, str]:
    import importlib.metadata

    info = {"python": sys.version.split()[0], "cpus": str(os.cpu_count())}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "hostsessions"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["hostsessions"] = commit + (" + uncommitted changes" if changed else "")
    for package in ("uvicorn", "h11", "httptools", "uvloop"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[package] = importlib.metadata.version(package)
    if shutil.which("wrk"):
        version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        info["wrk"] = (version.stdout or version.stderr).split("[")[0].strip()
    with contextlib.suppress(OSError):
        info["loadavg before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (~40 s)")
    parser.add_argument("--n", type=int, help="direct calls per block (default 5000; quick 600)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 10; quick 3)")
    parser.add_argument("--warmup", type=int, default=300, help="calls per target before timing")
    parser.add_argument("--wrk-duration", type=int, help="seconds per wrk run (default 2; quick 1)")
    parser.add_argument("--wrk-rounds", type=int, help="wrk rounds (default 5; quick 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--skip-server", action="store_true", help="leave out uvicorn + wrk")
    parser.add_argument("--skip-inproc", action="store_true", help="leave out the direct calls")
    parser.add_argument("--json", help="write every measurement to this file")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    n = args.n or (600 if args.quick else 5000)
    rounds = args.rounds or (3 if args.quick else 10)
    wrk_seconds = args.wrk_duration or (1 if args.quick else 2)
    wrk_rounds = args.wrk_rounds or (2 if args.quick else 5)

    info = environment()
    print("# hostsessions middleware overhead")
    print("\n" + "; ".join(f"{k} {v}" for k, v in info.items()))
    results: dict[str, Any] = {"environment": info}

    rows = check_counts()
    counts_ok = print_counts(rows)
    results["counts"] = [
        {"family": r.family, "scenario": r.scenario.name, "calls": r.calls, "ok": r.ok}
        for r in rows
    ]

    sections: list[tuple[str, list[Comparison]]] = []
    if not args.skip_inproc:
        asgi = run_inproc("asgi", ["raw", "memory", "memory-thread"], n, rounds, args.warmup)
        sections.append(
            (
                f"ASGI in-process: direct calls, {n} per block x {rounds} rounds "
                "(memory-thread: the memory driver behind the worker-thread hop)",
                compare(asgi, "raw"),
            )
        )
        wsgi = run_inproc("wsgi", ["raw", "memory"], n, rounds, args.warmup)
        title = f"WSGI in-process: direct calls, {n} per block x {rounds} rounds"
        sections.append((title, compare(wsgi, "raw")))
    if not args.skip_server:
        if shutil.which("wrk") is None:
            print("\nnote: wrk not found (apt-get install -y wrk): uvicorn phase skipped")
        else:
            cpus = os.cpu_count() or 1
            pin = not args.no_pin and shutil.which("taskset") is not None and cpus > 1
            log_dir = os.environ.get("TMPDIR", "/tmp")
            served = run_server_phase(
                ["raw", "memory", "memory-thread"],
                wrk_seconds,
                wrk_rounds,
                args.connections,
                pin,
                log_dir,
            )
            sections.append(
                (
                    "ASGI through uvicorn (h11, asyncio, 1 process"
                    f"{', pinned to CPU 1' if pin else ''})"
                    f" + wrk -t1 -c{args.connections}, {wrk_rounds} x {wrk_seconds} s per target",
                    compare(served, "raw"),
                )
            )
    for title, comparisons in sections:
        print_comparisons(title, comparisons)
        results[title] = [c.__dict__ for c in comparisons]
    with contextlib.suppress(OSError):
        print("\nloadavg after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2, default=str)
    if not counts_ok:
        print("\nFAILED: a storage call count is not the expected one (see the table above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
