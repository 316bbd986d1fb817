"""The session semantics of DESIGN.md section 3, on the sync and async shells."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from hostsessions import (
    URL,
    AsyncSession,
    Session,
    SessionGoneError,
    SessionKey,
    SessionSerializationError,
    SessionStorageError,
)
from hostsessions.drivers import WriteConflict
from hostsessions.ids import new_session_id
from hostsessions.state import SessionState
from hostsessions.storage import async_store, sync_store

from .helpers import CountingDriver, FakeClock


@pytest.fixture
def driver() -> CountingDriver:
    return CountingDriver()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def open_session(
    driver: CountingDriver,
    cookie_id: str | None = None,
    *,
    ttl: float | None = None,
    clock: FakeClock | None = None,
) -> Session:
    state = SessionState(cookie_id, default_ttl=ttl, clock=clock or FakeClock())
    store = sync_store(driver)
    return Session(state, lambda: store)


def make_stored_session(driver: CountingDriver, **values: Any) -> str:
    session = open_session(driver)
    for key, value in values.items():
        session.set(key, value)
    session.save()
    assert session.id is not None
    driver.reset()
    return session.id


# ---- laziness and call counts --------------------------------------------------------


def test_untouched_session_makes_no_storage_call(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, a=1)
    session = open_session(driver, session_id)
    session.save()
    assert driver.calls == {}


def test_get_without_cookie_makes_no_storage_call(driver: CountingDriver) -> None:
    session = open_session(driver)
    assert session.get("cart") is None
    session.save()
    assert driver.calls == {}
    assert session.id is None


def test_read_only_request_makes_one_read(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["a"])
    session = open_session(driver, session_id)
    assert session.get("cart") == ["a"]
    assert session.get("cart") == ["a"]
    assert session.has("cart")
    session.save()
    assert driver.calls == {"read": 1}


def test_modified_request_makes_one_read_and_one_write(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, n=1)
    session = open_session(driver, session_id)
    session.set("n", session.get("n") + 1)
    session.save()
    assert driver.calls == {"read": 1, "write": 1}
    assert open_session(driver, session_id).get("n") == 2


def test_new_session_with_only_set_makes_one_write(driver: CountingDriver) -> None:
    session = open_session(driver)
    session.set("cart", ["book"])
    assert session.id is not None, "a new session has its ID as soon as it is set"
    session.save()
    assert driver.calls == {"write": 1}


def test_set_needs_no_read_and_local_changes_win_over_stored(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, a=1, b=2)
    session = open_session(driver, session_id)
    session.set("a", 10)
    assert driver.calls == {}
    assert session.get("a") == 10, "a key set in this request is answered without a read"
    assert driver.calls == {}
    assert session.get("b") == 2
    assert dict(session.items()) == {"a": 10, "b": 2}
    session.save()
    assert dict(open_session(driver, session_id).items()) == {"a": 10, "b": 2}


def test_save_without_changes_writes_nothing(driver: CountingDriver) -> None:
    session = open_session(driver)
    session.set("a", 1)
    session.save()
    driver.reset()
    session.save()
    assert driver.calls == {}


# ---- encoding at set time --------------------------------------------------------------


def test_set_snapshots_the_value(driver: CountingDriver) -> None:
    session = open_session(driver)
    cart = ["book"]
    session.set("cart", cart)
    cart.append("pen")
    assert session.get("cart") == ["book"]
    session.save()
    assert open_session(driver, session.id).get("cart") == ["book"]


def test_unsupported_type_fails_at_set_naming_key_and_type(driver: CountingDriver) -> None:
    session = open_session(driver)
    with pytest.raises(SessionSerializationError, match=r"'handle'.*object"):
        session.set("handle", object())
    assert driver.calls == {}


def test_rich_values_round_trip_through_storage(driver: CountingDriver) -> None:
    when = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
    values = {
        "when": when,
        "tags": {"a", "b"},
        "by_id": {1: "one"},
        "big": 2**80,
        "home": URL("https://example.com/a?b=c"),
    }
    session_id = make_stored_session(driver, **values)
    session = open_session(driver, session_id)
    for key, value in values.items():
        assert session.get(key) == value, key


# ---- TTL ------------------------------------------------------------------------------


def test_key_with_ttl_reads_as_absent_after_it_expires(
    driver: CountingDriver, clock: FakeClock
) -> None:
    session = open_session(driver, clock=clock)
    session.set("flash", "saved!", ttl=10)
    session.set("cart", ["book"])
    session.save()
    clock.advance(11)
    later = open_session(driver, session.id, clock=clock)
    assert later.get("flash") is None
    assert not later.has("flash")
    assert later.keys() == ["cart"]


def test_config_ttl_applies_to_every_key_and_sets_record_expiry(
    driver: CountingDriver, clock: FakeClock
) -> None:
    session = open_session(driver, ttl=60, clock=clock)
    session.set("a", 1)
    session.set("b", 2, ttl=120)
    session.save()
    record = driver.inner.read(session.id)
    assert record is not None
    assert record.expires_at == pytest.approx(clock.now + 120)


def test_record_without_expiring_keys_never_expires(driver: CountingDriver) -> None:
    session = open_session(driver)
    session.set("a", 1, ttl=5)
    session.set("b", 2)
    session.save()
    assert driver.inner.read(session.id).expires_at is None


def test_invalid_ttl_is_rejected(driver: CountingDriver) -> None:
    with pytest.raises(ValueError, match="ttl"):
        open_session(driver).set("a", 1, ttl=-1)


# ---- IDs --------------------------------------------------------------------------------


def test_unknown_cookie_id_gets_fresh_session(driver: CountingDriver) -> None:
    forged = new_session_id()
    session = open_session(driver, forged)
    session.set("a", 1)
    session.save()
    assert session.id is not None
    assert session.id != forged
    assert driver.inner.read(forged) is None


@pytest.mark.parametrize("cookie", ["", "short", "../../etc/passwd", "a" * 44, "x" * 42 + "!"])
def test_malformed_cookie_id_is_treated_as_absent(driver: CountingDriver, cookie: str) -> None:
    session = open_session(driver, cookie)
    assert session.get("a") is None
    assert driver.calls == {}


def test_ids_are_long_and_distinct(driver: CountingDriver) -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 43 for i in ids)


# ---- regenerate, destroy, load -------------------------------------------------------


def test_regenerate_issues_new_id_keeps_data_retires_old_record(driver: CountingDriver) -> None:
    old_id = make_stored_session(driver, cart=["book"])
    session = open_session(driver, old_id)
    session.regenerate()
    assert session.id != old_id
    session.save()
    assert open_session(driver, session.id).get("cart") == ["book"]
    stale = open_session(driver, old_id)
    assert stale.get("cart") is None, "the old ID no longer opens the session"
    assert stale.id is None
    assert not open_session(driver).load(old_id)


def test_destroy_removes_record_and_expires_cookie(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["book"])
    state = SessionState(session_id)
    session = Session(state, lambda: sync_store(driver))
    session.destroy()
    session.save()
    assert open_session(driver, session_id).items() == []
    assert state.cookie_action() == ("expire", None)


def test_set_after_destroy_starts_a_new_session(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["book"])
    session = open_session(driver, session_id)
    session.destroy()
    session.set("fresh", True)
    session.save()
    assert session.id not in (None, session_id)
    assert dict(open_session(driver, session.id).items()) == {"fresh": True}
    assert open_session(driver, session_id).items() == []


def test_load_switches_to_stored_session(driver: CountingDriver) -> None:
    other = make_stored_session(driver, user="ada")
    state = SessionState(None)
    session = Session(state, lambda: sync_store(driver))
    session.set("discarded", 1)
    assert session.load(other) is True
    assert session.id == other
    assert dict(session.items()) == {"user": "ada"}
    assert state.cookie_action() == ("set", other)


@pytest.mark.parametrize("session_id", ["nope", "../x", new_session_id()])
def test_load_of_unknown_or_malformed_id_returns_false(
    driver: CountingDriver, session_id: str
) -> None:
    session = open_session(driver)
    assert session.load(session_id) is False
    assert session.id is None


# ---- bad stored data ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload", ["not devalue", "[1]", '[{"a":1},2]', '[["Map",1,2],"k",5]', ""]
)
def test_corrupt_record_starts_empty_is_removed_and_logged(
    driver: CountingDriver, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = new_session_id()
    driver.inner.write(session_id, payload, expires_at=None, expected_version=None)
    session = open_session(driver, session_id)
    with caplog.at_level(logging.ERROR, logger="hostsessions"):
        assert session.get("a") is None
    session.save()
    assert driver.inner.read(session_id) is None
    assert "could not be decoded" in caplog.text


# ---- update and conflicts ------------------------------------------------------------


def test_update_reapplies_on_conflict_and_returns_the_stored_value(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, n=0)
    first = open_session(driver, session_id)
    second = open_session(driver, session_id)
    assert first.get("n") == second.get("n") == 0
    assert first.update("n", lambda n: n + 1) == 1
    # second read n=0 before first saved: its write conflicts, it re-reads n=1 and re-runs
    assert second.update("n", lambda n: n + 1) == 2
    assert open_session(driver, session_id).get("n") == 2


def test_update_is_written_at_once(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, n=0)
    session = open_session(driver, session_id)
    session.update("n", lambda n: n + 1)
    assert driver.calls == {"read": 1, "write": 1}
    session.save()
    assert driver.calls == {"read": 1, "write": 1}, "nothing left to write at response start"


def test_concurrent_sets_of_different_keys_keep_both(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, base=True)
    first = open_session(driver, session_id)
    second = open_session(driver, session_id)
    first.get("base")
    second.get("base")
    first.set("a", 1)
    second.set("b", 2)
    first.save()
    second.save()
    assert dict(open_session(driver, session_id).items()) == {"base": True, "a": 1, "b": 2}


def test_late_save_does_not_resurrect_destroyed_session(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["book"])
    slow = open_session(driver, session_id)
    slow.get("cart")
    killer = open_session(driver, session_id)
    killer.destroy()
    killer.save()
    slow.set("late", True)
    with pytest.raises(SessionGoneError):
        slow.save()
    assert open_session(driver, session_id).items() == []
    assert slow.id is None
    assert slow._state.cookie_action() is None, "the destroying response set the cookie"


def test_typed_keys_store_under_their_name(driver: CountingDriver) -> None:
    cart = SessionKey("cart", list[str])
    session = open_session(driver)
    session.set(cart, ["book"])
    assert session.get("cart") == ["book"]
    assert session.get(cart) == ["book"]


# ---- the async shell runs the same programs ------------------------------------------


def test_async_session_has_the_same_semantics(driver: CountingDriver) -> None:
    async def scenario() -> None:
        store = async_store(driver)
        session = AsyncSession(SessionState(None), lambda: store)
        session.set("cart", ["book"])
        assert await session.get("cart") == ["book"]
        await session.save()
        again = AsyncSession(SessionState(session.id), lambda: store)
        assert await again.update("n", lambda n: n + 1, default=0) == 1
        assert await again.has("cart")
        assert sorted(await again.keys()) == ["cart", "n"]
        assert sorted(await again.values(), key=str) == [1, ["book"]]
        await again.regenerate()
        await again.save()
        assert again.id != session.id
        assert await AsyncSession(SessionState(None), lambda: store).load(again.id)

    asyncio.run(scenario())


def test_save_that_runs_out_of_retry_budget_fails_visibly(driver: CountingDriver) -> None:
    class AlwaysConflicting(CountingDriver):
        def write(
            self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
        ) -> str:
            self.calls["write"] += 1
            raise WriteConflict(key, expected_version)

    busy = AlwaysConflicting()
    store = sync_store(busy)
    session = Session(SessionState(None, retry_budget=0.05), lambda: store)
    session.set("a", 1)
    with pytest.raises(SessionStorageError, match="write conflicts in a row"):
        session.save()
    assert busy.calls["write"] > 1, "conflicts are retried before giving up"


def test_a_save_whose_store_cannot_be_built_fails_and_drops_its_changes() -> None:
    # The sync shell looks its store up before a save made at once: a driver that fails to
    # build then fails the save as the save's first write would, its changes dropped (the
    # WSGI middleware's save at the end of the body does not write them again).
    def broken_store() -> Any:
        raise SessionStorageError("the store cannot be reached")

    session = Session(SessionState(None), broken_store)
    session.set("n", 1)
    with pytest.raises(SessionStorageError, match="cannot be reached"):
        session.save()
    assert not session.state.dirty
    assert session.id is None, "nothing was stored under it: no cookie for it"


def test_a_save_that_ends_up_writing_nothing_needs_no_store() -> None:
    def broken_store() -> Any:
        raise SessionStorageError("the store cannot be reached")

    session = Session(SessionState(None), broken_store)
    session.set("n", 1)
    session.delete("n")  # a new session that ends up empty is not stored
    session.save()
    assert session.id is None


def test_in_place_change_to_a_got_value_is_not_saved_without_set(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["book"], n=1)
    session = open_session(driver, session_id)
    session.get("cart").append("pen")  # changes are made with set(), not in place
    session.set("n", 2)
    session.save()
    assert dict(open_session(driver, session_id).items()) == {"cart": ["book"], "n": 2}


def test_in_place_change_to_a_value_set_earlier_is_not_saved(driver: CountingDriver) -> None:
    session = open_session(driver)
    session.set("cart", ["book"])
    session.get("cart").append("pen")
    session.save()
    assert open_session(driver, session.id).get("cart") == ["book"]


def test_update_function_may_change_its_argument_in_place(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, cart=["book"])
    session = open_session(driver, session_id)
    assert session.update("cart", lambda cart: cart.append("pen") or cart) == ["book", "pen"]
    assert open_session(driver, session_id).get("cart") == ["book", "pen"]


def test_second_save_in_one_request_writes_both_changes(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, a=1)
    session = open_session(driver, session_id)
    session.set("b", 2)
    session.save()
    session.get("a")
    session.set("c", [3])
    session.save()
    assert dict(open_session(driver, session_id).items()) == {"a": 1, "b": 2, "c": [3]}


def test_update_replay_starts_from_an_unchanged_default(driver: CountingDriver) -> None:
    session_id = make_stored_session(driver, other=1)
    first = open_session(driver, session_id)
    second = open_session(driver, session_id)
    first.get("other")
    second.get("other")
    first.set("unrelated", True)
    first.save()
    # second's write conflicts and its function runs again on the default
    assert second.update("cart", lambda cart: cart.append("tea") or cart, default=[]) == ["tea"]
    assert open_session(driver, session_id).get("cart") == ["tea"]


def test_an_async_save_whose_store_cannot_be_built_fails_and_drops_its_changes() -> None:
    # The async shell looks its store up before a save made at once, too: the same rule.
    def broken_store() -> Any:
        raise SessionStorageError("the store cannot be reached")

    async def scenario() -> AsyncSession:
        session = AsyncSession(SessionState(None), broken_store)
        session.set("n", 1)
        with pytest.raises(SessionStorageError, match="cannot be reached"):
            await session.save()
        return session

    session = asyncio.run(scenario())
    assert not session.state.dirty
    assert session.id is None, "nothing was stored under it: no cookie for it"


def test_an_async_save_that_ends_up_writing_nothing_needs_no_store() -> None:
    def broken_store() -> Any:
        raise SessionStorageError("the store cannot be reached")

    async def scenario() -> AsyncSession:
        session = AsyncSession(SessionState(None), broken_store)
        session.set("n", 1)
        session.delete("n")  # a new session that ends up empty is not stored
        await session.save()
        return session

    assert asyncio.run(scenario()).id is None
