"""Where the time of one request through the hostsessions middleware goes.

Three views of one kind of request (default: ``modify``, a read and a write):

1. cProfile over many direct calls: the top functions by own time, and own time summed
   per module (cProfile inflates small calls, so read the shares, not the microseconds).
2. What the request's building blocks cost alone (``timeit``), with how many times one
   request runs each (counted by the same profile), so the sum can be set against the
   measured request.
3. Ablations, measured in interleaved rounds against the unchanged middleware: the
   codec swapped for stdlib ``json`` (what a cheaper encoding would save), and the memory
   driver behind the worker-thread hop (what ``blocking = False`` saves).

Run from the repository root::

    .venv/bin/python benchmarks/profile_middleware.py                 # modify, ASGI, memory
    .venv/bin/python benchmarks/profile_middleware.py --scenario read --family wsgi
    .venv/bin/python benchmarks/profile_middleware.py --driver fs     # the filesystem driver
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import tempfile
import timeit
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter_ns
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_middleware as bench

from hostsessions import SessionConfig, codec, drivers, state
from hostsessions.asgi import SessionMiddleware as AsgiSessionMiddleware
from hostsessions.cookies import session_id_from_cookie_header
from hostsessions.ids import new_session_id
from hostsessions.manager import SessionManager
from hostsessions.plans import Running, drive_async
from hostsessions.session import AsyncSession, Session
from hostsessions.storage import async_store
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware

SCENARIOS = {s.name: s for s in bench.SCENARIOS}


class Request:
    """One prepared request against one middleware, callable in blocks of ``n``."""

    def __init__(self, family: str, driver: Any, scenario: bench.Scenario, cart: int = 0) -> None:
        self.family = family
        self.scenario = scenario
        self.loop = asyncio.new_event_loop()
        config = SessionConfig(driver=driver)
        if family == "asgi":
            self.asgi = AsgiSessionMiddleware(bench.raw_asgi_app, config)
            first = self.loop.run_until_complete(bench.asgi_request(self.asgi, "/b", None))
        else:
            self.wsgi = WsgiSessionMiddleware(bench.raw_wsgi_app, config)
            first = bench.wsgi_request(self.wsgi, "/b", None)
        cookie = bench.cookie_from(first) if scenario.with_cookie else None
        self.session_id = cookie.split("=", 1)[1] if cookie else None
        if cart and cookie:
            seed = WsgiSessionMiddleware(_seed_app(cart), SessionConfig(driver=driver))
            bench.wsgi_request(seed, "/", cookie)
        builder = bench.asgi_scope if family == "asgi" else bench.wsgi_environ
        self.prepared = builder(scenario.path, cookie)

    def block(self, n: int) -> int:
        """ns for ``n`` requests."""
        if self.family == "asgi":
            return self.loop.run_until_complete(bench._asgi_block(self.asgi, self.prepared, n))
        return bench._wsgi_block(self.wsgi, self.prepared, n)

    def close(self) -> None:
        self.loop.close()


def cart_items(count: int) -> list[dict[str, Any]]:
    """A shop cart: what a realistic session holds besides a counter."""
    return [
        {"sku": f"SKU-{i:05d}", "name": f"Item number {i}", "qty": i % 5 + 1, "price": 9.99 + i}
        for i in range(count)
    ]


def _seed_app(count: int) -> bench.WSGIApp:
    def app(environ: dict[str, Any], start_response: bench.StartResponse) -> list[bytes]:
        environ[ENVIRON_KEY].set("cart", cart_items(count))
        start_response("200 OK", [("Content-Length", "0")])
        return []

    return app


def make_driver(name: str, scratch: str) -> Any:
    if name == "memory":
        return drivers.memory()
    if name == "memory-thread":
        return bench.ThreadHopMemoryDriver()
    if name == "fs":
        return drivers.fs(base=os.path.join(scratch, "fs"))
    raise ValueError(name)


# ----------------------------------------------------------------------- 1. cProfile


def profile(request: Request, n: int, top: int) -> pstats.Stats:
    request.block(min(n, 500))
    profiler = cProfile.Profile()
    profiler.enable()
    request.block(n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"\n## cProfile: {n} requests, top {top} functions by own time\n")
    rows = [["function", "calls/req", "own us/req", "cum us/req", "own share"]]
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    for func, (_cc, calls, own, cum, _callers) in sorted(
        raw.items(), key=lambda item: item[1][2], reverse=True
    )[:top]:
        rows.append(
            [
                _label(func),
                f"{calls / n:g}",
                f"{own / n * 1e6:.2f}",
                f"{cum / n * 1e6:.2f}",
                f"{own / total:.0%}",
            ]
        )
    bench.print_table(rows)
    print(f"\n## cProfile: own time per module ({total / n * 1e6:.1f} us/req under the profiler)\n")
    by_module: dict[str, float] = {}
    for func, (_cc, _calls, own, _cum, _callers) in raw.items():
        module = _module(func[0])
        by_module[module] = by_module.get(module, 0.0) + own
    rows = [["module", "own us/req", "share"]]
    for module, own in sorted(by_module.items(), key=lambda item: item[1], reverse=True):
        if own / total >= 0.005:
            rows.append([module, f"{own / n * 1e6:.2f}", f"{own / total:.0%}"])
    bench.print_table(rows)
    return stats


def _module(filename: str) -> str:
    if "hostsessions" in filename:
        return "hostsessions/" + filename.split("hostsessions/", 1)[1].rsplit("/hostsessions/")[-1]
    if filename.startswith("<frozen "):
        return "stdlib/" + filename[len("<frozen ") : -1]
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    if "bench_middleware" in filename:
        return "the benchmark app"
    return "stdlib/" + os.path.basename(filename)


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    return f"{_module(filename)}:{line}({name})"


def calls_per_request(stats: pstats.Stats, n: int, module: str, name: str) -> float:
    """How many times one request called ``name`` in a file whose name contains ``module``."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    found = 0.0
    for (filename, _line, function), entry in raw.items():
        if function == name and module in os.path.basename(filename):
            found += float(entry[1]) / n
    return found


# ----------------------------------------------------------------- 2. building blocks


def building_blocks(stats: pstats.Stats, n: int, number: int, cart: int) -> None:
    """timeit of each piece the request runs, with the profile's count per request."""
    stored: dict[str, Any] = {"n": {"data": 12345}}
    if cart:
        stored["cart"] = {"data": cart_items(cart)}
    payload = codec.stringify(codec.JSMap(stored))
    entries = state.decode_entries(payload)
    assert entries is not None
    session_id = new_session_id()
    header = f"hostsessions={session_id}"
    manager = SessionManager(SessionConfig(driver="memory"))
    driver = drivers.memory()
    versions = [driver.write(session_id, payload, expires_at=None, expected_version=None)]

    def write() -> None:
        versions[0] = driver.write(
            session_id, payload, expires_at=None, expected_version=versions[0]
        )

    def per_request(module: str, name: str, share: float = 1.0) -> str:
        return f"{calls_per_request(stats, n, module, name) * share:g}"

    sync_blocks: list[tuple[str, Callable[[], object], str]] = [
        (
            "session_id_from_cookie_header",
            lambda: session_id_from_cookie_header(header, "hostsessions"),
            per_request("cookies", "session_id_from_cookie_header"),
        ),
        (
            "SessionManager.new_state (SessionState())",
            lambda: manager.new_state(session_id),
            per_request("manager", "new_state"),
        ),
        (
            "codec.parse(stored payload)",
            lambda: codec.parse(payload),
            per_request("codec", "parse"),
        ),
        ("  json.loads(payload), for scale", lambda: json.loads(payload), "-"),
        (
            "codec.stringify(12346) (in set)",
            lambda: codec.stringify(12346),
            per_request("state", "set"),
        ),
        (
            "codec.stringify(JSMap) (in save)",
            lambda: codec.stringify(codec.JSMap(stored)),
            per_request("state", "encode_entries"),
        ),
        (
            "  json.dumps(dict), for scale",
            lambda: json.dumps(stored, separators=(",", ":")),
            "-",
        ),
        (
            "state.decode_entries(payload) (parse + checks)",
            lambda: state.decode_entries(payload),
            per_request("state", "decode_entries"),
        ),
        (
            "state.encode_entries(entries) (stringify)",
            lambda: state.encode_entries(entries),
            per_request("state", "encode_entries"),
        ),
        ("memory driver read", lambda: driver.read(session_id), per_request("memory", "read")),
        ("memory driver write", write, per_request("memory", "write")),
        ("new_session_id()", new_session_id, per_request("ids", "new_session_id")),
        (
            "manager.response_cookie (nothing to set)",
            lambda: manager.response_cookie(manager.new_state(session_id), "http", "127.0.0.1"),
            per_request("manager", "response_cookie"),
        ),
    ]
    print(f"\n## Building blocks alone (best of 5 x {number}; x/req counted by the profile)\n")
    rows = [["block", "us per call", "x/req"]]
    for label, function, count in sync_blocks:
        seconds = min(timeit.repeat(function, number=number, repeat=5))
        rows.append([label, f"{seconds / number * 1e6:.2f}", count])

    loop = asyncio.new_event_loop()
    plain = drivers.memory()
    plain.write(session_id, payload, expires_at=None, expected_version=None)
    immediate = async_store(plain)
    hopping = async_store(bench.ThreadHopMemoryDriver())
    hopping._store.write(session_id, payload, expires_at=None, expected_version=None)  # type: ignore[attr-defined]
    executor = ThreadPoolExecutor(max_workers=1)

    def empty_program() -> state.Program[None]:
        return
        yield

    async def run_empty() -> None:
        await Running(drive_async(empty_program(), _never))

    async def one_step() -> None:
        await AsyncSession(state.SessionState(session_id), lambda: immediate).get("n")

    async_blocks: list[tuple[str, Callable[[], Awaitable[object]], int, str]] = [
        ("drive_async(empty program)", run_empty, number, per_request("plans", "drive_async")),
        (
            "AsyncSession.get with its read (memory, on the loop)",
            one_step,
            number,
            per_request("session", "get"),
        ),
        (
            "await store.read, memory driver (no hop)",
            lambda: immediate.read(session_id),
            number,
            "-",
        ),
        (
            "await store.read behind the core's thread hop",
            lambda: hopping.read(session_id),
            number // 10,
            "-",
        ),
        (
            "  alternative: loop.run_in_executor(default pool)",
            lambda: asyncio.get_running_loop().run_in_executor(None, plain.read, session_id),
            number // 10,
            "-",
        ),
        (
            "  alternative: run_in_executor(own 1-thread pool)",
            lambda: asyncio.get_running_loop().run_in_executor(executor, plain.read, session_id),
            number // 10,
            "-",
        ),
        (
            "  alternative: asyncio.to_thread",
            lambda: asyncio.to_thread(plain.read, session_id),
            number // 10,
            "-",
        ),
    ]
    for label, make, count_runs, count in async_blocks:
        best = min(loop.run_until_complete(_time_awaits(make, count_runs)) for _ in range(5))
        rows.append([label, f"{best / count_runs / 1000:.2f}", count])
    bench.print_table(rows)
    executor.shutdown()
    loop.close()


async def _time_awaits(make: Callable[[], Awaitable[object]], number: int) -> int:
    start = perf_counter_ns()
    for _ in range(number):
        await make()
    return perf_counter_ns() - start


async def _never(step: Any) -> Any:
    raise AssertionError(step)


# ------------------------------------------------------------------------ 3. ablations


@contextlib.contextmanager
def json_codec() -> Iterator[None]:
    """The state machine's codec swapped for stdlib json (a plain dict stands in for the Map)."""
    real = codec.parse, codec.stringify, codec.JSMap
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    # state.py calls codec.parse / codec.stringify / codec.JSMap through the module.
    codec.parse, codec.stringify, codec.JSMap = json.loads, dumps, dict  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        codec.parse, codec.stringify, codec.JSMap = real  # type: ignore[misc]


# What ``decode_once`` remembers: [payload, entries], forgotten at the start of each request.
_DECODED: list[Any] = [None, None]


@contextlib.contextmanager
def decode_once() -> Iterator[None]:
    """``decode_entries`` remembers the payload it decoded in this request: the save's
    ``_compose`` then reuses what the read decoded instead of parsing the same stored
    payload a second time. (Forgotten between requests, see :func:`forgetting`.)"""
    real = state.decode_entries

    def remembering(payload: str) -> Any:
        if payload is not _DECODED[0]:
            _DECODED[:] = [payload, real(payload)]
        return _DECODED[1]

    state.decode_entries = remembering
    try:
        yield
    finally:
        state.decode_entries = real


def forgetting(request: Request) -> Request:
    """Clear ``decode_once``'s memory before every request (one extra call per request)."""
    if request.family == "asgi":
        inner_asgi = request.asgi

        async def asgi(scope: bench.Scope, receive: bench.Receive, send: bench.Send) -> None:
            _DECODED[0] = None
            await inner_asgi(scope, receive, send)

        request.asgi = asgi  # type: ignore[assignment]
    else:
        inner_wsgi = request.wsgi

        def wsgi(environ: dict[str, Any], start_response: bench.StartResponse) -> Any:
            _DECODED[0] = None
            return inner_wsgi(environ, start_response)

        request.wsgi = wsgi  # type: ignore[assignment]
    return request


@contextlib.contextmanager
def skip_clean_save() -> Iterator[None]:
    """The middleware's save at the response start skipped when nothing changed."""
    real_async, real_sync = AsyncSession.save, Session.save

    async def async_save(self: AsyncSession) -> None:
        if self._state.dirty:
            await real_async(self)

    def sync_save(self: Session) -> None:
        if self._state.dirty:
            real_sync(self)

    AsyncSession.save = async_save  # type: ignore[method-assign]
    Session.save = sync_save  # type: ignore[method-assign]
    try:
        yield
    finally:
        AsyncSession.save = real_async  # type: ignore[method-assign]
        Session.save = real_sync  # type: ignore[method-assign]


def ablations(family: str, scenario: bench.Scenario, n: int, rounds: int, cart: int) -> None:
    def memory() -> Request:
        return Request(family, drivers.memory(), scenario, cart)

    variants: list[tuple[str, Callable[[], Request], Callable[[], Any]]] = [
        ("as is (memory driver)", memory, _no_patch),
        ("codec -> stdlib json (not devalue: scale only)", memory, json_codec),
        ("stored payload decoded once, not twice", lambda: forgetting(memory()), decode_once),
        ("no save() program when nothing changed", memory, skip_clean_save),
    ]
    if family == "asgi":
        variants.append(
            (
                "memory driver behind the thread hop",
                lambda: Request(family, bench.ThreadHopMemoryDriver(), scenario, cart),
                _no_patch,
            )
        )
    requests = []
    for label, make, patch in variants:
        with patch():
            requests.append((label, make(), patch))
            requests[-1][1].block(300)
    times: dict[str, list[float]] = {label: [] for label, _, _ in requests}
    for order in bench.rotations(requests, rounds):
        for label, request, patch in order:
            gc.collect()
            with patch():
                times[label].append(request.block(n) / n / 1000)
    base = times[requests[0][0]]
    print(
        f"\n## Ablations: {scenario.name}, {family}, {n} requests x {rounds} interleaved rounds\n"
    )
    rows = [["variant", "us/req", "vs as is (paired median)"]]
    for label, samples in times.items():
        diff = statistics.median(s - b for s, b in zip(samples, base, strict=True))
        shown = "-" if samples is base else f"{diff:+.1f} us"
        rows.append([label, f"{statistics.median(samples):.1f}", shown])
    bench.print_table(rows)
    for _, request, _ in requests:
        request.close()


@contextlib.contextmanager
def _no_patch() -> Iterator[None]:
    yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="modify")
    parser.add_argument("--family", choices=["asgi", "wsgi"], default="asgi")
    parser.add_argument("--driver", choices=["memory", "memory-thread", "fs"], default="memory")
    parser.add_argument("--n", type=int, default=5000, help="requests under the profiler")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=8, help="ablation rounds")
    parser.add_argument(
        "--cart", type=int, default=0, help="also store a cart of this many items in the session"
    )
    parser.add_argument("--skip-ablations", action="store_true")
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    size = f", cart of {args.cart} items" if args.cart else ""
    print(
        f"# Profile: {scenario.name} ({scenario.description}){size}, {args.family}, {args.driver}"
    )
    with tempfile.TemporaryDirectory(prefix="hs-profile-") as scratch:
        driver = make_driver(args.driver, scratch)
        request = Request(args.family, driver, scenario, args.cart)
        request.block(300)
        plain = statistics.median(request.block(args.n) / args.n / 1000 for _ in range(5))
        print(f"\nmeasured without the profiler: {plain:.1f} us/req (median of 5 blocks)")
        stats = profile(request, args.n, args.top)
        request.close()
        if request.session_id is not None:
            record = driver.read(request.session_id)
            print(f"stored payload: {len(record.payload)} characters")
        building_blocks(stats, args.n, 20_000 if args.cart < 10 else 2_000, args.cart)
        if not args.skip_ablations:
            ablations(args.family, scenario, max(500, args.n // 5), args.rounds, args.cart)
    return 0


if __name__ == "__main__":
    start = perf_counter_ns()
    code = main()
    print(f"\n({(perf_counter_ns() - start) / 1e9:.0f} s)")
    sys.exit(code)
