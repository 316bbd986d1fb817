"""How long the session codec takes to stringify and parse typical session records.

Every request that touches its session parses its stored record once and, when it saves,
stringifies it once; this measures both for a few record shapes, in microseconds per call
(the best of several timeit repeats, as the machine is usually shared and noisy).

Run from the repository root::

    .venv/bin/python benchmarks/codec_speed.py
    .venv/bin/python benchmarks/codec_speed.py --compare /tmp/codec_old.py

``--compare`` loads another copy of ``hostsessions/codec.py`` (e.g. the file from an older
commit: ``git show REV:hostsessions/codec.py > /tmp/codec_old.py``) and times it in the same
run, interleaved with this checkout's codec, after checking that both write the same bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hostsessions import codec

EXPIRES = 1_767_225_600_000


def records(module: Any) -> dict[str, Any]:
    """The session records measured, built with ``module``'s JSMap."""
    jsmap = module.JSMap
    mixed = {
        "user_id": 48213,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "roles": ["admin", "editor", "viewer"],
        "prefs": {"theme": "dark", "lang": "en", "tz": "Europe/London"},
        "logged_in": True,
        "last_seen": datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC),
        "visits": 17,
        "flash": None,
        "score": 3.25,
    }
    cart = [f"SKU-{i:05d}" for i in range(20)]
    items = [
        {"sku": f"SKU-{i:05d}", "name": f"Item number {i}", "qty": i % 5 + 1, "price": 9.99 + i}
        for i in range(20)
    ]
    return {
        "1 key (n: 5)": jsmap({"n": {"data": 5}}),
        "10 keys, mixed": jsmap(
            {key: {"data": value, "expires": EXPIRES} for key, value in mixed.items()}
        ),
        "cart: 20 strings": jsmap({"n": {"data": 5}, "cart": {"data": cart}}),
        "cart: 20 dicts": jsmap({"n": {"data": 5}, "cart": {"data": items}}),
    }


def load(path: str) -> ModuleType:
    """Another copy of the codec module, imported as part of the hostsessions package."""
    spec = importlib.util.spec_from_file_location("hostsessions._codec_compared", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def best_us(call: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", help="path of another codec.py to time alongside")
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per figure (best kept)")
    args = parser.parse_args()

    modules: list[tuple[str, Any]] = [("this", codec)]
    if args.compare:
        modules.insert(0, ("compared", load(args.compare)))
    print(f"load average: {os.getloadavg()[0]:.2f}; us per call, best of {args.repeat}")
    header = f"{'record':<18} {'chars':>5}"
    for label, _ in modules:
        header += f" {label + ' stringify':>18} {label + ' parse':>14}"
    if len(modules) == 2:
        header += f" {'stringify x':>11} {'parse x':>8}"
    print(header)

    built = {label: records(module) for label, module in modules}
    for name in built["this"]:
        texts = {label: module.stringify(built[label][name]) for label, module in modules}
        if len(set(texts.values())) != 1:
            sys.exit(f"{name}: the two codecs write different bytes")
        text = texts["this"]
        number = max(1000, args.number * 200 // max(200, len(text)))
        figures: dict[str, list[float]] = {label: [] for label, _ in modules}
        # Interleave the modules per repeat, so that both see the same machine load.
        for _ in range(args.repeat):
            for label, module in modules:
                stringify, parse, value = module.stringify, module.parse, built[label][name]
                figures[label].append(best_us(lambda: stringify(value), number, 1))  # noqa: B023
                figures[label].append(best_us(lambda: parse(text), number, 1))  # noqa: B023
        row = f"{name:<18} {len(text):>5}"
        best: dict[str, tuple[float, float]] = {}
        for label, _ in modules:
            stringify_us = min(figures[label][0::2])
            parse_us = min(figures[label][1::2])
            best[label] = (stringify_us, parse_us)
            row += f" {stringify_us:>18.2f} {parse_us:>14.2f}"
        if len(modules) == 2:
            old, new = best["compared"], best["this"]
            row += f" {old[0] / new[0]:>11.2f} {old[1] / new[1]:>8.2f}"
        print(row)


if __name__ == "__main__":
    main()
