"""Is a request's cost flat in the number of stored sessions?

For the memory and the filesystem driver, two stores are filled first, one with 10
sessions and one with 100,000 (``--large``), each session a small record with a TTL,
written by the core itself (a ``SessionState`` saved with ``save_at_once``, as the ASGI
middleware saves a session), so that every record is what this process's middleware
would hold: with a store that keeps objects (the memory driver), that includes what the
core keeps next to the payload. Then the same request runs against both, through the ASGI
middleware called directly (no server): ``get("n")`` then ``set("n", n + 1)`` on a
session picked at random among the stored ones, so that the large store is read and
written all over (the worst case for every cache: in real traffic the sessions in use at
any moment are a small part of those stored). A third row (``--active``, default 10)
sends the requests of the large store to only 10 of its sessions: the same working set as
the small store, so that what remains between the two is the cost of the store's size
alone, apart from the cost of touching many different sessions. ``--active 10,1000``
adds a row per count: how the cost grows with the number of sessions in use.

Each request's scope and ``Cookie`` header are built just before it, outside the timed
part, from a list of the picked sessions' IDs encoded once in order, the same for every
store: a real request's headers are fresh bytes off the socket, and a pre-built scope per
request would be one more object to fetch from memory in the timed part.

Blocks of requests alternate between the stores over interleaved rounds; the table shows
the median per-request time of each, its ratio to the small store (the bar: the large
store within 1.1x of the small one), the median of the per-round ratios with their range,
and the same difference in microseconds (the median of the per-round differences): what
reaching one session among many costs, apart from what the rest of the request costs.
A block's figure is the median of its requests, so a garbage collection or a page-cache
flush landing in one request does not move it; the filling's garbage is collected before
the first timed request.

Run from the repository root::

    .venv/bin/python benchmarks/bench_session_count.py            # ~1-2 min on 2 cores
    .venv/bin/python benchmarks/bench_session_count.py --quick    # ~40 s
    .venv/bin/python benchmarks/bench_session_count.py --json /tmp/count.json

The filesystem stores are made under ``--dir`` (default: a temporary folder under
``/tmp``) and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

# Measure this checkout's code, whatever copy of hostsessions the interpreter has installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hostsessions import SessionConfig
from hostsessions.asgi import SessionMiddleware
from hostsessions.drivers import FsDriver, MemoryDriver, Record, WriteConflict
from hostsessions.drivers.base import make_record
from hostsessions.state import SessionState

try:  # the core keeps its decoded entries next to the payload in a store that allows it
    from hostsessions.drivers.base import keeps_objects
except ImportError:  # a checkout from before that

    def keeps_objects(driver: object) -> bool:
        return False


Message = MutableMapping[str, Any]
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

COOKIE = "sid"
TTL = 3600.0


async def counter_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    session = scope["session"]
    n = await session.get("n", 0)
    session.set("n", n + 1)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class BareDictDriver:
    """A reference for the benchmark only: a versioned store that is a bare dict."""

    store_name = "dict"
    blocking = False
    blocking_reads = False
    keeps_objects = True

    def __init__(self) -> None:
        self._records: dict[str, tuple[str, str, float | None, str | None, Any]] = {}
        self._versions = itertools.count(1)

    def read(self, key: str) -> Record | None:
        entry = self._records.get(key)
        return None if entry is None else make_record(*entry)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
        kept: Any = None,
    ) -> str:
        current = self._records.get(key)
        if (None if current is None else current[1]) != expected_version:
            raise WriteConflict(key, expected_version, current=None)
        version = str(next(self._versions))
        self._records[key] = (payload, version, expires_at, token, kept)
        return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self._records.pop(key, None)

    def __len__(self) -> int:
        return len(self._records)


class BareFilesDriver:
    """A reference for the benchmark only: one file per session, no lock, no atomicity."""

    store_name = "files"
    blocking = False
    blocking_reads = False

    def __init__(self, base: str) -> None:
        os.makedirs(base)
        self.base = base
        self._versions = itertools.count(1)

    def _current(self, key: str) -> list[str] | None:
        """The file's version, write token and payload, and its length."""
        try:
            fd = os.open(os.path.join(self.base, key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            data = os.read(fd, 1 << 20)
        finally:
            os.close(fd)
        return [*data.decode().split("\n", 2), str(len(data))]

    def read(self, key: str) -> Record | None:
        current = self._current(key)
        if current is None:
            return None
        version, token, payload, _ = current
        return make_record(payload, version, None, token or None)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        current = self._current(key)
        if (None if current is None else current[0]) != expected_version:
            raise WriteConflict(key, expected_version, current=None)
        version = str(next(self._versions))
        data = f"{version}\n{token or ''}\n{payload}".encode()
        fd = os.open(os.path.join(self.base, key), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            if current is not None and len(data) < int(current[3]):
                os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
        return version

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.base, key))


def fill(driver: Any, count: int) -> list[str]:
    """``count`` sessions {"n": 1, "user": ...} with a TTL, each made and saved by the core
    as the ASGI middleware saves a new session (``save_at_once`` with the store's write)."""
    ids = []
    keep = keeps_objects(driver)
    for number in range(count):
        state = SessionState(None, default_ttl=TTL)
        state.set("n", 1, None)
        state.set("user", f"user-{number}", None)
        if keep:
            unfinished = state.save_at_once(driver.write, keep=True)
        else:
            unfinished = state.save_at_once(driver.write)
        assert unfinished is None, "a new session is saved at once"
        assert state.id is not None
        ids.append(state.id)
    return ids


class Store:
    """One filled store, its middleware and a fixed random sequence of its sessions.

    ``active`` limits the requests to that many of the stored sessions (None: all of
    them); ``of`` makes this a second view of an already filled store.
    """

    def __init__(
        self,
        kind: str,
        count: int,
        base: str,
        sample: int,
        *,
        active: int | None = None,
        of: Store | None = None,
    ) -> None:
        self.kind, self.count, self.active = kind, count, active
        if of is not None:
            driver, ids, self.fill_seconds = of.driver, of.ids, of.fill_seconds
        else:
            if kind == "memory":
                driver = MemoryDriver(max_sessions=max(count, 10) * 2)
            elif kind == "dict":
                driver = BareDictDriver()
            elif kind == "files":
                driver = BareFilesDriver(os.path.join(base, f"files-{count}"))
            else:
                driver = FsDriver(os.path.join(base, f"fs-{count}"))
            started = time.perf_counter()
            ids = fill(driver, count)
            self.fill_seconds = time.perf_counter() - started
            if kind in ("fs", "files"):
                # Let the kernel write the filled store out now, not during the timed rounds.
                os.sync()
        self.driver: Any = driver
        self.ids = ids
        self.app = SessionMiddleware(counter_app, SessionConfig(driver=driver, cookie=COOKIE))
        chooser = random.Random(count if active is None else -active)
        pool = ids if active is None else chooser.sample(ids, active)
        # Encoded once, in request order: reading the next one is a walk through memory the
        # same for every store, and never the store's own key objects.
        self.cookies = [f"{COOKIE}={i}".encode() for i in chooser.choices(pool, k=sample)]
        self.next = 0
        self.round_medians: list[float] = []

    async def block(self, n: int) -> float:
        """Median microseconds per request over ``n`` requests."""
        times = []
        app, cookies = self.app, self.cookies

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            return None

        for _ in range(n):
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/b",
                "scheme": "http",
                "headers": [
                    (b"host", b"localhost"),
                    (b"cookie", cookies[self.next % len(cookies)]),
                ],
                "server": ("localhost", 80),
            }
            self.next += 1
            started = time.perf_counter_ns()
            await app(scope, receive, send)
            times.append(time.perf_counter_ns() - started)
        return statistics.median(times) / 1000


async def measure(stores: list[Store], n: int, rounds: int, warmup: int) -> None:
    for store in stores:
        await store.block(warmup)
    for round_number in range(rounds):
        order = stores[round_number % len(stores) :] + stores[: round_number % len(stores)]
        for store in order:
            store.round_medians.append(await store.block(n // rounds))


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as file:
            return " ".join(file.read().split()[:3])
    except OSError:
        return "n/a"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10, help="sessions in the small store")
    parser.add_argument("--large", type=int, default=100_000, help="sessions in the large store")
    parser.add_argument(
        "--drivers",
        default="memory,fs",
        help="comma-separated: memory,fs,dict,files (dict, files: bare references, see above)",
    )
    parser.add_argument("--n", type=int, default=20_000, help="timed requests per store")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument(
        "--active",
        default="10",
        help="also time the large store with requests to only this many of its sessions; "
        "comma-separated for several rows (0: none)",
    )
    parser.add_argument("--dir", default=None, help="where the filesystem stores are made")
    parser.add_argument("--quick", action="store_true", help="n=4000, 5 rounds")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.n, args.rounds, args.warmup = 4_000, 5, 300

    print("# Per-request cost against the number of stored sessions\n")
    print(
        f"hostsessions {commit()}; python {sys.version.split()[0]}; "
        f"loadavg before {loadavg()}; {args.n} requests per store in {args.rounds} rounds\n"
    )
    base = tempfile.mkdtemp(prefix="hostsessions-count-", dir=args.dir)
    results: list[dict[str, Any]] = []
    try:
        for kind in [k.strip() for k in args.drivers.split(",") if k.strip()]:
            sample = args.n + args.warmup * 2
            small = Store(kind, args.small, base, sample)
            large = Store(kind, args.large, base, sample)
            stores = [small, large]
            for active in [int(count) for count in args.active.split(",") if count.strip()]:
                if active:
                    stores.append(Store(kind, args.large, base, sample, active=active, of=large))
            gc.collect()
            asyncio.run(measure(stores, args.n, args.rounds, args.warmup))
            for store in stores:
                median = statistics.median(store.round_medians)
                pairs = list(zip(store.round_medians, stores[0].round_medians, strict=True))
                ratios = [mine / theirs for mine, theirs in pairs]
                results.append(
                    {
                        "driver": kind,
                        "sessions": store.count,
                        "active": store.active or store.count,
                        "held": len(store.driver) if kind in ("memory", "dict") else store.count,
                        "us_per_request": median,
                        "ratio_to_small": statistics.median(ratios),
                        "ratio_range": [min(ratios), max(ratios)],
                        "us_more_than_small": statistics.median(
                            mine - theirs for mine, theirs in pairs
                        ),
                        "round_medians_us": store.round_medians,
                        "fill_seconds": store.fill_seconds,
                    }
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(
        "| driver | stored sessions | sessions requested | us/request (median of rounds) "
        "| ratio to the small store [range over rounds] | us more than the small store |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for row in results:
        low, high = row["ratio_range"]
        print(
            f"| {row['driver']} | {row['sessions']:,} | {row['active']:,} | "
            f"{row['us_per_request']:.1f} | {row['ratio_to_small']:.3f} [{low:.3f}-{high:.3f}] "
            f"| {row['us_more_than_small']:+.2f} |"
        )
    print(f"\nloadavg after {loadavg()}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(
                {"commit": commit(), "loadavg": loadavg(), "results": results}, file, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
