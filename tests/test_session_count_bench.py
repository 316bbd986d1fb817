"""benchmarks/bench_session_count.py runs end to end on small stores, and its bare-dict
reference store behaves as a store under the core (so its figures are a fair floor)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from hostsessions._payload import decode_entries

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_session_count.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_session_count", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_times_every_driver_on_small_stores(tmp_path: Path) -> None:
    out = tmp_path / "count.json"
    command = [sys.executable, str(SCRIPT), "--small", "3", "--large", "40", "--n", "40"]
    command += ["--rounds", "2", "--warmup", "5", "--active", "2"]
    command += ["--drivers", "dict,memory,fs,files", "--dir", str(tmp_path), "--json", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    rows = json.loads(out.read_text())["results"]
    assert [(row["driver"], row["sessions"], row["active"]) for row in rows] == [
        (driver, sessions, active)
        for driver in ("dict", "memory", "fs", "files")
        for sessions, active in ((3, 3), (40, 40), (40, 2))
    ]
    assert all(row["held"] == row["sessions"] for row in rows)
    assert all(row["us_per_request"] > 0 for row in rows)


def test_the_bare_dict_reference_reads_and_writes_each_session_as_a_store() -> None:
    bench = load_script()
    store = bench.Store("dict", 4, "", 12)
    asyncio.run(store.block(12))
    counts = {}
    for session_id in store.ids:
        record = store.driver.read(session_id)
        assert record is not None
        entries = decode_entries(record.payload)
        assert entries is not None
        counts[session_id] = entries["n"].value
    requested = [cookie.decode().split("=", 1)[1] for cookie in store.cookies]
    assert counts == {i: 1 + requested.count(i) for i in store.ids}
