"""What importing hostsessions costs a cold start, and what its adapters' pytest plugins
cost every pytest run of a project that installs them.

Each case is a fresh interpreter (`python -c ...`), timed as a whole process, in
interleaved rounds beside the floor `python -c pass` (and, for the plugins, beside
`python -c "import pytest"`), so the figures to compare are the ratios and the added
milliseconds within one run, never absolute times across runs. Also listed: how many
modules each import adds, and whether asyncio, ssl or concurrent.futures are among them.

    .venv/bin/python benchmarks/import_cost.py              # ~1 min on 2 cores
    .venv/bin/python benchmarks/import_cost.py --rounds 40  # steadier medians
    .venv/bin/python benchmarks/import_cost.py --json out.json
    .venv/bin/python benchmarks/import_cost.py --compare /tmp/old-checkout   # before/after

With ``--compare`` every case also runs against another checkout (``git worktree add
/tmp/old-checkout REV``), interleaved in the same rounds, so before and after are measured
side by side.

The script puts this checkout first on sys.path, so it measures the working tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def paths(root: Path) -> list[str]:
    return [str(root)] + [str(p) for p in sorted((root / "adapters").glob("*")) if p.is_dir()]


CORE_CASES = {
    "python -c pass": "pass",
    "import hostsessions": "import hostsessions",
    "import hostsessions.wsgi": "import hostsessions.wsgi",
    "import hostsessions.asgi": "import hostsessions.asgi",
}
PLUGIN_CASES = {
    "import pytest": "import pytest",
    "+ hostsessions_aws.testing": "import pytest, hostsessions_aws.testing",
    "+ hostsessions_gcp.testing": "import pytest, hostsessions_gcp.testing",
    "+ hostsessions_azure.testing": "import pytest, hostsessions_azure.testing",
}
WATCHED = ("asyncio", "ssl", "concurrent.futures")


def environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join(paths(root))
    return env


# `python -c` puts the working directory first on sys.path: run from a neutral one, so
# each checkout is imported from its own PYTHONPATH.
NEUTRAL = tempfile.gettempdir()


def run_once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=NEUTRAL)
    return time.perf_counter() - start


def modules(code: str, env: dict[str, str]) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=NEUTRAL,
    ).stdout
    return set(json.loads(out))


Case = tuple[str, dict[str, str]]  # code, environment


def expand(cases: dict[str, str], trees: dict[str, Path]) -> dict[str, Case]:
    """Every case once per checkout; the floor (the first case) once, from this one."""
    (floor_name, floor_code), *rest = cases.items()
    expanded = {floor_name: (floor_code, environment(ROOT))}
    for name, code in rest:
        for label, root in trees.items():
            expanded[f"{name}{label}"] = (code, environment(root))
    return expanded


def measure(cases: dict[str, Case], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(3):  # warm the page cache and .pyc files
        for code, env in cases.values():
            run_once(code, env)
    for _ in range(rounds):
        for name, (code, env) in cases.items():  # interleaved: load swings hit all alike
            times[name].append(run_once(code, env))
    return times


def report(title: str, cases: dict[str, Case], times: dict[str, list[float]]):
    floor_name = next(iter(cases))
    floor = statistics.median(times[floor_name])
    floor_modules = modules(*cases[floor_name])
    print(f"\n{title} (median of {len(times[floor_name])} interleaved runs each)")
    print(f"{'case':40} {'median ms':>10} {'ratio':>7} {'added ms':>9} {'modules':>8}  watched")
    rows = []
    for name, (code, env) in cases.items():
        median = statistics.median(times[name])
        added = modules(code, env) - floor_modules
        watched = sorted(m for m in added if m in WATCHED)
        rows.append(
            {
                "case": name,
                "median_ms": round(median * 1000, 2),
                "ratio": round(median / floor, 3),
                "added_ms": round((median - floor) * 1000, 2),
                "added_modules": len(added),
                "watched": watched,
            }
        )
        print(
            f"{name:40} {median * 1000:10.1f} {median / floor:7.2f} "
            f"{(median - floor) * 1000:9.1f} {len(added):8}  {', '.join(watched) or '-'}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--skip-plugins", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare", type=Path, help="another checkout, measured alongside")
    args = parser.parse_args()
    trees = {"": ROOT}
    if args.compare:
        trees = {" (this)": ROOT, f" ({args.compare.name})": args.compare.resolve()}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    print(f"commit {commit or '?'}, {sys.version.split()[0]}, load average {' '.join(load)}")
    results = {"commit": commit, "loadavg_before": load}
    core = expand(CORE_CASES, trees)
    results["core"] = report(
        "import cost, ratio to `python -c pass`", core, measure(core, args.rounds)
    )
    if not args.skip_plugins:
        plugins = expand(PLUGIN_CASES, trees)
        results["plugins"] = report(
            "pytest plugins, ratio to `import pytest` alone", plugins, measure(plugins, args.rounds)
        )
    with open("/proc/loadavg") as loadavg:
        results["loadavg_after"] = loadavg.read().split()[:3]
    print(f"load average after: {' '.join(results['loadavg_after'])}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
