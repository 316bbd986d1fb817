"""A record the core wrote to a store that keeps in-process objects (the memory driver)
carries what it was encoded from (``Record.kept``), so reading it back needs no decode,
and reading it that way changes nothing a request can see: each request gets its own
mutable values, another writer's record is read as written, values come back as decoding
the record gives them, and what is kept is immutable atoms the garbage collector does not
track (drivers.base.KeepsObjects)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from hostsessions import AsyncSession, Session, SessionConfig, codec
from hostsessions import state as state_module
from hostsessions.asgi import SessionMiddleware
from hostsessions.drivers import MemoryDriver, Record
from hostsessions.drivers.base import keeps_objects
from hostsessions.state import SessionState
from hostsessions.storage import AsyncStore, async_store, sync_store
from hostsessions.wsgi import ENVIRON_KEY
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The payloads the state decodes."""
    seen: list[str] = []
    real = state_module.decode_entries

    def counting(payload: str) -> Any:
        seen.append(payload)
        return real(payload)

    monkeypatch.setattr(state_module, "decode_entries", counting)
    return seen


class Copying(MemoryDriver):
    """A memory store that hands back a copy of each record, without what the core kept
    there, as a store that reads bytes does."""

    def read(self, key: str) -> Record | None:
        record = super().read(key)
        if record is None:
            return None
        return Record(record.payload, record.version, record.expires_at, record.token)


def session(store: AsyncStore, session_id: str | None) -> AsyncSession:
    return AsyncSession(SessionState(session_id), lambda: store)


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


async def save_new(store: AsyncStore, **values: Any) -> str:
    """A new session holding ``values``, saved by the async shell; its ID."""
    request = session(store, None)
    for key, value in values.items():
        request.set(key, value)
    await request.save()
    assert request.id is not None
    return request.id


def saved(store: AsyncStore, **values: Any) -> str:
    result: str = run(lambda: save_new(store, **values))
    return result


def test_a_counter_through_the_middleware_is_never_decoded(decodes: list[str]) -> None:
    async def count(request: Request) -> PlainTextResponse:
        session: AsyncSession = request.scope["session"]
        n = await session.get("n", 0) + 1
        session.set("n", n)
        return PlainTextResponse(str(n))

    app = Starlette(routes=[Route("/", count)])
    config = SessionConfig(driver=MemoryDriver(), ttl=600)
    with TestClient(SessionMiddleware(app, config)) as client:
        assert [client.get("/").text for _ in range(5)] == ["1", "2", "3", "4", "5"]
    assert decodes == [], "each request read back what the one before it wrote"


def test_a_counter_through_the_wsgi_middleware_is_never_decoded(decodes: list[str]) -> None:
    # The sync shell saves a plain save at once with every sync store, and keeps what the
    # record was encoded from where the store allows it (the memory driver), as ASGI does.
    def count(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session: Session = environ[ENVIRON_KEY]
        n = session.get("n", 0) + 1
        session.set("n", n)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(n).encode()]

    config = SessionConfig(driver=MemoryDriver(), ttl=600)
    client = Client(WsgiSessionMiddleware(count, config))
    assert [client.get("/").text for _ in range(5)] == ["1", "2", "3", "4", "5"]
    assert decodes == [], "each request read back what the one before it wrote"


def test_every_kind_of_plain_value_is_read_back_as_written(decodes: list[str]) -> None:
    store = async_store(MemoryDriver())
    assert store.immediate is not None, "the direct path is the one under test"
    values = {"n": 1, "name": "ada", "ratio": 0.5, "admin": False, "nothing": None, "big": 2**60}
    session_id = saved(store, **values)

    async def scenario() -> list[Any]:
        request = session(store, session_id)
        return [await request.get(key, "absent") for key in values]

    assert run(scenario) == list(values.values())
    assert decodes == []


def test_a_store_that_hands_back_copies_is_decoded_as_before(decodes: list[str]) -> None:
    store = async_store(Copying())
    session_id = saved(store, n=1)

    async def scenario() -> Any:
        return await session(store, session_id).get("n")

    assert run(scenario) == 1
    assert len(decodes) == 1


def test_another_writers_record_is_read_as_written(decodes: list[str]) -> None:
    driver = MemoryDriver()
    store = async_store(driver)
    session_id = saved(store, n=1)
    kept = driver.read(session_id)
    assert kept is not None
    assert kept.kept is not None
    # Another writer (a script, another implementation) stores a record of the same shape
    payload = codec.stringify_record([("n", 7, None)])
    driver.write(session_id, payload, expires_at=None, expected_version=kept.version)

    async def scenario() -> Any:
        return await session(store, session_id).get("n")

    assert run(scenario) == 7
    assert decodes == [payload]


def test_mutable_values_are_each_requests_own() -> None:
    store = async_store(MemoryDriver())
    session_id = saved(store, cart=["tea"], n=1)

    async def scenario() -> tuple[Any, Any, Any]:
        first = session(store, session_id)
        second = session(store, session_id)
        assert await first.get("n") == 1
        assert await second.get("n") == 1  # both loaded before either reads the cart
        cart = await first.get("cart")
        cart.append("cake")  # changed in place, never set: not this session's data
        other = await second.get("cart")
        other.append("jam")
        third = session(store, session_id)
        return cart, other, await third.get("cart")

    assert run(scenario) == (["tea", "cake"], ["tea", "jam"], ["tea"])


def test_the_writer_changing_its_value_in_place_after_the_save_changes_no_later_read() -> None:
    store = async_store(MemoryDriver())

    async def scenario() -> Any:
        writer = session(store, None)
        writer.set("cart", ["tea"])
        writer.set("n", 1)
        await writer.save()
        (await writer.get("cart")).append("cake")  # its own copy
        assert writer.id is not None
        return await session(store, writer.id).get("cart")

    assert run(scenario) == ["tea"]


def test_other_values_come_back_as_decoding_the_record_gives_them() -> None:
    # A datetime set in another zone is stored as its UTC instant: the next request gets
    # what decoding gives (UTC), not the object the writer set.
    moment = datetime(2026, 11, 30, 15, 0, tzinfo=timezone(timedelta(hours=2)))
    values = {"at": moment, "raw": b"\x00\x01", "pair": (1, 2), "nan": float("nan")}

    async def read_back(store: AsyncStore) -> list[str]:
        request = session(store, await save_new(store, **values))
        return [repr(await request.get(key)) for key in values]

    kept = run(lambda: read_back(async_store(MemoryDriver())))
    assert kept == run(lambda: read_back(async_store(Copying())))
    assert kept[:3] == [repr(moment.astimezone(UTC)), repr(b"\x00\x01"), "[1, 2]"]


def test_keys_expired_since_the_write_read_as_absent() -> None:
    now = [1_800_000_000.0]
    store = async_store(MemoryDriver(clock=lambda: now[0]))

    async def scenario() -> tuple[Any, Any]:
        writer = AsyncSession(SessionState(None, clock=lambda: now[0]), lambda: store)
        writer.set("short", 1, ttl=10)
        writer.set("long", 2, ttl=1000)
        await writer.save()
        now[0] += 60
        reader = AsyncSession(SessionState(writer.id, clock=lambda: now[0]), lambda: store)
        return await reader.get("short"), await reader.get("long")

    assert run(scenario) == (None, 2)


def test_what_is_kept_is_immutable_atoms_the_garbage_collector_does_not_track() -> None:
    driver = MemoryDriver()
    store = async_store(driver)
    session_id = saved(store, n=1, name="ada")
    record = driver.read(session_id)
    assert record is not None
    assert isinstance(record.kept, tuple)
    assert all(type(item) in (str, int, type(None)) for item in record.kept)
    gc.collect()
    assert not gc.is_tracked(record.kept)
    # A value Python has no type for (Astro's `undefined`), read and written back: no atom
    payload = codec.stringify_record([("u", codec.UNDEFINED, None)])
    driver.write(session_id, payload, expires_at=None, expected_version=record.version)

    async def scenario() -> Any:
        request = session(store, session_id)
        value = await request.get("u")
        request.set("n", 2)
        await request.save()
        return value

    assert run(scenario) is codec.UNDEFINED
    record = driver.read(session_id)
    assert record is not None
    assert record.kept is None


def test_a_record_with_a_container_keeps_nothing() -> None:
    driver = MemoryDriver()
    session_id = saved(async_store(driver), cart=["tea"])
    record = driver.read(session_id)
    assert record is not None
    assert record.kept is None


def test_kept_takes_no_part_in_a_records_equality_or_repr() -> None:
    plain = Record("p", "1", None, "t")
    kept = Record("p", "1", None, "t", ("n", 1, None))
    assert plain == kept
    assert hash(plain) == hash(kept)
    assert repr(plain) == repr(kept)


def test_only_a_driver_whose_write_takes_it_is_handed_what_the_core_keeps() -> None:
    class OwnWrite(MemoryDriver):  # a subclass with a write of its own, without ``kept``
        def write(  # type: ignore[override]
            self,
            key: str,
            payload: str,
            *,
            expires_at: float | None,
            expected_version: str | None,
            token: str | None = None,
        ) -> str:
            return super().write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )

    assert keeps_objects(MemoryDriver())
    assert not keeps_objects(OwnWrite())
    assert sync_store(MemoryDriver()).keeps_objects
    assert async_store(MemoryDriver()).keeps_objects
    assert not sync_store(OwnWrite()).keeps_objects
    store = async_store(OwnWrite())
    assert not store.keeps_objects
    session_id = saved(store, n=1)

    async def scenario() -> Any:
        return await session(store, session_id).get("n")

    assert run(scenario) == 1
