"""A save writes each entry from its encoded form: entries nobody changed go back exactly
as they were stored (whatever wrote them), and a value is encoded once, at ``set``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hostsessions import URL, Session, SessionSerializationError, codec
from hostsessions.ids import new_session_id
from hostsessions.state import SessionState
from hostsessions.storage import sync_store

from .helpers import CountingDriver, FakeClock


def open_session(driver: CountingDriver, cookie_id: str | None = None) -> Session:
    store = sync_store(driver)
    return Session(SessionState(cookie_id, clock=FakeClock()), lambda: store)


def stored(driver: CountingDriver, payload: str) -> str:
    """A session record written by someone else (an Astro site on the same store)."""
    session_id = new_session_id()
    driver.inner.write(session_id, payload, expires_at=None, expected_version=None)
    return session_id


def increment_n(driver: CountingDriver, session_id: str) -> str:
    session = open_session(driver, session_id)
    session.set("n", session.get("n") + 1)
    session.save()
    record = driver.inner.read(session_id)
    assert record is not None
    return record.payload  # type: ignore[no-any-return]


# Stored by devalue (JS): a Set's order, a boxed string, an integral double past 2**53
# and an object shared by two keys, none of which a Python value holds as such.
JS_WRITTEN = {
    "a Set keeps its order": (
        '[["Map",1,2,6,7],"tags",{"data":3},["Set",4,5],"zeta","alpha","n",{"data":8},1]',
        '[["Map",1,2,6,7],"tags",{"data":3},["Set",4,5],"zeta","alpha","n",{"data":8},2]',
    ),
    "a boxed string stays boxed": (
        '[["Map",1,2,5,6],"name",{"data":3},["Object",4],"Ada","n",{"data":7},1]',
        '[["Map",1,2,5,6],"name",{"data":3},["Object",4],"Ada","n",{"data":7},2]',
    ),
    "a double past 2**53 keeps its digits": (
        '[["Map",1,2,4,5],"big",{"data":3},100000000000000000000,"n",{"data":6},1]',
        '[["Map",1,2,4,5],"big",{"data":3},100000000000000000000,"n",{"data":6},2]',
    ),
    "an object shared by two keys stays shared": (
        '[["Map",1,2,5,6,7,8],"a",{"data":3},{"x":4},1,"b",{"data":3},"n",{"data":4}]',
        '[["Map",1,2,5,6,7,8],"a",{"data":3},{"x":4},1,"b",{"data":3},"n",{"data":9},2]',
    ),
    "undefined stays undefined": (
        '[["Map",1,2,5,6],"u",{"data":3},[-1,-2,4],1,"n",{"data":4}]',
        '[["Map",1,2,5,6],"u",{"data":3},[-1,-2,4],1,"n",{"data":7},2]',
    ),
}


@pytest.mark.parametrize(("before", "after"), JS_WRITTEN.values(), ids=JS_WRITTEN.keys())
def test_entries_nobody_changed_are_written_back_as_stored(before: str, after: str) -> None:
    driver = CountingDriver()
    assert increment_n(driver, stored(driver, before)) == after


def test_a_changed_entry_is_written_in_devalues_own_layout() -> None:
    """The same bytes as encoding the whole session at once, as devalue would."""
    driver = CountingDriver()
    cart = [{"sku": "tea", "qty": 2}, {"sku": "mug", "qty": 1}]
    values: dict[str, Any] = {
        "cart": cart,
        "when": datetime(2026, 11, 30, tzinfo=UTC),
        "home": URL("https://example.com/"),
        "raw": b"\x00\x01",
        "same": cart,
        "n": 1,
    }
    session = open_session(driver)
    for key, value in values.items():
        session.set(key, value)
    session.save()
    assert session.id is not None

    payload = increment_n(driver, session.id)

    expected = codec.stringify(
        codec.JSMap({key: {"data": value} for key, value in {**values, "n": 2}.items()})
    )
    # "same" was set on its own, so it is not shared with "cart" (as before this change);
    # everything else matches a one-shot encoding byte for byte.
    assert codec.parse(payload) == codec.parse(expected)
    assert payload.startswith('[["Map",')


def test_in_place_changes_to_a_value_that_was_got_are_never_saved() -> None:
    driver = CountingDriver()
    session = open_session(driver)
    session.set("cart", ["tea"])
    session.save()
    later = open_session(driver, session.id)
    later.get("cart").append("stolen")
    later.set("n", 1)
    later.save()
    assert open_session(driver, session.id).get("cart") == ["tea"]


def test_a_set_value_is_encoded_once_and_never_decoded_by_a_write_only_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[str, int] = {"encode": 0, "decode": 0, "parse": 0}
    for name in calls:
        real = getattr(codec, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(codec, name, counted)
    driver = CountingDriver()
    session = open_session(driver)
    session.set("cart", [{"sku": "tea"}] * 3)
    session.save()
    assert calls == {"encode": 1, "decode": 0, "parse": 0}


SCALAR_RECORDS = [
    '[["Map",1,2],"n",{"data":3},12345]',
    '[["Map",1,2,4,5],"user",{"data":3,"expires":6},"u-1","flag",{"data":7},1800000000000,true]',
    '[["Map",1,2],"u",{"data":-1}]',
    '[["Map",1,2],"x",{"data":3},1.5]',
    '[["Map",1,2],"none",{"data":3},null]',
]


@pytest.mark.parametrize("payload", SCALAR_RECORDS)
def test_a_record_of_plain_values_reads_as_the_general_decoder_reads_it(payload: str) -> None:
    value, entries = codec.parse_record(payload)
    assert value == codec.parse(payload)
    assert type(value) is codec.JSMap
    assert set(entries) == set(value)


@pytest.mark.parametrize(
    "payload",
    [
        '[["Map",1,2],"k",{"data":3,"__proto__":3},1]',  # an object key devalue refuses
        '[["Map",1,2],"k",{"data":9},1]',  # an index past the last slot
        '[["Map",1,2],"k",{"data":-8},1]',  # not a special index
        '[["Map",9,2],"k",{"data":3},1]',  # a key past the last slot
        '[["Map",1,2],"k",{"data":3},["Pickle","x"]]',  # a type devalue does not know
    ],
)
def test_damaged_records_are_refused_by_the_fast_path_too(payload: str) -> None:
    with pytest.raises(SessionSerializationError):
        codec.parse_record(payload)


def test_stringify_record_writes_what_stringify_writes_for_the_same_map() -> None:
    cart = [{"sku": "tea"}, {"sku": "tea"}]
    triples = [("cart", cart, 1_800_000_000_000), ("n", 1, None), ("sku", "tea", None)]
    expected = codec.stringify(
        codec.JSMap(
            {
                key: {"data": data} if expires is None else {"data": data, "expires": expires}
                for key, data, expires in triples
            }
        )
    )
    assert codec.stringify_record(triples) == expected
    encoded = [(key, codec.encode(data), expires) for key, data, expires in triples]
    assert codec.stringify_record(encoded) == expected
