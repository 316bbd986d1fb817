"""What a session store's codec work costs per request: one decode of the stored record
and one encode of the record to save, for typical record shapes.

These are the two codec calls a request that reads and changes its session makes
(``_payload.decode_entries`` and ``_payload.encode_entries``), timed alone, in
microseconds per call, the best of several rounds (the machine is usually shared and
noisy). Beside them, as a yardstick, ``json.loads`` and ``json.dumps`` of the same keys
and values as a plain dict: what a JSON-based session middleware (starsessions) pays.

Run from the repository root::

    .venv/bin/python benchmarks/bench_record_codec.py
    .venv/bin/python benchmarks/bench_record_codec.py --compare /path/to/older/tree

``--compare`` times another source tree (a checkout, or ``git archive REV hostsessions |
tar -x -C DIR``) in the same run: each round runs this checkout and the other tree in turn,
in fresh processes, so both see the same machine load; it checks first that both write the
same bytes for every record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPIRES = 1_800_000_000_000


def records() -> dict[str, list[tuple[str, Any, int | None]]]:
    """The records measured: (key, value, expiry in epoch ms or None)."""
    login = [
        ("_auth_user_id", "42"),
        ("_auth_user_backend", "django.contrib.auth.backends.ModelBackend"),
        ("_auth_user_hash", "f0e1d2c3b4a59687f0e1d2c3b4a59687"),
        ("n", 3),
    ]
    plain = [("user", "ann"), ("n", 3), ("flag", True), ("ratio", 0.5), ("flash", None)]
    cart = [f"SKU-{i:05d}" for i in range(20)]
    return {
        "1 key (n: 5)": [("n", 5, None)],
        "1 key, expiring": [("n", 5, EXPIRES)],
        "login: 4 keys, expiring": [(key, value, EXPIRES) for key, value in login],
        "5 plain keys, expiring": [(key, value, EXPIRES) for key, value in plain],
        "cart: 20 strings": [("n", 5, EXPIRES), ("cart", cart, None)],
    }


def measure(rounds: int, number: int) -> dict[str, Any]:
    """This process's tree: the payload of each record and its timings (best of ``rounds``)."""
    from hostsessions import _payload, codec  # the tree first on sys.path

    def best_us(call: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter_ns()
            for _ in range(number):
                call()
            best = min(best, (time.perf_counter_ns() - start) / number / 1000)
        return best

    result: dict[str, Any] = {}
    for name, triples in records().items():
        payload = codec.stringify_record(
            [(key, codec.encode(value), expires) for key, value, expires in triples]
        )
        entries = _payload.decode_entries(payload)
        assert entries is not None
        as_json = json.dumps({key: value for key, value, _ in triples})
        plain = json.loads(as_json)
        result[name] = {
            "payload": _payload.encode_entries(entries),
            "decode": best_us(lambda: _payload.decode_entries(payload)),  # noqa: B023
            "encode": best_us(lambda: _payload.encode_entries(entries)),  # noqa: B023
            "json.loads": best_us(lambda: json.loads(as_json)),  # noqa: B023
            "json.dumps": best_us(lambda: json.dumps(plain)),  # noqa: B023
        }
    return result


def run_child(tree: str, rounds: int, number: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=tree)
    command = [sys.executable, os.path.abspath(__file__), "--child", tree]
    command += ["--rounds", str(rounds), "--number", str(number)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="TREE", help="another source tree to time alongside")
    parser.add_argument("--number", type=int, default=10_000, help="calls per timing")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each tree once per round)")
    parser.add_argument("--child", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child)
        print(json.dumps(measure(7, args.number)))
        return

    trees = [("this", HERE)] + (
        [("compared", os.path.abspath(args.compare))] if args.compare else []
    )
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    best: dict[str, dict[str, dict[str, float]]] = {label: {} for label, _ in trees}
    payloads: dict[str, dict[str, str]] = {label: {} for label, _ in trees}
    for _ in range(args.rounds):
        for label, tree in trees[::-1]:
            for name, figures in run_child(tree, 7, args.number).items():
                payloads[label][name] = figures.pop("payload")
                kept = best[label].setdefault(name, figures)
                for what, value in figures.items():
                    kept[what] = min(kept[what], value)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; us per call, best of all rounds")
    if len(trees) == 2 and payloads["this"] != payloads["compared"]:
        sys.exit("the two trees write different bytes")
    columns = ["decode", "encode"]
    header = f"{'record':<24}"
    for label, _ in trees:
        header += "".join(f" {label + ' ' + column:>17}" for column in columns)
    if len(trees) == 2:
        header += f" {'decode x':>8} {'encode x':>8}"
    header += f" {'json.loads':>10} {'json.dumps':>10}"
    print(header)
    for name, figures in best["this"].items():
        row = f"{name:<24}"
        for label, _ in trees:
            row += "".join(f" {best[label][name][column]:>17.2f}" for column in columns)
        if len(trees) == 2:  # how many times faster this tree is
            old = best["compared"][name]
            row += "".join(f" {old[column] / figures[column]:>8.2f}" for column in columns)
        row += f" {figures['json.loads']:>10.2f} {figures['json.dumps']:>10.2f}"
        print(row)


if __name__ == "__main__":
    main()
