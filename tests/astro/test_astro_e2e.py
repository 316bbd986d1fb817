"""One session shared by a real Astro site and a hostsessions app, in both directions.

The Astro site (tests/astro/site: astro 5 and @astrojs/node from npm, built by
scripts/setup.d/70-astro-site.sh) runs as in production, ``node dist/server/entry.mjs``,
beside the hostsessions app of python_app.py under uvicorn. Both use the cookie
``astro-session`` and one store: unstorage's fs-lite layout in a folder, or a real
redis-server in unstorage's key layout (``<base>:<id>``, or the bare ID). Every test runs
on the three.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from hostsessions import Session
from hostsessions.codec import parse
from hostsessions.drivers import Record
from hostsessions.state import SessionState
from hostsessions.storage import sync_store
from hostsessions.testing import holds_no_session

from .conftest import Browser, Store

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HOSTSESSIONS_ID = re.compile(r"[A-Za-z0-9_-]{43}")

# What both sides must see of src/lib/values.mjs's typedValues() and python_app.typed_values().
TYPED_DESCRIPTION: dict[str, Any] = {
    "date": {"t": "Date", "v": "2026-11-30T06:00:00.123Z"},
    "map": {
        "t": "Map",
        "v": [
            [{"t": "string", "v": "a"}, {"t": "number", "v": 1}],
            [{"t": "number", "v": 2}, {"t": "string", "v": "b"}],
        ],
    },
    "set": {"t": "Set", "v": [{"t": "string", "v": "x"}, {"t": "number", "v": 3}]},
    "url": {"t": "URL", "v": "https://astro.example/path?q=1"},
    "bigint": {"t": "bigint", "v": "12345678901234567890"},
    "smallBigint": {"t": "bigint", "v": "5"},
    "bytes": {"t": "Uint8Array", "v": [0, 1, 254, 255]},
    "nested": {
        "t": "object",
        "v": {
            "cart": {
                "t": "Array",
                "v": [
                    {
                        "t": "object",
                        "v": {
                            "sku": {"t": "string", "v": "a"},
                            "qty": {"t": "number", "v": 2},
                            "note": {"t": "undefined"},
                        },
                    }
                ],
            },
            "tags": {"t": "Set", "v": [{"t": "string", "v": "t"}]},
        },
    },
    "undef": {"t": "undefined"},
    "nul": {"t": "null"},
    "text": {"t": "string", "v": "héllo <b>"},
    "float": {"t": "number", "v": 1.5},
    "flag": {"t": "boolean", "v": True},
}


def canonical(description: Any) -> Any:
    """A description with Set members in a fixed order: a Python set has none."""
    if isinstance(description, dict):
        if description.get("t") == "Set":
            members = [canonical(member) for member in description["v"]]
            return {"t": "Set", "v": sorted(members, key=lambda m: json.dumps(m, sort_keys=True))}
        return {key: canonical(value) for key, value in description.items()}
    if isinstance(description, list):
        return [canonical(item) for item in description]
    return description


def wait_until_expired(store: Store, session_id: str | None, key: str) -> None:
    """Sleep until ``key``'s stored expiry (epoch ms, whichever side wrote it) has passed."""
    assert session_id is not None
    raw = store.raw(session_id)
    assert raw is not None
    expires_ms = parse(raw)[key]["expires"]
    assert isinstance(expires_ms, int)
    time.sleep(max(0.0, expires_ms / 1000 + 0.2 - time.time()))


def no_session_at(store: Store, session_id: str) -> bool:
    """Nothing, or the tombstone Python's regenerate() and destroy() leave for a minute
    (docs/concurrency.md): an entry already expired, so Astro reads an empty session."""
    raw = store.raw(session_id)
    return raw is None or holds_no_session(Record(raw, "", None))


def keys_seen(browser: Browser, side: str) -> dict[str, Any]:
    seen: dict[str, Any] = browser.get(f"/{side}/describe")["keys"]
    return canonical(seen)


# Values, with their types, in both directions.


def test_values_set_in_astro_are_read_in_python_with_their_types(browser: Browser) -> None:
    browser.post("/astro/set-typed")

    assert keys_seen(browser, "py") == canonical(TYPED_DESCRIPTION)


def test_values_set_in_python_are_read_in_astro_with_their_types(browser: Browser) -> None:
    browser.post("/py/set-typed")

    assert keys_seen(browser, "astro") == canonical(TYPED_DESCRIPTION)


def test_a_python_read_modify_write_keeps_every_astro_value_and_type(browser: Browser) -> None:
    browser.post("/astro/set-typed")

    browser.post("/py/update?key=visits")
    browser.post("/py/update?key=visits")

    expected = {**TYPED_DESCRIPTION, "visits": {"t": "number", "v": 2}}
    assert keys_seen(browser, "astro") == canonical(expected)


def test_an_astro_read_modify_write_keeps_every_python_value_and_type(browser: Browser) -> None:
    browser.post("/py/set-typed")

    browser.post("/astro/update?key=visits")
    browser.post("/py/update?key=visits")

    expected = {**TYPED_DESCRIPTION, "visits": {"t": "number", "v": 2}}
    assert keys_seen(browser, "py") == canonical(expected)
    assert keys_seen(browser, "astro") == canonical(expected)


def test_a_js_type_python_has_none_for_survives_a_python_save(browser: Browser) -> None:
    browser.post("/astro/set-samples")  # a Float32Array

    assert keys_seen(browser, "py") == {"samples": {"t": "opaque Float32Array"}}
    browser.post("/py/update?key=visits")

    assert keys_seen(browser, "astro") == {
        "samples": {"t": "Float32Array", "v": ["1.5", "-2"]},
        "visits": {"t": "number", "v": 1},
    }


def test_a_python_save_keeps_a_change_astro_made_after_python_read(
    browser: Browser, store: Store
) -> None:
    browser.post("/astro/set?key=cart", ["a"])
    state = SessionState(browser.cookie)
    python_store = sync_store(store.python_driver)
    session = Session(state, lambda: python_store)
    assert session.get("cart") == ["a"]

    browser.post("/astro/set?key=coupon", "SAVE10")  # Astro writes between Python's read...
    session.set("cart", ["a", "b"])
    session.save()  # ...so this conditional write conflicts, re-reads and replays

    assert keys_seen(browser, "astro") == {
        "cart": {"t": "Array", "v": [{"t": "string", "v": "a"}, {"t": "string", "v": "b"}]},
        "coupon": {"t": "string", "v": "SAVE10"},
    }


# IDs and the store's layout.


def test_python_uses_astros_session_id_and_unstorages_layout(
    browser: Browser, store: Store
) -> None:
    browser.post("/astro/set?key=greeting", "hello")
    astro_id = browser.cookie
    assert astro_id is not None
    assert UUID.fullmatch(astro_id)

    browser.post("/py/set?key=reply", "hi")

    assert browser.cookie == astro_id  # Python kept the session: no new ID, no new cookie
    raw = store.raw(astro_id)
    assert raw is not None
    stored = parse(raw)  # the bare devalue Map of {data, expires}, where unstorage keeps it
    assert stored["greeting"]["data"] == "hello"
    assert stored["reply"] == {"data": "hi"}
    assert keys_seen(browser, "astro")["reply"] == {"t": "string", "v": "hi"}


def test_a_session_python_creates_is_read_by_astro(browser: Browser, store: Store) -> None:
    browser.post("/py/set?key=cart", ["sku-1"])
    python_id = browser.cookie
    assert python_id is not None
    assert HOSTSESSIONS_ID.fullmatch(python_id)
    assert store.raw(python_id) is not None

    browser.post("/astro/update?key=visits")

    assert browser.cookie == python_id
    assert keys_seen(browser, "py") == {
        "cart": {"t": "Array", "v": [{"t": "string", "v": "sku-1"}]},
        "visits": {"t": "number", "v": 1},
    }


def test_an_unknown_astro_id_is_not_adopted_by_python(browser: Browser, store: Store) -> None:
    forged = str(uuid.uuid4())
    browser.cookie = forged

    browser.post("/py/set?key=a", 1)

    assert browser.cookie not in (None, forged)
    assert store.raw(forged) is None


# Per-key TTL, set by one side, honoured by the other.


# A TTL of a few seconds, so a slow machine still reads the key before it expires.
TTL = 3


def test_a_ttl_set_in_astro_is_honoured_by_python(browser: Browser, store: Store) -> None:
    browser.post(f"/astro/set?key=brief&ttl={TTL}", "soon gone")
    browser.post("/astro/set?key=lasting", "stays")
    assert set(keys_seen(browser, "py")) == {"brief", "lasting"}

    wait_until_expired(store, browser.cookie, "brief")

    assert set(keys_seen(browser, "py")) == {"lasting"}


def test_a_ttl_set_in_python_is_honoured_by_astro(browser: Browser, store: Store) -> None:
    browser.post(f"/py/set?key=brief&ttl={TTL}", "soon gone")
    browser.post("/py/set?key=lasting", "stays")
    assert set(keys_seen(browser, "astro")) == {"brief", "lasting"}

    wait_until_expired(store, browser.cookie, "brief")

    assert set(keys_seen(browser, "astro")) == {"lasting"}


def test_python_keeps_the_expiry_astro_gave_a_key_it_did_not_change(
    browser: Browser, store: Store
) -> None:
    browser.post(f"/astro/set?key=brief&ttl={TTL}", "soon gone")
    browser.post("/py/update?key=visits")  # Python rewrites the record
    assert set(keys_seen(browser, "astro")) == {"brief", "visits"}

    wait_until_expired(store, browser.cookie, "brief")

    assert set(keys_seen(browser, "astro")) == {"visits"}
    assert set(keys_seen(browser, "py")) == {"visits"}


# regenerate and destroy on either side, followed by the other.


def test_regenerate_in_astro_is_followed_by_python(browser: Browser, store: Store) -> None:
    browser.post("/py/set?key=user", "ada")
    old_id = browser.cookie

    browser.post("/astro/regenerate")

    new_id = browser.cookie
    assert new_id is not None
    assert UUID.fullmatch(new_id)
    assert store.raw(new_id) is not None
    assert old_id is not None
    assert store.raw(old_id) is None
    assert keys_seen(browser, "py") == {
        "user": {"t": "string", "v": "ada"},
        "regeneratedBy": {"t": "string", "v": "astro"},
    }
    browser.cookie = old_id  # the old ID is gone for Python too
    assert keys_seen(browser, "py") == {}


def test_regenerate_in_python_is_followed_by_astro(browser: Browser, store: Store) -> None:
    browser.post("/astro/set?key=user", "ada")
    old_id = browser.cookie

    browser.post("/py/regenerate")

    new_id = browser.cookie
    assert new_id is not None
    assert new_id != old_id
    assert HOSTSESSIONS_ID.fullmatch(new_id)
    assert old_id is not None
    assert no_session_at(store, old_id)
    assert keys_seen(browser, "astro") == {"user": {"t": "string", "v": "ada"}}
    browser.cookie = old_id
    assert keys_seen(browser, "astro") == {}


def test_destroy_in_astro_is_followed_by_python(browser: Browser, store: Store) -> None:
    browser.post("/py/set?key=user", "ada")
    old_id = browser.cookie
    assert old_id is not None

    browser.post("/astro/destroy")

    assert browser.cookie is None
    assert store.raw(old_id) is None
    assert keys_seen(browser, "py") == {}
    browser.cookie = old_id  # a browser that kept the old cookie gets nothing back
    assert keys_seen(browser, "py") == {}
    assert store.keys() == []


def test_destroy_in_python_is_followed_by_astro(browser: Browser, store: Store) -> None:
    browser.post("/astro/set?key=user", "ada")
    old_id = browser.cookie
    assert old_id is not None

    browser.post("/py/destroy")

    assert browser.cookie is None
    assert no_session_at(store, old_id)
    assert keys_seen(browser, "astro") == {}
    browser.cookie = old_id
    assert keys_seen(browser, "astro") == {}
