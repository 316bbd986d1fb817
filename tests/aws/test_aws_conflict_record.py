"""A failed conditional write returns the item it met (ReturnValuesOnConditionCheckFailure
ALL_OLD), so the core retries with one PutItem and no GetItem; the core's write token is
stored with the item. Against the moto server, over a real socket."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hostsessions import Session
from hostsessions.drivers import WriteConflict
from hostsessions.state import SessionState
from hostsessions.storage import sync_store

from .support import REGION, MotoServer


@pytest.fixture
def driver(moto_server: MotoServer) -> Any:
    from hostsessions_aws.driver import DynamoDBDriver

    return DynamoDBDriver(
        table=moto_server.new_table(), region=REGION, endpoint_url=moto_server.url
    )


def _count_calls(driver: Any) -> Counter[str]:
    calls: Counter[str] = Counter()

    def count(model: Any, **kwargs: Any) -> None:
        calls[model.name] += 1

    driver.client.meta.events.register("before-call.dynamodb", count)
    return calls


def test_a_conflict_carries_the_item_it_met(driver: Any) -> None:
    key = "k" * 43
    first = driver.write(key, "one", expires_at=None, expected_version=None, token="t1")
    driver.write(key, "two", expires_at=None, expected_version=first, token="t2 t1")
    with pytest.raises(WriteConflict) as caught:
        driver.write(key, "three", expires_at=None, expected_version=first, token="t3")
    assert caught.value.current_known
    current = caught.value.current
    assert current is not None
    assert (current.payload, current.token) == ("two", "t2 t1")
    assert current == driver.read(key)


def test_a_create_conflict_carries_the_item_and_a_missing_item_is_none(driver: Any) -> None:
    key = "c" * 43
    driver.write(key, "one", expires_at=None, expected_version=None)
    with pytest.raises(WriteConflict) as caught:
        driver.write(key, "again", expires_at=None, expected_version=None)
    assert caught.value.current is not None
    assert caught.value.current.payload == "one"
    with pytest.raises(WriteConflict) as gone:
        driver.write("m" * 43, "x", expires_at=None, expected_version="stale")
    assert gone.value.current_known
    assert gone.value.current is None


def test_a_retry_after_a_conflict_costs_one_write_and_no_read(driver: Any) -> None:
    store = sync_store(driver)
    opener = Session(SessionState(None), lambda: store)
    opener.set("n", 0)
    opener.save()
    first = Session(SessionState(opener.id), lambda: store)
    second = Session(SessionState(opener.id), lambda: store)
    first.get("n")
    second.get("n")
    first.update("n", lambda n: n + 1)

    calls = _count_calls(driver)
    assert second.update("n", lambda n: n + 1) == 2
    assert calls == {"PutItem": 2}, "the conflicting write, then one retry: no GetItem"
