"""SessionState.touch(): a whole-session renewal (Django's expiry rule) that merges like
any other operation."""

from __future__ import annotations

import time

from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.session import Session
from hostsessions.state import SessionState, decode_entries
from hostsessions.storage import sync_store


def open_session(store: object, session_id: str | None) -> Session:
    return Session(SessionState(session_id, default_ttl=60), lambda: sync_store(store))


def expiries(store: MemoryDriver, session_id: str) -> dict[str, int | None]:
    record = store.read(session_id)
    assert record is not None
    entries = decode_entries(record.payload)
    assert entries is not None
    return {key: slot.expires_ms for key, slot in entries.items()}


def test_touch_gives_every_key_the_new_lifetime() -> None:
    store = MemoryDriver()
    first = open_session(store, None)
    first.set("a", 1)
    first.set("b", 2, ttl=10)
    first.save()
    session = open_session(store, first.id)
    session._state.touch(3600)
    session.save()
    now_ms = time.time() * 1000
    for expires_ms in expiries(store, first.id or "").values():
        assert expires_ms is not None
        assert abs(expires_ms - (now_ms + 3600_000)) < 5000


def test_touch_keeps_the_own_lifetime_of_keys_set_in_the_same_request() -> None:
    store = MemoryDriver()
    session = open_session(store, None)
    session.set("otp", "123456", ttl=5)
    session.set("cart", ["tea"])
    session._state.touch(3600)
    session.save()
    now_ms = time.time() * 1000
    found = expiries(store, session.id or "")
    assert abs((found["otp"] or 0) - (now_ms + 5000)) < 2000
    assert abs((found["cart"] or 0) - (now_ms + 3600_000)) < 5000


def test_touch_replayed_after_a_conflict_keeps_the_other_requests_changes() -> None:
    store = MemoryDriver()
    first = open_session(store, None)
    first.set("x", 1)
    first.set("y", 1)
    first.save()
    sid = first.id or ""
    late = open_session(store, sid)
    assert late.get("x") == 1  # read before the other request writes
    other = open_session(store, sid)
    other.set("x", 2)
    other.delete("y")
    other.save()
    late._state.touch(3600)
    late.save()  # conflicts, re-reads, re-stamps the fresh data
    again = open_session(store, sid)
    assert dict(again.items()) == {"x": 2}, "touch must not overwrite values nor resurrect keys"
    assert (expiries(store, sid)["x"] or 0) > time.time() * 1000 + 3000_000
