"""hostsessions.codec against the real devalue library, run by Node the way Astro runs it.

One Node process handles the whole batch (tests/js/devalue_check.mjs), for both the
current devalue release and the one Astro's dependency range resolves to. Both are
installed by scripts/setup.d/10-devalue.sh.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hostsessions import URL
from hostsessions.codec import UNDEFINED, JSBigInt, JSMap, JSOpaque, JSRegExp, parse, stringify

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".tools" / "devalue" / "node_modules"
CHECK_SCRIPT = ROOT / "tests" / "js" / "devalue_check.mjs"
SETUP = "bash scripts/setup.d/10-devalue.sh"
PACKAGES = {"devalue": "6.0.3", "devalue-astro": "5.9.4"}


def _shared_pair() -> list[Any]:
    shared = {"v": 1}
    return [shared, shared]


def _self_list() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def _self_map() -> JSMap:
    registry = JSMap()
    registry["me"] = registry
    return registry


# Python values whose devalue string JS reads and writes back unchanged, byte for byte.
EXACT_FROM_PYTHON: list[Any] = [
    1,
    "a",
    None,
    True,
    [1, 2],
    {"a": 1},
    math.nan,
    -0.0,
    [math.inf, -math.inf, math.nan, -0.0, 0.5],
    JSMap({"a": 1, 2: "b"}),
    {1: "a"},
    {(1, 2): "tuple key"},
    {1, "a"},
    frozenset(),
    datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    2**53 - 1,
    2**53,
    -(10**30),
    b"\x00\x01\xfe\xff",
    b"",
    URL("https://example.com/a?b=1#c"),
    {"u": URL("https://example.com/"), "h": "https://example.com/"},
    JSRegExp("ab+c", "gi"),
    JSRegExp("^x$"),
    UNDEFINED,
    [UNDEFINED, None, 1],
    {"a": UNDEFINED, "b": None},
    JSBigInt(5),
    JSBigInt(-(2**53 - 1)),
    JSMap({"cart": {"data": UNDEFINED, "expires": UNDEFINED}, "n": {"data": JSBigInt(0)}}),
    '<\u2028\u2029"\\\n\t\x00\x01\x7f é😀',
    _shared_pair(),
    _self_list(),
    _self_map(),
    JSMap(
        {
            "cart": {"data": ["sku-1", "sku-2"], "expires": 1767225600000},
            "user": {"data": {"name": "Ada", "since": datetime(2020, 1, 1, tzinfo=UTC)}},
        }
    ),
]

# Python values JS reads fine but writes back differently, and what Python then reads.
CHANGED_BY_JS: list[tuple[Any, Any]] = [
    (2.0, 2),  # JS has one number type: 2.0 is written 2, which Python reads as int
    (1e16, 1e16),  # written 10000000000000000; an integral literal beyond 2**53 is a float
    (1e-7, 1e-7),  # written 1e-7, not 1e-07
    (
        datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),  # JS Dates keep milliseconds
    ),
    ({"b": 1, "1": 2}, {"1": 2, "b": 1}),  # JS puts integer-like keys first
    (bytearray(b"ab"), b"ab"),
    ((1, 2), [1, 2]),
    ("\ud800", "\ud800"),  # devalue 5 writes a lone surrogate raw, devalue 6 escapes it
]

# JS values, what Python reads from devalue's string, and whether Python writes that
# string back byte for byte.
FROM_JS: dict[str, tuple[str, Any, bool]] = {
    "map": ('new Map([["a", 1], [2, "b"]])', JSMap({"a": 1, 2: "b"}), True),
    "set": ('new Set([1, "a"])', {1, "a"}, False),
    "date": (
        "new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678))",
        datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        True,
    ),
    "big BigInt": ("12345678901234567890n", 12345678901234567890, True),
    "small BigInt": ("5n", JSBigInt(5), True),
    "URL": ('new URL("https://example.com/a?b=1")', URL("https://example.com/a?b=1"), True),
    "Uint8Array": ("new Uint8Array([1, 2, 3])", b"\x01\x02\x03", True),
    "Uint8Array view": ("new Uint8Array([1, 2, 3, 4]).subarray(1, 3)", b"\x02\x03", False),
    "undefined": ("undefined", UNDEFINED, True),
    "undefined property": ("({a: undefined})", {"a": UNDEFINED}, True),
    "undefined in an array": ("[undefined, null]", [UNDEFINED, None], True),
    "holes": ("[1, , 3]", [1, UNDEFINED, 3], False),
    "sparse": (
        "(() => { const a = []; a[1000] = 1; return a; })()",
        [UNDEFINED] * 1000 + [1],
        False,
    ),
    "array cycle": ("(() => { const a = []; a.push(a); return a; })()", None, True),
    "object cycle": (
        '(() => { const o = {name: "x"}; o.self = o; return o; })()',
        None,
        True,
    ),
    "shared object": ("(() => { const x = {v: 1}; return [x, x]; })()", None, True),
    "specials": ("[NaN, -0, Infinity, -Infinity, 0]", None, True),
    "numbers": (
        "[2.0, 0.1, 1e21, 1e-7, 2 ** 53, -1.5e-10]",
        [2, 0.1, 1e21, 1e-7, float(2**53), -1.5e-10],
        False,
    ),
    "regexp": ("/ab+c/gi", JSRegExp("ab+c", "gi"), True),
    # Types Python has none for: read as JSOpaque, written back exactly.
    "Float32Array": ("new Float32Array([1.5, -2])", None, True),
    "Int16Array view": ("new Int16Array([1, 2, 3, 4]).subarray(1, 3)", None, True),
    "DataView": ("new DataView(new Uint8Array([1, 2, 3]).buffer)", None, True),
    "BigInt64Array": ("new BigInt64Array([5n])", None, True),
    "URLSearchParams": ('new URLSearchParams("a=1&b=é")', None, True),
    "opaque in a session": (
        """new Map([["samples", {data: new Float64Array([0.25]), expires: undefined}],
                    ["shared", {data: (() => { const f = new Float32Array([1]);
                                               return [f, f]; })()}]])""",
        None,
        True,
    ),
    "boxed string": ('new String("x")', "x", False),
    "null prototype": ("Object.assign(Object.create(null), {a: 1})", {"a": 1}, False),
    "strings": (
        '"<\\u2028\\u2029\\"\\\\\\n\\x01\\x7f é😀"',
        '<\u2028\u2029"\\\n\x01\x7f é😀',
        True,
    ),
    "map with an array key": ('new Map([[[1, 2], "v"]])', JSMap({(1, 2): "v"}), True),
    "set of dates": (
        "new Set([new Date(0)])",
        {datetime(1970, 1, 1, tzinfo=UTC)},
        True,
    ),
    "astro session": (
        """new Map([
            ["cart", {data: ["sku-1"], expires: 1767225600000}],
            ["user", {
                data: {name: "Ada", home: new URL("https://ada.example/")},
                expires: undefined,
            }],
        ])""",
        JSMap(
            {
                "cart": {"data": ["sku-1"], "expires": 1767225600000},
                "user": {
                    "data": {"name": "Ada", "home": URL("https://ada.example/")},
                    "expires": UNDEFINED,
                },
            }
        ),
        True,
    ),
}


def random_value(rng: random.Random, pool: list[Any], depth: int = 0) -> Any:
    """A value whose devalue string JS writes back unchanged (no integral floats...)."""
    if pool and rng.random() < 0.08:
        return rng.choice(pool)  # shared references
    kind = rng.randrange(15 if depth < 4 else 9)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**60), 2**60)
    if kind == 2:
        number = rng.uniform(1e-4, 1e15) * rng.choice([1, -1])
        return number + 0.5 if number.is_integer() else number
    if kind == 3:
        return "".join(rng.choice('ab é😀<>"\\\n\t\x00\u2028') for _ in range(rng.randrange(6)))
    if kind == 4:
        return datetime(2000, 1, 1, tzinfo=UTC) + timedelta(
            milliseconds=rng.randrange(-(10**13), 10**13)
        )
    if kind == 5:
        return rng.randbytes(rng.randrange(8))
    if kind == 6:
        return URL(f"https://example.com/{rng.randrange(100)}")
    if kind == 7:
        return rng.choice([math.nan, math.inf, -math.inf, -0.0])
    if kind == 8:
        return rng.randrange(100)
    size = rng.randrange(4)
    if kind in (9, 10):
        items = [random_value(rng, pool, depth + 1) for _ in range(size)]
        container: Any = items if kind == 9 else tuple(items)
    elif kind == 11:
        container = {
            f"k{rng.randrange(50)}": random_value(rng, pool, depth + 1) for _ in range(size)
        }
    elif kind == 12:
        container = JSMap(
            (
                rng.choice([rng.randrange(50), f"k{rng.randrange(50)}"]),
                random_value(rng, pool, depth + 1),
            )
            for _ in range(size)
        )
    elif kind == 13:
        container = {rng.choice([rng.randrange(50), f"s{rng.randrange(50)}"]) for _ in range(size)}
    else:
        container = [JSRegExp("a+", "g"), {"nested": [random_value(rng, pool, depth + 1)]}]
    pool.append(container)
    return container


def random_batch() -> list[Any]:
    rng = random.Random(20240601)
    pool: list[Any] = []
    return [random_value(rng, pool) for _ in range(300)]


@pytest.fixture(scope="module")
def devalue_js() -> dict[str, Any]:
    """Run every check in one Node process; the results, keyed by package name."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not installed: install Node.js 18 or later, then run `{SETUP}`")
    for name, version in PACKAGES.items():
        manifest = NODE_MODULES / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            pytest.fail(f"devalue {version} is not installed as {name}: run `{SETUP}`")
    python_outputs = [stringify(value) for value in EXACT_FROM_PYTHON]
    python_outputs += [stringify(value) for value, _ in CHANGED_BY_JS]
    python_outputs += [stringify(value) for value in random_batch()]
    request = {
        "packages": list(PACKAGES),
        "python_outputs": python_outputs,
        "js_values": {name: source for name, (source, _, _) in FROM_JS.items()},
    }
    completed = subprocess.run(
        [node, str(CHECK_SCRIPT), str(NODE_MODULES)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: dict[str, Any] = json.loads(completed.stdout)
    for name, version in PACKAGES.items():
        assert results[name]["version"] == version
    for result in results.values():
        result["python_outputs"] = python_outputs
    return results


@pytest.fixture(params=list(PACKAGES))
def devalue_result(request: pytest.FixtureRequest, devalue_js: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = devalue_js[request.param]
    return result


def restringified(result: dict[str, Any], index: int) -> str:
    outcome = result["restringified"][index]
    assert "ok" in outcome, f"devalue could not read {result['python_outputs'][index]}: {outcome}"
    text: str = outcome["ok"]
    return text


def test_javascript_reads_and_rewrites_python_output_byte_for_byte(
    devalue_result: dict[str, Any],
) -> None:
    for index, value in enumerate(EXACT_FROM_PYTHON):
        assert restringified(devalue_result, index) == stringify(value), value


def test_javascript_reads_a_random_batch_of_python_values_unchanged(
    devalue_result: dict[str, Any],
) -> None:
    start = len(EXACT_FROM_PYTHON) + len(CHANGED_BY_JS)
    outputs = devalue_result["python_outputs"]
    for index in range(start, len(outputs)):
        assert restringified(devalue_result, index) == outputs[index]


@pytest.mark.parametrize("case", range(len(CHANGED_BY_JS)))
def test_where_javascript_rewrites_a_value_python_reads_the_documented_form(
    devalue_result: dict[str, Any], case: int
) -> None:
    _, expected = CHANGED_BY_JS[case]

    back = parse(restringified(devalue_result, len(EXACT_FROM_PYTHON) + case))

    assert back == expected
    assert type(back) is type(expected)


@pytest.mark.parametrize("name", list(FROM_JS))
def test_python_reads_what_javascript_writes(devalue_result: dict[str, Any], name: str) -> None:
    _, expected, exact = FROM_JS[name]
    outcome = devalue_result["js_outputs"][name]
    assert "ok" in outcome, outcome
    text: str = outcome["ok"]

    back = parse(text)

    if expected is not None:
        assert back == expected
        assert type(back) is type(expected)
    if exact:
        assert stringify(back) == text


OPAQUE = {
    "Float32Array": "Float32Array",
    "Int16Array view": "Int16Array",
    "DataView": "DataView",
    "BigInt64Array": "BigInt64Array",
    "URLSearchParams": "URLSearchParams",
}


@pytest.mark.parametrize("name", list(OPAQUE))
def test_python_keeps_javascript_types_it_has_none_for(
    devalue_result: dict[str, Any], name: str
) -> None:
    back = parse(devalue_result["js_outputs"][name]["ok"])

    assert type(back) is JSOpaque
    assert back.tag == OPAQUE[name]


def test_python_reads_javascript_cycles_and_shared_objects(devalue_result: dict[str, Any]) -> None:
    outputs = devalue_result["js_outputs"]

    array = parse(outputs["array cycle"]["ok"])
    obj = parse(outputs["object cycle"]["ok"])
    pair = parse(outputs["shared object"]["ok"])

    assert array[0] is array
    assert obj["self"] is obj
    assert obj["name"] == "x"
    assert pair[0] is pair[1]
    assert pair[0] == {"v": 1}


def test_python_reads_javascript_special_numbers(devalue_result: dict[str, Any]) -> None:
    nan, negative_zero, infinity, negative_infinity, zero = parse(
        devalue_result["js_outputs"]["specials"]["ok"]
    )

    assert math.isnan(nan)
    assert math.copysign(1.0, negative_zero) == -1.0
    assert (infinity, negative_infinity) == (math.inf, -math.inf)
    assert zero == 0
    assert type(zero) is int
