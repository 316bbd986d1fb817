"""The in-memory driver passes the conformance suite, and its own few promises."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from hostsessions import SessionConfig, SessionTooLargeError
from hostsessions.asgi import SessionMiddleware
from hostsessions.drivers.base import Record, WriteConflict, make_record
from hostsessions.drivers.memory_driver import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SWEEP_INTERVAL,
    MemoryDriver,
)
from hostsessions.testing import DriverConformance, MinimalDriverConformance

from .helpers import FakeClock


class TestMemoryDriver(DriverConformance):
    payload_limit = None

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver()


class TestMemoryDriverWithALimit(DriverConformance):
    payload_limit = 10_000

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver(max_payload_bytes=self.payload_limit)


class TestMemoryDriverMinimalProtocol(MinimalDriverConformance):
    payload_limit = 10_000

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver(max_payload_bytes=self.payload_limit)


def test_sweep_frees_the_memory_of_expired_records() -> None:
    driver = MemoryDriver()
    driver.write("a" * 43, "old", expires_at=1.0, expected_version=None)
    driver.write("b" * 43, "new", expires_at=None, expected_version=None)
    assert len(driver) == 2
    assert driver.sweep() == 1
    assert len(driver) == 1


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    driver = MemoryDriver(max_payload_bytes=8)
    driver.set_item("k" * 43, "€€")  # 6 bytes
    with pytest.raises(SessionTooLargeError) as caught:
        driver.set_item("k" * 43, "€€€")  # 9 bytes
    assert (caught.value.store, caught.value.size, caught.value.limit) == ("memory", 9, 8)


def test_the_memory_factory_returns_a_fresh_store() -> None:
    from hostsessions import drivers

    first, second = drivers.memory(), drivers.memory()
    first.set_item("k" * 43, "only in the first")
    assert second.get_item("k" * 43) is None


def test_expiry_follows_the_clock_the_driver_was_given() -> None:
    now = [1_000.0]
    driver = MemoryDriver(clock=lambda: now[0])
    driver.write("k" * 43, "short-lived", expires_at=1_010.0, expected_version=None)
    driver.write("j" * 43, "short-lived too", expires_at=1_010.0, expected_version=None)
    assert driver.get_item("k" * 43) == "short-lived"
    now[0] = 1_010.0
    assert driver.get_item("k" * 43) is None
    assert len(driver) == 1, "reading an expired record frees it"
    assert driver.sweep() == 1


# Bounded size: the least recently used session goes first.


def key_of(n: int) -> str:
    return f"session-{n:08d}-" + "k" * 27


def test_a_full_store_evicts_the_least_recently_used_session() -> None:
    driver = MemoryDriver(max_sessions=3)
    for n in range(3):
        driver.write(key_of(n), f"v{n}", expires_at=None, expected_version=None)
    assert driver.read(key_of(0)) is not None  # 0 is now the most recently used

    driver.write(key_of(3), "v3", expires_at=None, expected_version=None)

    assert len(driver) == 3
    assert driver.read(key_of(1)) is None, "the least recently used session should be evicted"
    assert [driver.get_item(key_of(n)) for n in (0, 2, 3)] == ["v0", "v2", "v3"]
    assert driver.evicted == 1


def test_a_write_counts_as_a_use() -> None:
    driver = MemoryDriver(max_sessions=2)
    first = driver.write(key_of(0), "a", expires_at=None, expected_version=None)
    driver.write(key_of(1), "b", expires_at=None, expected_version=None)
    driver.write(key_of(0), "a2", expires_at=None, expected_version=first)

    driver.write(key_of(2), "c", expires_at=None, expected_version=None)

    assert driver.get_item(key_of(0)) == "a2"
    assert driver.get_item(key_of(1)) is None


def test_a_flood_of_new_sessions_never_grows_the_store_past_its_bound() -> None:
    driver = MemoryDriver(max_sessions=1_000)
    for n in range(20_000):
        driver.set_item(key_of(n), "x" * 100)
    assert len(driver) == 1_000
    assert driver.get_item(key_of(19_999)) == "x" * 100
    assert driver.get_item(key_of(18_999)) is None


def test_eviction_follows_the_use_order_exactly_through_a_long_mix_of_calls() -> None:
    """Thousands of reads, writes, rewrites and deletes on a small bound, checked against a
    reference LRU (the store rebuilds its table along the way: the order must survive)."""
    import random
    from collections import OrderedDict

    driver = MemoryDriver(max_sessions=50)
    reference: OrderedDict[str, str] = OrderedDict()
    versions: dict[str, str] = {}
    rng = random.Random(13)
    for step in range(6_000):
        key = key_of(rng.randrange(120))
        action = rng.random()
        if action < 0.4:
            record = driver.read(key)
            assert (record.payload if record else None) == reference.get(key)
            if key in reference:
                reference.move_to_end(key)
        elif action < 0.9:
            expected = versions.get(key) if key in reference else None
            versions[key] = driver.write(
                key, f"v{step}", expires_at=None, expected_version=expected
            )
            reference[key] = f"v{step}"
            reference.move_to_end(key)
            while len(reference) > 50:
                reference.popitem(last=False)
        else:
            driver.delete(key)
            reference.pop(key, None)
    assert len(driver) == len(reference)
    assert [driver.get_item(key) for key in reference] == list(reference.values())


def test_max_sessions_none_is_unbounded() -> None:
    driver = MemoryDriver(max_sessions=None)
    for n in range(DEFAULT_MAX_SESSIONS + 10):
        driver.set_item(key_of(n), "x")
    assert len(driver) == DEFAULT_MAX_SESSIONS + 10


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_max_sessions_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        MemoryDriver(max_sessions=bad)  # type: ignore[arg-type]


def test_options_reach_the_driver_through_the_registered_name() -> None:
    from hostsessions.adapters import build_driver, resolve_driver_name

    driver = build_driver(resolve_driver_name("memory", {"max_sessions": 5}))
    assert isinstance(driver, MemoryDriver)
    assert driver.max_sessions == 5


# Expired records are dropped on their own.


def test_expired_records_are_dropped_by_the_next_call_after_the_sweep_interval() -> None:
    clock = FakeClock()
    driver = MemoryDriver(sweep_interval=30, clock=clock)
    for n in range(100):
        driver.write(key_of(n), "short", expires_at=clock.now + 1, expected_version=None)
    driver.write(key_of(100), "forever", expires_at=None, expected_version=None)

    clock.advance(2)
    assert len(driver) == 101, "not yet: the sweep waits for its interval"
    clock.advance(30)
    driver.read(key_of(100))  # any call

    assert len(driver) == 1


def test_reading_an_expired_record_frees_it() -> None:
    clock = FakeClock()
    driver = MemoryDriver(sweep_interval=None, clock=clock)
    driver.write(key_of(0), "short", expires_at=clock.now + 1, expected_version=None)
    clock.advance(1)
    assert driver.read(key_of(0)) is None
    assert len(driver) == 0


def test_sweep_interval_none_leaves_sweeping_to_sweep() -> None:
    clock = FakeClock()
    driver = MemoryDriver(sweep_interval=None, clock=clock)
    driver.write(key_of(0), "short", expires_at=clock.now + 1, expected_version=None)
    clock.advance(3600)
    driver.set_item(key_of(1), "other")
    assert len(driver) == 2
    assert driver.sweep() == 1


def test_five_thousand_sessions_with_ttl_1_are_not_held_after_they_expire() -> None:
    """Through the ASGI middleware: a flood of short-lived sessions frees its memory."""
    clock = FakeClock(time.time())
    driver = MemoryDriver(clock=clock)
    app = SessionMiddleware(_set_one_key, SessionConfig(driver=driver, ttl=1, cookie="sid"))

    async def flood() -> None:
        for _ in range(5_000):
            await _call(app)

    asyncio.run(flood())
    assert len(driver) == 5_000

    clock.advance(DEFAULT_SWEEP_INTERVAL + 2)  # they expire, and the sweep is due
    asyncio.run(_call(app))  # one more visitor

    assert len(driver) == 1, "expired sessions are still held"


async def _set_one_key(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["session"].set("visited", True)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Any) -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "scheme": "http"}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200


@pytest.mark.parametrize(
    "fields",
    [("p", "1", None, None), ("p", "2", 1.5, "tok"), ("", "v", 0.0, "a b c")],
)
def test_the_fast_record_is_the_same_record(
    fields: tuple[str, str, float | None, str | None],
) -> None:
    made = make_record(*fields)
    built = Record(*fields)
    assert type(made) is Record
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.payload = "changed"  # type: ignore[misc]


# The use order through reads and rewrites; what the core keeps.


def test_a_rewrite_after_reads_of_other_records_moves_it_to_the_end() -> None:
    driver = MemoryDriver(max_sessions=2)
    driver.write(key_of(0), "a", expires_at=None, expected_version=None)
    second = driver.write(key_of(1), "b", expires_at=None, expected_version=None)
    assert driver.read(key_of(1)) is not None
    assert driver.read(key_of(0)) is not None  # 0 is now the most recently used...
    driver.write(key_of(1), "b2", expires_at=None, expected_version=second)  # ...then 1

    driver.write(key_of(2), "c", expires_at=None, expected_version=None)

    assert driver.get_item(key_of(0)) is None, "0 was the least recently used"
    assert [driver.get_item(key_of(n)) for n in (1, 2)] == ["b2", "c"]


@pytest.mark.parametrize(
    "kept",
    [None, (), ("n", 1, 1_700_000_000_000), ("a", "x", None, "b", 2.5, None), frozenset({1})],
)
def test_what_the_core_kept_comes_back_with_the_record(kept: Any) -> None:
    """What a write is given comes back with every read of that record, and with the record
    a conflict carries."""
    driver = MemoryDriver()
    version = driver.write(key_of(0), "p", expires_at=None, expected_version=None, kept=kept)

    record = driver.read(key_of(0))
    assert record is not None
    assert record.kept == kept
    assert type(record.kept) is type(kept)
    with pytest.raises(WriteConflict) as caught:
        driver.write(key_of(0), "q", expires_at=None, expected_version=None, kept=("other",))
    assert caught.value.current is not None
    assert caught.value.current.kept == kept
    assert caught.value.current.version == version


def test_a_write_without_kept_leaves_the_new_record_none() -> None:
    driver = MemoryDriver()
    version = driver.write(key_of(0), "p", expires_at=None, expected_version=None, kept=("n", 1))
    driver.write(key_of(0), "q", expires_at=None, expected_version=version)
    record = driver.read(key_of(0))
    assert record is not None
    assert record.kept is None


def test_held_records_are_not_tracked_by_the_garbage_collector() -> None:
    """Full collections do not keep walking every held session: each is a tuple of atoms
    (which the collector stops tracking once it has seen it, and what it holds, once)."""
    import gc

    driver = MemoryDriver()
    for n in range(100):
        driver.write(
            key_of(n), "p", expires_at=1e10, expected_version=None, token="t", kept=("n", n, 5)
        )
    gc.collect()
    gc.collect()
    assert not any(gc.is_tracked(entry) for entry in driver._records.values())
