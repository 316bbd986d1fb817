"""The two filesystem layouts side by side: the ``fs`` driver and the ``fs-lite`` driver
(unstorage's layout, shared with an Astro site), per read and per conditional write of a
typical session record, in interleaved rounds in one run.

    .venv/bin/python benchmarks/fs_layouts.py [--n 2000] [--rounds 5]

Prints the median microseconds per operation of each driver and the fs-lite/fs ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hostsessions.codec import JSMap, stringify
from hostsessions.drivers import FsDriver, FsLiteDriver

RECORD = stringify(
    JSMap(
        {
            "cart": {"data": [{"sku": f"sku-{n}", "qty": n} for n in range(10)]},
            "user": {"data": {"name": "Ada", "since": datetime(2020, 1, 1, tzinfo=UTC)}},
            "csrf": {"data": "x" * 43, "expires": 1_900_000_000_000},
        }
    )
)


def per_op(n: int, operation: Callable[[], Any]) -> float:
    start = time.perf_counter()
    for _ in range(n):
        operation()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        drivers = {
            "fs": FsDriver(os.path.join(folder, "fs"), sweep_interval=None),
            "fs-lite": FsLiteDriver(os.path.join(folder, "fs-lite")),
        }
        for _ in range(args.rounds):
            for name, driver in drivers.items():
                key = str(uuid.uuid4())
                version = driver.write(key, RECORD, expires_at=None, expected_version=None)

                def read(driver: Any = driver, key: str = key) -> None:
                    driver.read(key)

                def write(driver: Any = driver, key: str = key) -> None:
                    nonlocal version
                    version = driver.write(key, RECORD, expires_at=None, expected_version=version)

                results.setdefault(f"{name} read", []).append(per_op(args.n, read))
                results.setdefault(f"{name} write", []).append(per_op(args.n, write))
    load = Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else "?"
    print(f"load average: {load}  record: {len(RECORD)} B")
    for name, values in results.items():
        print(f"{name:14} {statistics.median(values):8.1f} us/op")
    for op in ("read", "write"):
        ratio = statistics.median(results[f"fs-lite {op}"]) / statistics.median(results[f"fs {op}"])
        print(f"fs-lite/fs {op}: {ratio:.2f}")


if __name__ == "__main__":
    main()
