"""SessionState.touch(): a whole-session renewal (Django's expiry rule) that merges like
any other operation."""

from __future__ import annotations

import time

from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.session import Session
from hostsessions.state import SessionState, decode_entries
from hostsessions.storage import sync_store
from tests.helpers import CountingDriver


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


class Clock:
    """A clock the test moves (epoch seconds)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_reads_after_a_touch_in_the_same_request_judge_keys_by_the_new_lifetime() -> None:
    clock = Clock()
    store = MemoryDriver(clock=clock)
    first = Session(SessionState(None, default_ttl=60, clock=clock), lambda: sync_store(store))
    first.set("long", 1)  # 60 s
    first.set("short", 2, ttl=10)
    first.save()
    state = SessionState(first.id, default_ttl=60, clock=clock)
    session = Session(state, lambda: sync_store(store))
    assert session.get("long") == 1
    state.touch(3600)
    clock.now += 30  # past "short"'s stored expiry, within the touch's
    assert session.get("short") == 2
    state.touch(5)
    clock.now += 10  # past the second touch's lifetime, within "long"'s stored one
    assert session.get("long") is None
    assert session.get("short") is None
    assert dict(session.items()) == {}


def test_a_key_set_after_a_touch_keeps_the_lifetime_it_was_set_with() -> None:
    clock = Clock()
    store = MemoryDriver(clock=clock)
    state = SessionState(None, default_ttl=60, clock=clock)
    session = Session(state, lambda: sync_store(store))
    session.set("before", 1)
    state.touch(5)
    session.set("after", 2)  # the default lifetime, 60 s from now
    session.set("own", 3, ttl=30)
    clock.now += 10
    assert session.get("before") is None
    assert session.get("after") == 2
    assert session.get("own") == 3
    session.update("counter", lambda n: (n or 0) + 1)  # after the touch, saved at once
    assert (expiries(store, session.id or "")["after"] or 0) == int((clock.now + 50) * 1000)


def clocked(store: object, clock: Clock, session_id: str | None) -> Session:
    return Session(SessionState(session_id, default_ttl=60, clock=clock), lambda: sync_store(store))


def renewed_session(clock: Clock) -> tuple[CountingDriver, str]:
    """A stored session of two keys that a touch(3600) has just renewed."""
    driver = CountingDriver(MemoryDriver(clock=clock))
    first = clocked(driver, clock, None)
    first.set("a", 1)
    first.set("b", 2)
    first._state.touch(3600)
    first.save()
    driver.reset()
    return driver, first.id or ""


def read_later(driver: CountingDriver, clock: Clock, sid: str, seconds: float) -> Session:
    """The session ``seconds`` later, read."""
    clock.now += seconds
    session = clocked(driver, clock, sid)
    assert session.get("a") == 1
    return session


def test_a_touch_within_a_second_of_the_last_renewal_writes_nothing_and_keeps_the_expiry() -> None:
    clock = Clock()
    driver, sid = renewed_session(clock)
    renewed_at = clock.now
    session = read_later(driver, clock, sid, 0.6)
    session._state.touch(3600)
    session.save()
    assert driver.calls == {"read": 1}, "nothing to write: the session was renewed 0.6 s ago"
    assert set(expiries(driver.inner, sid).values()) == {int((renewed_at + 3600) * 1000)}


def test_a_touch_a_second_or_more_after_the_last_renewal_renews() -> None:
    clock = Clock()
    driver, sid = renewed_session(clock)
    session = read_later(driver, clock, sid, 1.5)
    session._state.touch(3600)
    session.save()
    assert driver.calls["write"] == 1
    assert set(expiries(driver.inner, sid).values()) == {int((clock.now + 3600) * 1000)}


def test_a_touch_within_the_second_keeps_keys_set_with_it_to_their_own_lifetimes() -> None:
    clock = Clock()
    driver, sid = renewed_session(clock)
    renewed_at = clock.now
    session = read_later(driver, clock, sid, 0.3)
    session.set("otp", "123456", ttl=5)
    session.set("c", 3, ttl=3600)  # its own lifetime, the touch's too
    session._state.touch(3600)
    session.save()
    found = expiries(driver.inner, sid)
    assert found["otp"] == int((clock.now + 5) * 1000)
    assert found["c"] == int((clock.now + 3600) * 1000)
    assert found["a"] == found["b"] == int((renewed_at + 3600) * 1000)


def test_a_touch_held_back_is_replayed_in_its_place_when_a_conflict_brings_fresher_data() -> None:
    clock = Clock()
    driver, sid = renewed_session(clock)
    late = read_later(driver, clock, sid, 0.5)  # read before the other request writes
    other = clocked(driver, clock, sid)
    other.set("z", 26)  # the default lifetime: 60 s
    other.save()
    late._state.touch(3600)  # nothing to renew in what this request read: held back
    late.set("after", 2)  # set after the touch: keeps the default lifetime
    late.save()  # conflicts: the touch is replayed on the fresh data, in its place
    found = expiries(driver.inner, sid)
    renewed = int((clock.now + 3600) * 1000)
    assert found["z"] == found["a"] == renewed, "the other request's key is renewed too"
    assert found["after"] == int((clock.now + 60) * 1000)
    assert dict(clocked(driver, clock, sid).items()) == {"a": 1, "b": 2, "z": 26, "after": 2}
