"""Astro's session IDs and values, in a store an Astro site shares (no Astro process here).

Astro mints IDs with crypto.randomUUID() and stores a Map of key -> {data, expires}, with
`expires: undefined` for a key without TTL. tests/astro/test_astro_e2e.py does the same
against a real Astro server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hostsessions import URL, Session
from hostsessions.codec import UNDEFINED, JSBigInt, JSMap, JSOpaque, parse, stringify
from hostsessions.drivers import FsLiteDriver
from hostsessions.ids import is_valid_session_id
from hostsessions.state import SessionState
from hostsessions.storage import sync_store

from .helpers import CountingDriver


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def driver(store_dir: Path) -> CountingDriver:
    return CountingDriver(FsLiteDriver(store_dir))


def open_session(driver: CountingDriver, cookie_id: str | None = None) -> Session:
    state = SessionState(cookie_id)
    store = sync_store(driver)
    return Session(state, lambda: store)


def astro_record(**entries: Any) -> str:
    """What Astro writes: every entry has an `expires`, undefined when the key has no TTL."""
    stored = JSMap()
    for key, data in entries.items():
        stored[key] = {"data": data, "expires": UNDEFINED}
    return stringify(stored)


def write_as_astro(store_dir: Path, session_id: str, payload: str) -> None:
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / session_id).write_text(payload, encoding="utf-8")


ASTRO_VALUES: dict[str, Any] = {
    "nothing": UNDEFINED,
    "count": JSBigInt(5),
    "big": 2**70,
    "when": datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    "home": URL("https://astro.example/"),
    "tags": {"a", "b"},
    "prefs": JSMap({"theme": "dark", 1: [UNDEFINED, None]}),
    "nested": {"cart": [{"sku": "x", "note": UNDEFINED}], "bytes": b"\x00\xff"},
    "null": None,
}


# IDs.


def test_an_astro_id_whose_record_exists_is_used(store_dir: Path, driver: CountingDriver) -> None:
    astro_id = str(uuid.uuid4())
    write_as_astro(store_dir, astro_id, astro_record(user="ada"))

    session = open_session(driver, astro_id)

    assert session.get("user") == "ada"
    assert session.id == astro_id


def test_an_unknown_astro_id_is_not_adopted(store_dir: Path, driver: CountingDriver) -> None:
    forged = str(uuid.uuid4())

    session = open_session(driver, forged)
    session.set("a", 1)
    session.save()

    assert session.id not in (None, forged)
    assert len(session.id or "") == 43  # new IDs are this library's own
    assert not (store_dir / forged).exists()


@pytest.mark.parametrize(
    "cookie",
    [
        str(uuid.uuid4()).upper(),  # crypto.randomUUID() is lowercase
        str(uuid.uuid1()),  # not version 4
        "{" + str(uuid.uuid4()) + "}",
        str(uuid.uuid4()).replace("-", ""),
        str(uuid.uuid4())[:-1] + "/",
        "../" + str(uuid.uuid4())[3:],
        "00000000-0000-4000-8000-00000000000.",
    ],
)
def test_ids_of_other_shapes_are_absent_and_reach_no_store(
    store_dir: Path, driver: CountingDriver, cookie: str
) -> None:
    write_as_astro(store_dir, "a" * 43, astro_record(user="ada"))

    session = open_session(driver, cookie)

    assert session.get("user") is None
    assert driver.calls == {}
    assert not is_valid_session_id(cookie)


def test_load_of_an_astro_id_switches_to_its_session(
    store_dir: Path, driver: CountingDriver
) -> None:
    astro_id = str(uuid.uuid4())
    write_as_astro(store_dir, astro_id, astro_record(user="ada"))
    session = open_session(driver)

    assert session.load(astro_id) is True
    assert session.id == astro_id
    assert dict(session.items()) == {"user": "ada"}


# Values: a read-modify-write keeps what Python did not change, undefined included.


def test_undefined_reads_as_the_undefined_sentinel(store_dir: Path, driver: CountingDriver) -> None:
    astro_id = str(uuid.uuid4())
    write_as_astro(store_dir, astro_id, astro_record(flag=UNDEFINED, list=[UNDEFINED, 1]))

    session = open_session(driver, astro_id)

    assert session.get("flag") is UNDEFINED
    assert session.get("list") == [UNDEFINED, 1]
    assert session.has("flag")


def test_a_write_keeps_every_value_python_did_not_change(
    store_dir: Path, driver: CountingDriver
) -> None:
    astro_id = str(uuid.uuid4())
    write_as_astro(store_dir, astro_id, astro_record(**ASTRO_VALUES))

    session = open_session(driver, astro_id)
    assert session.get("count") == 5  # read, not changed
    session.set("python", "was here")
    session.save()

    stored = parse((store_dir / astro_id).read_text())
    assert session.id == astro_id
    for key, value in ASTRO_VALUES.items():
        assert stored[key]["data"] == value, key
        assert type(stored[key]["data"]) is type(value), key
    assert stored["nothing"]["data"] is UNDEFINED
    assert stored["nested"]["data"]["cart"][0]["note"] is UNDEFINED
    assert stored["python"] == {"data": "was here"}


def test_python_can_store_undefined_and_a_small_bigint(driver: CountingDriver) -> None:
    session = open_session(driver)
    session.set("maybe", UNDEFINED)
    session.set("count", JSBigInt(1))
    session.save()

    again = open_session(driver, session.id)
    assert again.get("maybe") is UNDEFINED
    assert type(again.get("count")) is JSBigInt


def test_a_js_type_python_has_none_for_keeps_the_session_and_its_value(
    store_dir: Path, driver: CountingDriver
) -> None:
    astro_id = str(uuid.uuid4())
    # What Astro writes for set("samples", new Float32Array([1.5])) and set("user", "ada").
    payload = (
        '[["Map",1,2,5,6],"samples",{"data":3,"expires":-1},["Float32Array",4],'
        '["ArrayBuffer","AADAPw=="],"user",{"data":7},"ada"]'
    )
    write_as_astro(store_dir, astro_id, payload)

    session = open_session(driver, astro_id)
    assert session.get("user") == "ada"
    opaque = session.get("samples")
    assert isinstance(opaque, JSOpaque)
    assert opaque.tag == "Float32Array"
    session.set("copy", opaque)
    session.save()

    stored = (store_dir / astro_id).read_text()
    assert session.id == astro_id  # the record was kept, not discarded as undecodable
    assert stored.count('"Float32Array"') == 2
    assert parse(stored)["user"]["data"] == "ada"
