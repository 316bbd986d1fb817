"""A session record of plain values (strings, numbers, booleans, None, with int expiries)
is written and read by the codec's fast paths, which give exactly what the general writer
and reader give: the same bytes, the same slot order, the same sharing of equal values,
the same escapes, the same refusals."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostsessions import SessionSerializationError, SessionTooLargeError, codec
from hostsessions.codec import MAX_SAFE_INTEGER, UNDEFINED, Encoded

EDGE_INTS = [0, 1, -1, 2, 5, MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER,
             -MAX_SAFE_INTEGER - 1, 2**64, 1_800_000_000_000]  # fmt: skip
EDGE_FLOATS = [0.0, -0.0, 1.0, 2.0, 0.5, -2.5, 1e21, 1e-7, 5.0, math.inf, -math.inf, math.nan,
               float(MAX_SAFE_INTEGER), 1.8e12]  # fmt: skip
# Strings that share slots with keys, need devalue's escapes, or are not valid UTF-8 alone.
EDGE_STRINGS = ["n", "cart", "", "<", "</script>", "é", "\u2028", "\u2029", "\ud800",
                "\udfff", '"', "\\", "\n", "true", "1", "Map", "data", "😀"]  # fmt: skip


@dataclass
class Entry:
    """An entry as the session state hands it to the codec (a StoredEntry)."""

    stored: Any
    expires_ms: int | None


plain_values = st.one_of(
    st.sampled_from(EDGE_STRINGS),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
    st.sampled_from(EDGE_INTS),
    st.integers(min_value=-3, max_value=8),
    st.integers(),
    st.sampled_from(EDGE_FLOATS),
    st.floats(),
    st.just(UNDEFINED),
)
# What a parsed record's slots hold (a JS double past 2**53 as digits, a float zero, a
# Python-written 1.0): the raw slots an Encoded read from a store points into.
raw_slots = st.one_of(
    st.sampled_from(EDGE_STRINGS), st.booleans(), st.none(), st.sampled_from(EDGE_INTS),
    st.sampled_from([f for f in EDGE_FLOATS if math.isfinite(f)]),
)  # fmt: skip
# Values only the general writer takes.
items = st.one_of(
    st.sampled_from(EDGE_STRINGS), st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_FLOATS),
    st.booleans(), st.none(),
)  # fmt: skip
other_values = st.one_of(
    st.lists(items, max_size=4),
    st.lists(st.lists(items, max_size=2), max_size=2),
    st.dictionaries(st.sampled_from(["a", "n", "<"]), items, max_size=2),
    st.sampled_from([codec.JSBigInt(5), datetime(2026, 11, 30, tzinfo=UTC), b"\x00<", {1, "n"}]),
    st.just(codec.JSMap({1: "n", "k": [2.5]})),
)
expiries = st.one_of(
    st.none(), st.sampled_from(EDGE_INTS), st.integers(min_value=-3, max_value=8)
)  # fmt: skip
keys = st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=4))


@st.composite
def records(draw: st.DrawFn, *, plain_only: bool = False) -> dict[str, Entry]:
    """A record's entries: values, their encodings, slots of one parsed record (several
    entries may point at the same slot), and (unless ``plain_only``) other values."""
    source = draw(st.lists(raw_slots, min_size=1, max_size=6))
    stored_forms = [
        plain_values,
        plain_values.map(codec.encode),
        st.integers(min_value=0, max_value=len(source) - 1).map(lambda i: Encoded(source, i)),
    ]
    if not plain_only:
        # objects that two entries may hold (the general writer writes one of them once)
        pool = draw(st.lists(other_values, min_size=1, max_size=2))
        stored_forms += [other_values, other_values.map(codec.encode), st.sampled_from(pool)]
        # the stored forms of a record read from a store (slots of one parsed record)
        earlier = draw(st.lists(st.tuples(keys, st.one_of(other_values, items)), min_size=1))
        text = codec.stringify_record([(key, value, None) for key, value in earlier])
        read_back = codec.parse_entries(text, lambda data, stored, expires: stored)
        assert read_back is not None
        forms = [form for form in read_back.values() if form is not None]
        if forms:
            stored_forms.append(st.sampled_from(forms))
    stored = st.one_of(stored_forms)
    pairs = draw(st.lists(st.tuples(keys, stored, expiries), max_size=6))
    return {key: Entry(data, expires) for key, data, expires in pairs}


def general_writer(entries: dict[str, Entry]) -> str:
    return codec.stringify_record([(key, e.stored, e.expires_ms) for key, e in entries.items()])


def is_plain(stored: Any) -> bool:
    """Whether the fast writer must take this stored form (its documented rules)."""
    if type(stored) is Encoded:
        if stored.index < 0:
            return stored.index == -1  # undefined
        raw = stored.slots[stored.index]
        if type(raw) is float and (raw == 0.0 or not math.isfinite(raw)):
            return False
        stored = raw
    if type(stored) is int:
        return abs(stored) <= MAX_SAFE_INTEGER
    if type(stored) is float:
        return math.isfinite(stored) and not (stored == 0.0 and math.copysign(1.0, stored) < 0)
    return type(stored) in (str, bool, type(None)) or stored is UNDEFINED


def takes_fast_path(entries: dict[str, Entry]) -> bool:
    return all(
        is_plain(e.stored) and (e.expires_ms is None or abs(e.expires_ms) <= MAX_SAFE_INTEGER)
        for e in entries.values()
    )


@settings(max_examples=1500, deadline=None)
@given(records())
def test_the_fast_writer_writes_what_the_general_writer_writes(
    entries: dict[str, Entry],
) -> None:
    expected = general_writer(entries)
    assert codec.stringify_entries(entries) == expected


@settings(max_examples=1500, deadline=None)
@given(records())
def test_the_general_writer_is_not_called_for_a_whole_record(
    entries: dict[str, Entry],
) -> None:
    expected = general_writer(entries)
    with mock.patch.object(codec, "stringify_record", wraps=codec.stringify_record) as general:
        assert codec.stringify_entries(entries) == expected
    assert not general.called  # a value it alone can write is written on its own


def decoded(stored: Any) -> Any:
    return codec.decode(stored) if type(stored) is Encoded else stored


def read(
    text: str, max_depth: int = codec.MAX_DEPTH
) -> dict[str, tuple[Any, Encoded | None, int | None]] | None:
    return codec.parse_entries(
        text, lambda data, stored, expires: (data, stored, expires), max_depth=max_depth
    )


@settings(max_examples=500, deadline=None)
@given(records())
def test_a_record_reads_back_as_it_was_written(entries: dict[str, Entry]) -> None:
    text = codec.stringify_entries(entries)
    got = read(text)
    assert got is not None
    assert list(got) == list(entries)
    for key, (data, stored, expires) in got.items():
        assert repr(data) == repr(decoded(entries[key].stored))
        assert expires == entries[key].expires_ms
        if stored is not None:
            assert repr(codec.decode(stored)) == repr(data)
    if takes_fast_path(entries):
        # read in one pass: plain values are their own stored form
        assert all(stored is None for _, stored, _ in got.values())
    for data, stored, _ in got.values():
        if isinstance(data, list | dict | set | bytes | datetime):
            assert stored is not None  # written back by copying its slots


# ------------------------------------------------------------- the reader against the general one


def general_reader(
    text: str, max_depth: int = codec.MAX_DEPTH
) -> dict[str, tuple[str, int | None]] | str:
    """What a session store reads from ``text`` by the general decoder alone: each key's
    data (by repr) and expiry, "not a record", or "refused"."""
    try:
        value = codec.parse(text, max_depth=max_depth)
    except SessionSerializationError:
        return "refused"
    if not isinstance(value, dict):
        return "not a record"
    entries: dict[str, tuple[str, int | None]] = {}
    for key, item in value.items():
        if type(key) is not str or not isinstance(item, dict) or "data" not in item:
            return "not a record"
        expires = item.get("expires")
        if expires is None or expires is UNDEFINED:
            expires_ms = None
        elif type(expires) in (int, codec.JSBigInt) or (
            type(expires) is float and math.isfinite(expires)
        ):
            expires_ms = int(expires)
        else:
            return "not a record"
        entries[key] = (repr(item["data"]), expires_ms)
    return entries


def fast_reader(
    text: str, max_depth: int = codec.MAX_DEPTH
) -> dict[str, tuple[str, int | None]] | str:
    try:
        got = read(text, max_depth)
    except SessionSerializationError:
        return "refused"
    if got is None:
        return "not a record"
    return {key: (repr(data), expires) for key, (data, _, expires) in got.items()}


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?|true|false|null')
REPLACEMENTS = ["true", "false", "null", "-1", "-2", "-3", "-4", "-6", "-7", "-8", "0", "1",
                "2", "3", "4", "99", "1.0", "2.5", "1e400", '"x"', '"data"', '"expires"', "[]",
                "{}", '{"data":1}', '["Map"]', "9007199254740993", '["BigInt","5"]']  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(records(), st.data())
def test_a_damaged_record_reads_as_the_general_decoder_reads_it(
    entries: dict[str, Entry], data: st.DataObject
) -> None:
    text = codec.stringify_entries(entries)
    tokens = list(TOKEN.finditer(text))
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        if not tokens:
            break
        token = data.draw(st.sampled_from(tokens))
        replacement = data.draw(st.sampled_from(REPLACEMENTS))
        text = text[: token.start()] + replacement + text[token.end() :]
        tokens = list(TOKEN.finditer(text))
    assert fast_reader(text) == general_reader(text)


# Hand-made records written as devalue (JS) writes them, and damaged ones.
RECORDS = [
    '[["Map",1,2],"n",{"data":3},5]',
    '[["Map",1,2],"n",{"data":1}]',  # the key is its own value
    '[["Map",1,2,3,2],"a",{"data":1},"b"]',  # two keys share one object
    '[["Map",1,2],"u",{"data":-1,"expires":-1}]',  # undefined data and expiry
    '[["Map",1,2],"x",{"data":-6,"expires":3},1800000000000]',
    '[["Map",1,2],"x",{"data":3,"expires":4},1.5,1800000000000.0]',  # a float expiry
    '[["Map",1,2],"x",{"data":3,"expires":-3},1]',  # a NaN expiry
    '[["Map",1,2],"x",{"data":3,"expires":-4},1]',  # an infinite expiry
    '[["Map",1,2],"x",{"data":3,"expires":4},1,"soon"]',  # a string expiry
    '[["Map",1,2],"x",{"data":3,"expires":4},1,true]',  # a boolean expiry
    '[["Map",true,2],"x",{"data":3},1]',  # a boolean for a reference
    '[["Map",2,true],{"data":3},"x",1]',
    '[["Map",1,2],"x",{"data":true},1]',
    '[["Map",1,2],"x",{"data":3,"expires":true},1]',
    '[["Map",2,3],5,"x",{"data":1,"expires":true}]',  # `true` would reach an int slot
    '[["Map",1,2],"x",{"data":3,"expires":-1.0},1]',  # a float for undefined
    '[["Map",1,2],"x",{"data":3,"expires":3.0},1]',
    '[["Map",1,2],"x",{"data":1.0},1]',  # a float for a reference
    '[["Map",-1,2],"x",{"data":3},1]',
    '[["Map",-4,1],{"data":-1}]',  # Infinity for a key, in a record of two slots
    '[["Map",1,-2],"x",{"data":3},1]',
    '[["Map",1,2],"x",{"data":3,"other":3},1]',
    '[["Map",1,2],"x",{"data":3,"expires":3,"other":3},1]',  # read, the extra key ignored
    '[["Map",1,2],"x",{"data":3,"expires":3,"__proto__":3},1]',  # refused: prototype pollution
    '[["Map",1,2],"x",{"expires":3},1]',
    '[["Map",1,2],"x",{},1]',
    '[["Map",1,2],"x",[3],1]',
    '[["Map",1,2],1,{"data":3},1]',  # a number for a key
    '[["Map",1],"x"]',
    '[["Map",1,2],"x",{"data":3},9007199254740993]',  # a JS double past 2**53
    '[["Map",1,2],"x",{"data":3},1e400]',
    '[["Map",1,2],"x",{"data":3}]',
    '[["Map",1,2],"x",{"data":-2}]',
    '[["Map",1,2],"x",{"data":-7}]',
    '[["Map",0,0]]',
    # values that hold the record itself, or an entry's object: read as the general reader does
    '[["Map",1,2],"x",{"data":0}]',
    '[["Map",1,2],"x",{"data":3},[0]]',
    '[["Map",1,2],"x",{"data":2}]',
    '[["Map",1,2,4,5],"x",{"data":3},[5],"y",{"data":6},7]',
    '[["Map",1,2],"x",{"data":3},[3]]',  # a list holding itself
    '[["Map",1,2],"x",{"data":3},{"__proto__":1}]',  # refused by the reviver
    '[["Map",1,2,4,5],"x",{"data":3},[6,7],"y",{"data":3},1,2.5]',  # one list, two keys
    '[["Map",1,2],"x",{"data":3,"expires":4},["Set",5],1800000000000,"a"]',
    '[["Map",1,2],"x",{"data":3,"expires":4},1,["BigInt","5"]]',
    '[["Map",1,2],"x",{"data":3,"expires":4},1,["BigInt","1' + "0" * 400 + '"]]',
    '[{"x":1},{"data":2},5]',  # a plain object for the map
    '[["Map"]]',
    '[["Set",1],2]',
    ' [["Map",1,2],"n",{"data":3},5]',  # whitespace around
    '[["Map",1,2],"n",{"data":3},5] ',
    '[["Map",1,2],"n",{"data":3},5]]',
    "",
    "-1",
    # records of one entry, near what the one-entry reader takes
    '[["Map",1,2],"n",{"data":3},1,5]',  # a slot no entry uses: no expiry
    '[["Map",1,2],"n",{"data":3,"expires":4},1]',  # an expiry slot that is not there
    '[["Map",1,2],"n",{"data":3},9007199254740991]',
    '[["Map",1,2],"n",{"data":3},9007199254740992]',  # a JS double past 2**53
    '[["Map",1,2],"n",{"data":3},-9007199254740992]',
    '[["Map",1,2],"n",{"data":3},12345678901234567]',
    '[["Map",1,2],"n",{"data":3,"expires":4},1,9007199254740992]',
    '[["Map",1,2],"n",{"data":3,"expires":4},1,9999999999999999]',  # as a double: 1e16
    '[["Map",1,2],"n",{"data":3},-9999999999999999]',
    '[["Map",1,2],"n",{"data":3,"expires":4},"x",-5]',
    '[["Map",1,2],"n",{"data":3},-0]',
    '[["Map",1,2],"n",{"data":3},01]',
    '[["Map",1,2],"n",{"data":3},1.5]',
    '[["Map",1,2],"n",{"data":3},true]',
    '[["Map",1,2],"n",{"data":3,"expires":4},null,0]',
    '[["Map",1,2],"n",{"data":3},"a\\"b"]',
    '[["Map",1,2],"n",{"data":3},"a\x01"]',  # a raw control character: refused
    '[["Map",1,2],"\\u006e",{"data":3},1]',
    '[["Map",1,2],"n",{"data":3},"\u2028é"]',
    '[["Map",1,2],"n",{"data":1}]',  # the value is the key
    '[["Map",1,2],"n",{"data":3,"expires":3},5]',  # the expiry is the value
]


@pytest.mark.parametrize("text", RECORDS)
def test_hand_made_records_read_as_the_general_decoder_reads_them(text: str) -> None:
    assert fast_reader(text) == general_reader(text)


def test_a_record_of_plain_values_shares_equal_values_as_devalue_does() -> None:
    entries = {
        "n": Entry("n", 1_800_000_000_000),  # the value "n" is the key's slot
        "m": Entry(1_800_000_000_000, 1_800_000_000_000),  # data and expiry share a slot
        "t": Entry(True, None),  # true, 1 and 1.0 are three different slots
        "o": Entry(1, None),
        "f": Entry(1.0, None),
        "s": Entry("<\u2028\ud800", None),  # escaped as devalue escapes them
    }
    expected = (
        r'[["Map",1,2,4,5,6,7,9,10,12,13,15,16],"n",{"data":1,"expires":3},1800000000000,'
        r'"m",{"data":3,"expires":3},"t",{"data":8},true,"o",{"data":11},1,'
        r'"f",{"data":14},1.0,"s",{"data":17},"\u003C\u2028\ud800"]'
    )
    assert general_writer(entries) == expected
    assert codec.stringify_entries(entries) == expected


def test_a_record_over_the_length_limit_is_refused_by_the_fast_writer_too() -> None:
    entries = {"cart": Entry("x" * 100, None)}
    limit = len(general_writer(entries)) - 1
    with pytest.raises(SessionTooLargeError) as fast:
        codec.stringify_entries(entries, max_length=limit)
    with pytest.raises(SessionTooLargeError) as general:
        codec.stringify_record([("cart", "x" * 100, None)], max_length=limit)
    assert str(fast.value) == str(general.value)
    assert isinstance(fast.value, SessionSerializationError)


def test_a_value_two_keys_share_is_one_object_as_the_general_decoder_gives_it() -> None:
    text = '[["Map",1,2,4,5],"a",{"data":3},[6,7],"b",{"data":3},1,2.5]'
    got = read(text)
    general = codec.parse(text)
    assert got is not None
    assert got["a"][0] is got["b"][0]
    assert general["a"]["data"] is general["b"]["data"]
    assert got["a"][0] == [1, 2.5]
    assert got["a"][1] is not None  # stored form: the parsed slots, copied when saved


@pytest.mark.parametrize("max_depth", [1, 2, 3, 5])
@pytest.mark.parametrize("nested", [0, 1, 2, 3, 4])
def test_the_depth_bound_counts_from_the_record_as_in_the_general_decoder(
    max_depth: int, nested: int
) -> None:
    # "x" holds `nested` lists, each inside the one before: the Map is 1 deep, {data} 2
    lists = [f"[{4 + i}]" for i in range(nested - 1)] + ["[]"] if nested else ["5"]
    text = '[["Map",1,2],"x",{"data":3},' + ",".join(lists) + "]"
    assert fast_reader(text, max_depth) == general_reader(text, max_depth)


ZERO_AND_BIG = [0.0, 2**60]  # slots of a parsed record: a Python-written 0.0, a JS double


@pytest.mark.parametrize(
    "stored_forms",
    [
        [Encoded(ZERO_AND_BIG, 0), 0.0],  # copied: a slot of its own; written: shared
        [0.0, Encoded(ZERO_AND_BIG, 0), Encoded(ZERO_AND_BIG, 0)],  # one slot copied once
        [Encoded(ZERO_AND_BIG, 1), 2**60, Encoded(ZERO_AND_BIG, 1)],  # digits, BigInt
        [2**60, Encoded(ZERO_AND_BIG, 1)],  # the BigInt's slot is not the double's
        [-0.0, codec.encode(-0.0), math.nan, codec.encode(math.inf), UNDEFINED],
        [True, 1, 1.0, codec.encode(True), codec.encode(1), codec.encode(1.0)],
    ],
    ids=["zero copied", "zero copied once", "big int", "BigInt first", "specials", "true 1 1.0"],
)
def test_values_that_share_differently_when_copied_are_written_as_the_general_writer_does(
    stored_forms: list[Any],
) -> None:
    entries = {f"k{i}": Entry(form, None) for i, form in enumerate(stored_forms)}
    assert codec.stringify_entries(entries) == general_writer(entries)


def test_an_expiry_equal_to_an_int_but_of_another_type_gets_a_slot_of_its_own() -> None:
    # expires_ms is an int; a bool, a float or a list in its place is written as the
    # general writer writes it (true, 5.0, [5]), never as the int it equals
    entries = {
        "a": Entry(1, 5),
        "b": Entry("x", True),
        "c": Entry("y", 5.0),  # type: ignore[arg-type]
        "d": Entry("z", [5]),  # type: ignore[arg-type]
    }
    assert codec.stringify_entries(entries) == general_writer(entries)


ONE_ENTRY_VALUES: list[Any] = [*EDGE_STRINGS, *EDGE_INTS, *EDGE_FLOATS, 5, 1_800_000_000_000,
                               True, False, None, UNDEFINED]  # fmt: skip


@pytest.mark.parametrize(
    "expires", [None, 0, 1, 5, -1, 1_800_000_000_000, MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1]
)
@pytest.mark.parametrize("key", ["n", "1", "true", "null", "<", "é", ""])
def test_a_record_of_one_entry_is_written_as_the_general_writer_writes_it(
    key: str, expires: int | None
) -> None:
    # The usual session (one key) has a writer of its own: the same bytes, value and
    # expiry sharing a slot (or the key) when equal, as the general writer shares them.
    for value in [*ONE_ENTRY_VALUES, key]:
        for stored in (value, codec.encode(value)):
            entries = {key: Entry(stored, expires)}
            assert codec.stringify_entries(entries) == general_writer(entries), (value, stored)
