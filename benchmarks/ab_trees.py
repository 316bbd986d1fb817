"""Before/after in one process: the WSGI middleware (memory driver) of several source trees,
called directly, in interleaved rounds, timed in thread CPU time.

A change of a few microseconds is lost in the noise of whole-request timings on a shared
machine; CPU time of one thread, with every tree's app in the same process and the same
rounds, is steadier (two copies of the same tree agree within about 0.5 µs). Each tree is
a checkout or ``git archive`` of the repository; its ``benchmarks/bench_middleware.py``
builds its app, so a tree is measured with its own code. Give the first tree twice (as
the last too) to see the noise::

    mkdir ../before && git archive main | tar -x -C ../before && cp -r ../before ../before2
    .venv/bin/python benchmarks/ab_trees.py --rounds 30 --n 300 ../before . ../before2

Prints, per path (``/a`` untouched, ``/r`` get, ``/b`` get then set) and tree, the median
and the 20th percentile over rounds of the µs added to the bare WSGI app of the same round.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

PATHS = ("/a", "/r", "/b")
WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def load(tree: str) -> Any:
    """The tree's ``bench_middleware`` module, with the tree's ``hostsessions`` (every module
    of an earlier tree is dropped first; the apps already built keep theirs)."""
    for name in list(sys.modules):
        if name in ("hostsessions", "bench_middleware") or name.startswith("hostsessions."):
            del sys.modules[name]
    root = os.path.abspath(tree)
    sys.path[:0] = [root, os.path.join(root, "benchmarks")]
    try:
        module = importlib.import_module("bench_middleware")
    finally:
        del sys.path[:2]
    if not module.__file__.startswith(root):
        raise RuntimeError(f"{tree}: bench_middleware came from {module.__file__}")
    # The tree's own timed loop (_wsgi_block), timed in thread CPU time instead.
    module.perf_counter_ns = time.thread_time_ns
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--n", type=int, default=300, help="requests per app per round")
    parser.add_argument("trees", nargs="+")
    options = parser.parse_args()
    apps: dict[str, tuple[Any, WSGIApp, dict[str, dict[str, Any]]]] = {}
    bare: tuple[Any, WSGIApp, dict[str, dict[str, Any]]] | None = None
    for index, tree in enumerate(options.trees):
        bench = load(tree)
        app = bench.make_wsgi("memory")
        cookie = bench.cookie_from(bench.wsgi_request(app, "/b", None))
        environs = {path: bench.wsgi_environ(path, cookie) for path in PATHS}
        apps[f"{index}:{tree}"] = (bench, app, environs)
        if bare is None:
            raw_environs = {path: bench.wsgi_environ(path, None) for path in PATHS}
            bare = (bench, bench.raw_wsgi_app, raw_environs)
    assert bare is not None
    added: dict[tuple[str, str], list[float]] = {(key, path): [] for key in apps for path in PATHS}
    keys = list(apps)
    for round_number in range(options.rounds):
        order = keys if round_number % 2 == 0 else keys[::-1]
        for path in PATHS:
            floor = bare[0]._wsgi_block(bare[1], bare[2][path], options.n) / options.n / 1000
            for key in order:
                bench, app, environs = apps[key]
                spent = bench._wsgi_block(app, environs[path], options.n) / options.n / 1000
                added[(key, path)].append(spent - floor)
    print(f"load average {os.getloadavg()[0]:.2f}; µs added to the bare WSGI app, thread CPU")
    for path in PATHS:
        for key in keys:
            values = sorted(added[(key, path)])
            median = statistics.median(values)
            p20 = values[len(values) // 5]
            print(f"{path} {key:40s} median +{median:.2f}  p20 +{p20:.2f}")


if __name__ == "__main__":
    main()
