"""hostsessions.codec: devalue's wire format, as devalue itself writes and reads it.

The expected strings below are what devalue 6.0.3 (and 5.9.4, the release Astro pins)
writes for the same JavaScript values; tests/test_codec_devalue_js.py checks the same
ground against the real library in Node.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import json
import math
from collections import OrderedDict, namedtuple
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostsessions import URL, SessionSerializationError
from hostsessions.codec import (
    MAX_DEPTH,
    MAX_INPUT_CHARS,
    UNDEFINED,
    JSBigInt,
    JSMap,
    JSOpaque,
    JSRegExp,
    parse,
    stringify,
)

# --------------------------------------------------------------------- devalue's own output

DEVALUE_OUTPUT = [
    pytest.param(1, "[1]", id="number"),
    pytest.param("a", '["a"]', id="string"),
    pytest.param(None, "[null]", id="null"),
    pytest.param(True, "[true]", id="boolean"),
    pytest.param([1, 2], "[[1,2],1,2]", id="array"),
    pytest.param({"a": 1}, '[{"a":1},1]', id="object"),
    pytest.param({}, "[{}]", id="empty object"),
    pytest.param([], "[[]]", id="empty array"),
    pytest.param(
        [None, None, True, True, "x", "x", 1, 1, 1.5],
        '[[1,1,2,2,3,3,4,4,5],null,true,"x",1,1.5]',
        id="primitives shared by value",
    ),
    pytest.param(math.nan, "-3", id="NaN"),
    pytest.param(-0.0, "-6", id="negative zero"),
    pytest.param(math.inf, "-4", id="Infinity"),
    pytest.param(-math.inf, "-5", id="-Infinity"),
    pytest.param([math.nan, -0.0], "[[-3,-6]]", id="specials inside"),
    pytest.param(JSMap({"a": 1}), '[["Map",1,2],"a",1]', id="Map"),
    pytest.param({1: "a"}, '[["Map",1,2],1,"a"]', id="dict with int keys is a Map"),
    pytest.param(JSMap(), '[["Map"]]', id="empty Map"),
    pytest.param({1}, '[["Set",1],1]', id="Set"),
    pytest.param(frozenset(), '[["Set"]]', id="empty Set"),
    pytest.param(
        datetime(1970, 1, 1, tzinfo=UTC), '[["Date","1970-01-01T00:00:00.000Z"]]', id="Date"
    ),
    pytest.param(
        datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        '[["Date","2020-01-02T03:04:05.678Z"]]',
        id="Date with milliseconds",
    ),
    pytest.param(10**20, '[["BigInt","100000000000000000000"]]', id="BigInt"),
    pytest.param(-(2**70), '[["BigInt","-1180591620717411303424"]]', id="negative BigInt"),
    pytest.param(2**53 - 1, "[9007199254740991]", id="largest safe integer"),
    pytest.param(2**53, '[["BigInt","9007199254740992"]]', id="first unsafe integer"),
    pytest.param(b"\x01\x02\x03", '[["Uint8Array",1],["ArrayBuffer","AQID"]]', id="Uint8Array"),
    pytest.param(b"", '[["Uint8Array",1],["ArrayBuffer",""]]', id="empty Uint8Array"),
    pytest.param(
        URL("https://example.com/"),
        '[["URL",1],"https://example.com/"]',
        id="URL as Astro registers it",
    ),
    pytest.param(
        {"u": URL("https://example.com/"), "h": "https://example.com/"},
        '[{"u":1,"h":2},["URL",2],"https://example.com/"]',
        id="URL href shared with an equal string",
    ),
    pytest.param(JSRegExp("ab+c", "gi"), '[["RegExp","ab+c","gi"]]', id="RegExp"),
    pytest.param(JSRegExp("x"), '[["RegExp","x"]]', id="RegExp without flags"),
    pytest.param(
        '<\u2028\u2029"\\\n\x01\x7f é😀',
        '["\\u003C\\u2028\\u2029\\"\\\\\\n\\u0001\x7f é😀"]',
        id="string escapes",
    ),
    pytest.param("\ud800", '["\\ud800"]', id="lone surrogate"),
    pytest.param(
        JSMap({"cart": {"data": ["sku-1"], "expires": 1767225600000}}),
        '[["Map",1,2],"cart",{"data":3,"expires":5},[4],"sku-1",1767225600000]',
        id="an Astro session",
    ),
]


@pytest.mark.parametrize(("value", "expected"), DEVALUE_OUTPUT)
def test_stringify_writes_what_devalue_writes(value: Any, expected: str) -> None:
    assert stringify(value) == expected


@pytest.mark.parametrize(("value", "expected"), DEVALUE_OUTPUT)
def test_parse_reads_what_devalue_writes(value: Any, expected: str) -> None:
    assert_same(parse(expected), normalized(value))


def test_an_object_referenced_twice_is_written_once_and_read_back_shared() -> None:
    shared = {"x": 1}

    text = stringify([shared, shared])
    back = parse(text)

    assert text == '[[1,1],{"x":2},1]'
    assert back == [{"x": 1}, {"x": 1}]
    assert back[0] is back[1]


def test_a_list_that_contains_itself_round_trips_to_a_cycle() -> None:
    loop: list[Any] = []
    loop.append(loop)

    text = stringify(loop)
    back = parse(text)

    assert text == "[[0]]"
    assert back[0] is back


def test_a_dict_that_contains_itself_round_trips_to_a_cycle() -> None:
    node: dict[str, Any] = {"name": "root"}
    node["self"] = node

    text = stringify(node)
    back = parse(text)

    assert text == '[{"name":1,"self":0},"root"]'
    assert back["self"] is back


def test_a_cycle_through_a_map_value_survives() -> None:
    registry = JSMap()
    registry["me"] = [registry]

    back = parse(stringify(registry))

    assert back["me"][0] is back


# -------------------------------------------------------- reading what only JS writes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("-1", UNDEFINED, id="undefined"),
        pytest.param('[{"a":-1}]', {"a": UNDEFINED}, id="undefined property"),
        pytest.param("[[1,-2,2],1,3]", [1, UNDEFINED, 3], id="array with a hole"),
        pytest.param("[[-7,4,1,1],9]", [UNDEFINED, 9, UNDEFINED, UNDEFINED], id="sparse array"),
        pytest.param(
            '[["URL","https://a.example/x"]]', URL("https://a.example/x"), id="native URL"
        ),
        pytest.param(
            '[["Uint8Array",1,1,2],["ArrayBuffer","AQIDBA=="]]', b"\x02\x03", id="Uint8Array view"
        ),
        pytest.param('[["ArrayBuffer","AQID"]]', b"\x01\x02\x03", id="ArrayBuffer"),
        pytest.param('[["Object",1],"x"]', "x", id="boxed string"),
        pytest.param('[["Object",-3]]', math.nan, id="boxed NaN"),
        pytest.param('[["Object",1],["BigInt","5"]]', JSBigInt(5), id="boxed BigInt"),
        pytest.param('[["null","a",1],1]', {"a": 1}, id="null-prototype object"),
        pytest.param('[["null"]]', {}, id="empty null-prototype object"),
        pytest.param('[["BigInt","5"]]', JSBigInt(5), id="small BigInt is a JSBigInt"),
        pytest.param("[100000000000000000000]", 1e20, id="integral JS number beyond 2**53"),
        pytest.param("[2]", 2, id="JS writes 2.0 as 2"),
        pytest.param("[1e-7]", 1e-7, id="JS exponent form"),
        pytest.param(
            '[["Date","2020-01-02T03:04:05.1Z"]]',
            datetime(2020, 1, 2, 3, 4, 5, 100000, tzinfo=UTC),
            id="Date with one fraction digit",
        ),
        pytest.param(
            '[["Date","2020-01-02T03:04:05Z"]]',
            datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
            id="Date without fraction",
        ),
        pytest.param(
            '[["Map",1,2],[3,4],"v",1,2]', JSMap({(1, 2): "v"}), id="Map with an array key"
        ),
        pytest.param('[["Set",1],["Set",2],1]', {frozenset({1})}, id="Set inside a Set"),
    ],
)
def test_parse_reads_values_only_javascript_writes(text: str, expected: Any) -> None:
    assert_same(parse(text), expected)


def test_undefined_is_written_back_as_undefined_not_null() -> None:
    text = '[{"a":-1,"b":1,"c":2},null,[1,-1]]'

    back = parse(text)

    assert back == {"a": UNDEFINED, "b": None, "c": [None, UNDEFINED]}
    assert stringify(back) == text


def test_undefined_is_a_falsy_singleton_that_survives_copies() -> None:
    assert not UNDEFINED
    assert copy.deepcopy([UNDEFINED])[0] is UNDEFINED
    assert parse(stringify(UNDEFINED)) is UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"
    assert UNDEFINED is not None


def test_a_small_bigint_stays_a_bigint_and_arithmetic_gives_plain_ints() -> None:
    five = parse('[["BigInt","5"]]')

    assert five == 5
    assert isinstance(five, int)
    assert (str(five), f"{five}", f"{five:03d}", repr(five)) == ("5", "5", "005", "JSBigInt(5)")
    assert stringify(five) == '[["BigInt","5"]]'
    assert stringify(five + 1) == "[6]"
    assert type(parse(stringify(2**60))) is int  # a large int is always written as BigInt


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ('[["Float32Array",1],["ArrayBuffer","AAAAAAAAwD8="]]', "Float32Array"),
        ('[["Int16Array",1,2,1],["ArrayBuffer","AQIDBA=="]]', "Int16Array"),
        ('[["DataView",1],["ArrayBuffer","AQID"]]', "DataView"),
        ('[["URLSearchParams","a=1&b=%C3%A9"]]', "URLSearchParams"),
        ('[["Temporal.Instant","2020-01-01T00:00:00Z"]]', "Temporal.Instant"),
    ],
)
def test_js_types_python_has_no_type_for_are_kept_as_written(text: str, tag: str) -> None:
    value = parse(text)

    assert type(value) is JSOpaque
    assert value.tag == tag
    assert stringify(value) == text
    assert stringify([value, value]).count(tag) == 1  # one object, written once


def test_a_map_decodes_as_jsmap_and_an_object_as_dict() -> None:
    back = parse(stringify({"object": {"a": 1}, "map": JSMap({"a": 1})}))

    assert type(back["object"]) is dict
    assert type(back["map"]) is JSMap


def test_jsmap_equals_a_dict_with_the_same_items() -> None:
    assert JSMap({"a": 1}) == {"a": 1}
    assert isinstance(JSMap(), dict)
    assert type(JSMap({"a": 1}).copy()) is JSMap
    assert repr(JSMap({"a": 1})) == "JSMap({'a': 1})"


# ------------------------------------------------------------- the documented rules


def test_an_integral_float_stays_a_float_through_python() -> None:
    text = stringify(2.0)

    assert text == "[2.0]"
    assert type(parse(text)) is float


def test_a_safe_int_is_a_number_and_a_larger_one_a_bigint_both_read_back_as_int() -> None:
    for number in (0, -(2**53 - 1), 2**53 - 1, 2**53, -(2**53), 10**40):
        back = parse(stringify(number))
        assert type(back) is int
        assert back == number


def test_a_datetime_with_microseconds_round_trips_exactly() -> None:
    moment = datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

    text = stringify(moment)

    assert text == '[["Date","2020-01-02T03:04:05.123456Z"]]'
    assert parse(text) == moment


def test_a_datetime_in_another_timezone_is_written_in_utc_and_read_as_utc() -> None:
    moment = datetime(2020, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    back = parse(stringify(moment))

    assert stringify(moment) == '[["Date","2020-01-02T03:04:05.000Z"]]'
    assert back == moment
    assert back.tzinfo is UTC


def test_bytes_and_bytearray_are_uint8arrays_and_read_back_as_bytes() -> None:
    back = parse(stringify([b"ab", bytearray(b"cd")]))

    assert back == [b"ab", b"cd"]
    assert all(type(item) is bytes for item in back)


def test_tuples_and_frozensets_read_back_as_list_and_set() -> None:
    back = parse(stringify({"t": (1, 2), "f": frozenset({3})}))

    assert back == {"t": [1, 2], "f": {3}}
    assert type(back["t"]) is list
    assert type(back["f"]) is set


def test_tuple_keys_and_frozenset_members_stay_hashable() -> None:
    value = {"grid": {(0, 1): "x"}, "groups": {frozenset({1, 2}), (3, (4,))}}

    back = parse(stringify(value))

    assert back == value
    assert type(back["grid"]) is JSMap


def test_subclasses_of_supported_types_are_stored_as_their_base_type() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    point = namedtuple("point", "x y")

    back = parse(stringify([Colour.RED, Level.HIGH, OrderedDict(a=1), point(1, 2)]))

    assert back == ["red", 3, {"a": 1}, [1, 2]]
    assert [type(item) for item in back] == [str, int, dict, list]


def test_a_subclass_instance_referenced_twice_is_written_once() -> None:
    point = namedtuple("point", "x y")
    shared = point(1, 2)

    back = parse(stringify([shared, shared]))

    assert back[0] is back[1]


def test_nan_and_signed_zero_survive_inside_containers() -> None:
    back = parse(stringify({"values": [math.nan, -0.0, 0.0]}))

    assert math.isnan(back["values"][0])
    assert math.copysign(1.0, back["values"][1]) == -1.0
    assert math.copysign(1.0, back["values"][2]) == 1.0


# ------------------------------------------------------------------ round-trip property

hashable_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.binary(max_size=16)
    | st.builds(
        lambda path: URL("https://example.com/" + path),
        st.from_regex(r"[a-z0-9/]*", fullmatch=True),
    )
)
hashables = st.recursive(
    hashable_leaves,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
leaves = (
    hashable_leaves
    | st.floats(allow_nan=True)
    | st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])
    ).filter(lambda moment: 1 < moment.year < 9999)
    | st.binary(max_size=16).map(bytearray)
    | st.builds(JSRegExp, st.text(max_size=5), st.sampled_from(["", "g", "gi"]))
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(
            st.text(max_size=5).filter(lambda key: key != "__proto__"), inner, max_size=4
        )
        # All-str keys make a plain dict, which may not hold "__proto__" (tested apart).
        | st.dictionaries(hashables, inner, max_size=4).filter(lambda d: "__proto__" not in d)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4).map(JSMap)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_supported_value_round_trips(value: Any) -> None:
    assert_same(parse(stringify(value)), normalized(value))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("value", "type_name", "where"),
    [
        pytest.param(object(), "'object'", "at value;", id="the value itself"),
        pytest.param({"a": [1, 2, Decimal(3)]}, "'Decimal'", "at value['a'][2];", id="nested"),
        pytest.param(
            {"m": {Decimal(1): 2}}, "'Decimal' (a dict key)", "at value['m'];", id="a dict key"
        ),
        pytest.param(
            {"s": {Decimal(1)}}, "'Decimal' (a set member)", "at value['s'];", id="member"
        ),
        pytest.param(
            JSMap({7: [len]}), "'builtin_function_or_method'", "at value[7][0];", id="map"
        ),
        pytest.param(
            {"grid": {(1, Decimal(2)): "x"}},
            "'Decimal'",
            "at value['grid'] (inside a dict key)",
            id="inside a tuple key",
        ),
        pytest.param({"day": date(2020, 1, 1)}, "'date'", "at value['day'];", id="a date"),
        pytest.param({"f": lambda: 1}, "'function'", "at value['f'];", id="a function"),
    ],
)
def test_an_unsupported_value_is_named_with_its_type_and_path(
    value: Any, type_name: str, where: str
) -> None:
    with pytest.raises(SessionSerializationError) as caught:
        stringify(value)

    message = str(caught.value)
    assert f"a value of type {type_name}" in message
    assert where in message
    assert "supported types are" in message


def test_a_naive_datetime_is_refused_with_the_fix() -> None:
    with pytest.raises(SessionSerializationError, match=r"naive datetime.*at value\['when'\]"):
        stringify({"when": datetime(2020, 1, 1)})


def test_a_proto_key_is_refused_because_devalue_would_refuse_it() -> None:
    with pytest.raises(SessionSerializationError, match="__proto__"):
        stringify({"__proto__": 1})

    assert parse(stringify(JSMap({"__proto__": 1}))) == {"__proto__": 1}


def test_the_serialization_error_is_also_a_type_error() -> None:
    with pytest.raises(TypeError):
        stringify(object())


def test_stringify_refuses_values_nested_deeper_than_max_depth() -> None:
    deep: list[Any] = []
    for _ in range(MAX_DEPTH):
        deep = [deep]

    with pytest.raises(SessionSerializationError, match=f"more than {MAX_DEPTH}"):
        stringify(deep)
    assert stringify(deep[0]).startswith("[[1],[2],")


def test_stringify_never_leaks_recursion_error_even_with_a_huge_max_depth() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    with pytest.raises(SessionSerializationError, match="too deeply"):
        stringify(deep, max_depth=10**9)


def test_stringify_refuses_an_output_over_max_length() -> None:
    with pytest.raises(SessionSerializationError, match="over the limit of 10"):
        stringify("x" * 20, max_length=10)


MALFORMED = [
    # not JSON, or not devalue's outer shape
    "",
    "nope",
    "[",
    "{}",
    "[]",
    "null",
    "true",
    '"text"',
    "1",
    "-2",
    "-7",
    "-8",
    "[NaN]",
    "[Infinity]",
    "[-Infinity]",
    # bad indices
    "[[1]]",
    "[[-8]]",
    "[[1.5],2]",
    "[[true]]",
    '[{"a":"b"}]',
    '[{"a":5}]',
    '[{"a":-2}]',
    '[{"a":-7}]',
    # tagged values of the wrong shape
    '[["Date"]]',
    '[["Date",5]]',
    '[["Date","yesterday"]]',
    '[["Date",""]]',
    '[["Date","+012345-01-01T00:00:00.000Z"]]',
    '[["Date","2020-13-01T00:00:00.000Z"]]',
    '[["Date","2020-01-01T00:00:00.000"]]',
    '[["Map",1]]',
    '[["Map",1,2]]',
    '[["Map",1,2],{},3]',
    '[["Map",1,2],["Map"],3]',
    '[["Set",1],[2],{}]',
    '[["Set",1],[0]]',
    '[["BigInt","12a"]]',
    '[["BigInt",12]]',
    '[["BigInt","1_000"]]',
    '[["BigInt"," 1"]]',
    '[["BigInt","١٢"]]',
    '[["BigInt","' + "9" * 5000 + '"]]',
    '[["URL",5]]',
    '[["URL",1],2]',
    '[["URL",0]]',
    '[["URL","not a url"]]',
    '[["URL"]]',
    '[["Uint8Array",1],"AQID"]',
    '[["Uint8Array",0]]',
    '[["Uint8Array",1,2,9],["ArrayBuffer","AQID"]]',
    '[["Uint8Array",1,-1,1],["ArrayBuffer","AQID"]]',
    '[["ArrayBuffer","!!"]]',
    '[["ArrayBuffer","AQI"]]',
    '[["ArrayBuffer",5]]',
    '[["Object",0]]',
    '[["Object",1],{}]',
    '[["Object",-1]]',
    '[["Object",1],null]',
    '[["RegExp",1]]',
    '[["RegExp","a","g","x"]]',
    '[["null","__proto__",1],1]',
    '[["null",1,1],1]',
    '[["null","a"]]',
    '[{"__proto__":1},1]',
    '[["Int16Array",1],["ArrayBuffer","!!"]]',
    '[["Float32Array",1,2],["ArrayBuffer","AQID"]]',
    '[["Int16Array",1,"0",2],["ArrayBuffer","AQID"]]',
    '[["URLSearchParams",1],"a=1"]',
    '[["Temporal.Instant"]]',
    '[["Nope"]]',
    # sparse arrays
    "[[-7]]",
    "[[-7,-1]]",
    "[[-7,3,5,1],1]",
    "[[-7,2,0]]",
    "[[-7,4294967296]]",
    '[[-7,1,"0",1],1]',
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_input_raises_serialization_error(text: str) -> None:
    with pytest.raises(SessionSerializationError):
        parse(text)


def test_a_javascript_object_used_as_a_map_key_is_refused_with_the_reason() -> None:
    with pytest.raises(SessionSerializationError, match="cannot be a Python dict key"):
        parse('[["Map",1,2],{},3]')
    with pytest.raises(SessionSerializationError, match="cannot be a Python dict key"):
        parse('[["Set",1],[2],["Map"]]')


def test_parse_refuses_anything_but_str() -> None:
    with pytest.raises(SessionSerializationError, match="must be a str"):
        parse(b"[1]")  # type: ignore[arg-type]


def test_whitespace_around_the_json_is_read_as_json_parse_reads_it() -> None:
    assert parse(' \n\t[["Map",1,2],"n",5]\r\n ') == {"n": 5}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Expecting value"),
        ("   ", "Expecting value"),
        ("[1] x", "Extra data"),
        ("[1][2]", "Extra data"),
        (" [1", "Expecting"),
        ("[NaN]", "NaN is not JSON"),
    ],
)
def test_text_that_is_not_one_json_document_is_refused_with_json_s_reason(
    text: str, reason: str
) -> None:
    with pytest.raises(SessionSerializationError, match=f"invalid JSON \\({reason}"):
        parse(text)


def test_a_deep_chain_of_slots_is_refused_not_a_recursion_error() -> None:
    depth = 50_000
    text = json.dumps([[index + 1] for index in range(depth)] + [[]])

    with pytest.raises(SessionSerializationError, match=f"more than {MAX_DEPTH}"):
        parse(text)
    with pytest.raises(SessionSerializationError, match="too deeply"):
        parse(text, max_depth=10**9)


def test_deeply_nested_raw_json_is_refused() -> None:
    with pytest.raises(SessionSerializationError, match="nests too deeply"):
        parse("[" * 100_000 + "]" * 100_000)


def test_what_stringify_can_write_at_max_depth_parse_can_read() -> None:
    deep: list[Any] = [b"bytes", datetime(2020, 1, 1, tzinfo=UTC)]
    for _ in range(MAX_DEPTH - 2):
        deep = [deep]

    assert parse(stringify(deep)) == deep


def test_input_over_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(SessionSerializationError, match=f"over the limit of {MAX_INPUT_CHARS}"):
        parse("[" + " " * MAX_INPUT_CHARS + "1]")
    with pytest.raises(SessionSerializationError, match="over the limit of 5"):
        parse('["abcdef"]', max_length=5)


def test_a_sparse_array_cannot_claim_more_slots_than_the_length_limit() -> None:
    with pytest.raises(SessionSerializationError, match="sparse array of length 1000"):
        parse("[[-7,1000]]", max_length=100)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-9, max_value=12)
    | st.floats()
    | st.sampled_from(
        [
            "Date",
            "Map",
            "Set",
            "BigInt",
            "URL",
            "Uint8Array",
            "ArrayBuffer",
            "Object",
            "null",
            "RegExp",
            "__proto__",
            "AQID",
            "2020-01-01T00:00:00.000Z",
            "https://a/",
            "7",
        ]
    )
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(json_like, min_size=1, max_size=6))
def test_arbitrary_json_arrays_either_decode_or_raise_serialization_error(slots: list[Any]) -> None:
    with contextlib.suppress(SessionSerializationError):
        parse(json.dumps(slots))


@settings(max_examples=300, deadline=None)
@given(values, st.data())
def test_corrupted_payloads_either_decode_or_raise_serialization_error(
    value: Any, data: st.DataObject
) -> None:
    text = stringify(value)
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.sampled_from(["", "0", "9", "-", '"', "[", "]", "{", ",", "-7"]))
    with contextlib.suppress(SessionSerializationError):
        parse(text[:position] + replacement + text[position + 1 :])


# ------------------------------------------------------------------------- helpers


def normalized(value: Any, *, hashable: bool = False) -> Any:
    """What ``parse(stringify(value))`` gives back: the Python form of each JS value."""
    if isinstance(value, JSMap) or (
        isinstance(value, dict) and not all(type(key) is str for key in value)
    ):
        return JSMap((normalized(k, hashable=True), normalized(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [normalized(item, hashable=hashable) for item in value]
        return tuple(items) if hashable else items
    if isinstance(value, set | frozenset):
        members = {normalized(member, hashable=True) for member in value}
        return frozenset(members) if hashable else members
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def assert_same(actual: Any, expected: Any) -> None:
    """Equality that also checks types, NaN and the sign of zero, all the way down."""
    assert type(actual) is type(expected), (actual, expected)
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual)
        else:
            assert actual == expected
            assert math.copysign(1.0, actual) == math.copysign(1.0, expected)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same(actual[key], expected[key])
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected, strict=True):
            assert_same(got, want)
    elif isinstance(expected, datetime):
        assert actual == expected
        assert actual.tzinfo is UTC
    else:
        assert actual == expected


def test_regexp_with_a_non_string_source_is_a_clear_error() -> None:
    from hostsessions.codec import JSRegExp

    with pytest.raises(SessionSerializationError, match="strings"):
        JSRegExp(1)  # type: ignore[arg-type]
