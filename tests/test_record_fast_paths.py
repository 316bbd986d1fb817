"""A session record read in one pass (the codec's fast path for records of plain values)
holds what the general decoder reads; a record read again (kept by its text) still gives
each request its own mutable values."""

from __future__ import annotations

import random
from typing import Any

import pytest

from hostsessions import codec
from hostsessions._payload import decode_entries

# Values that share slots (a key and a value alike, True and 1, 1 and 1.0), the edges of
# the fast paths (2**53, 0.0, -0.0, specials) and their neighbours.
PLAIN_VALUES: list[Any] = [
    "n", "cart", "", "<script>", "é", "\u2028", True, False, None, 0, 1, -1, 2**53 - 1,
    2**53, -(2**53), 1.0, 0.5, -2.5, 0.0, -0.0, float("inf"), float("nan"), 12345,
]  # fmt: skip
KEYS = ["n", "cart", "user", "1", "True", "é"]
EXPIRIES: list[int | None] = [None, None, 1, 12345, 1_800_000_000_000, 2**53 - 1]


def random_records(count: int) -> list[list[tuple[str, Any, int | None]]]:
    chooser = random.Random(20261130)
    records = []
    for _ in range(count):
        keys = chooser.sample(KEYS, chooser.randint(1, len(KEYS)))
        records.append(
            [(key, chooser.choice(PLAIN_VALUES), chooser.choice(EXPIRIES)) for key in keys]
        )
    return records


@pytest.mark.parametrize("triples", random_records(100))
def test_a_record_read_in_one_pass_holds_what_parse_record_reads(
    triples: list[tuple[str, Any, int | None]],
) -> None:
    text = codec.stringify_record(triples)
    value = codec.parse(text)  # the general decoder, no fast path
    entries = codec.parse_record_entries(text)
    assert entries is not None
    assert [key for key, *_ in entries] == list(value)
    for key, data, stored, expires in entries:
        assert repr(data) == repr(value[key]["data"])  # repr: NaN and -0.0 compare too
        assert expires == value[key].get("expires")
        assert stored is not None
        assert repr(codec.decode(stored)) == repr(data)


def test_a_record_read_again_gives_fresh_mutable_values() -> None:
    text = codec.stringify_record([("cart", codec.encode(["tea"]), None), ("n", 1, None)])
    first = decode_entries(text)
    second = decode_entries(text)  # kept from the first read
    assert first is not None
    assert second is not None
    first["cart"].value.append("cake")
    assert second["cart"].value == ["tea"]
    assert second["n"].value == 1
