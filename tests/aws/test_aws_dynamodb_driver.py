"""The DynamoDB driver against moto in-process: the item layout, expiry, conflicts, sizes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hostsessions_aws.client import shared_client
from hostsessions_aws.driver import DynamoDBDriver
from hostsessions_aws.layout import ITEM_SIZE_LIMIT, item_size

from hostsessions import SessionConfig, SessionStorageError, SessionTooLargeError, drivers
from hostsessions.drivers import WriteConflict

KEY = "k" * 43  # the length of the IDs the core issues


@pytest.fixture
def driver(dynamodb_session_config: SessionConfig) -> DynamoDBDriver:
    made = drivers.dynamodb(**dynamodb_session_config.options)
    assert isinstance(made, DynamoDBDriver)
    return made


def raw_item(driver: DynamoDBDriver, key: str) -> dict[str, Any] | None:
    response = driver.client.get_item(
        TableName=driver.table, Key={"id": {"S": key}}, ConsistentRead=True
    )
    return response.get("Item")


def count_calls(driver: DynamoDBDriver) -> list[str]:
    """The names of the API calls the driver's real client makes from now on."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    driver.client.meta.events.register("before-call.dynamodb", record)
    return calls


def test_item_follows_the_documented_layout(driver: DynamoDBDriver) -> None:
    version = driver.write(KEY, "payload", expires_at=1_900_000_000.25, expected_version=None)

    assert raw_item(driver, KEY) == {
        "id": {"S": KEY},
        "payload": {"S": "payload"},
        "expires": {"N": "1900000001"},
        "version": {"S": version},
    }


def test_record_that_never_expires_has_no_expires_attribute(driver: DynamoDBDriver) -> None:
    driver.write(KEY, "payload", expires_at=None, expected_version=None)

    item = raw_item(driver, KEY)
    assert item is not None
    assert "expires" not in item
    record = driver.read(KEY)
    assert record is not None
    assert record.expires_at is None


def test_expiry_is_rounded_up_to_whole_seconds(driver: DynamoDBDriver) -> None:
    expires_at = time.time() + 100.2
    driver.write(KEY, "payload", expires_at=expires_at, expected_version=None)

    record = driver.read(KEY)
    assert record is not None
    assert record.expires_at is not None
    assert expires_at <= record.expires_at < expires_at + 1


def test_reads_are_strongly_consistent(driver: DynamoDBDriver) -> None:
    sent: list[dict[str, Any]] = []
    driver.client.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: sent.append(params)
    )

    driver.read(KEY)

    assert sent
    assert sent[0]["ConsistentRead"] is True


def test_expired_item_the_table_still_holds_reads_as_absent(driver: DynamoDBDriver) -> None:
    # DynamoDB's TTL deletes expired items lazily, up to days later.
    driver.write(KEY, "old", expires_at=time.time() - 5, expected_version=None)

    assert raw_item(driver, KEY) is not None
    assert driver.read(KEY) is None
    assert driver.get_item(KEY) is None


def test_new_record_replaces_an_expired_one(driver: DynamoDBDriver) -> None:
    driver.write(KEY, "old", expires_at=time.time() - 5, expected_version=None)

    driver.write(KEY, "new", expires_at=None, expected_version=None)

    record = driver.read(KEY)
    assert record is not None
    assert record.payload == "new"


def test_new_record_over_a_live_one_is_a_conflict(driver: DynamoDBDriver) -> None:
    driver.write(KEY, "first", expires_at=time.time() + 60, expected_version=None)

    with pytest.raises(WriteConflict):
        driver.write(KEY, "second", expires_at=None, expected_version=None)


def test_update_of_a_record_that_expired_since_it_was_read_is_a_conflict(
    driver: DynamoDBDriver,
) -> None:
    # An expired record is gone for every reader, as if DynamoDB had deleted it at once:
    # a late save must not bring it back, exactly as after a destroy.
    version = driver.write(KEY, "old", expires_at=time.time() - 5, expected_version=None)

    with pytest.raises(WriteConflict):
        driver.write(KEY, "late", expires_at=time.time() + 60, expected_version=version)


def test_versioned_delete_of_a_changed_record_is_a_conflict(driver: DynamoDBDriver) -> None:
    first = driver.write(KEY, "one", expires_at=None, expected_version=None)
    driver.write(KEY, "two", expires_at=None, expected_version=first)

    with pytest.raises(WriteConflict):
        driver.delete(KEY, expected_version=first)
    assert driver.read(KEY) is not None


def test_versioned_delete_of_an_absent_record_succeeds(driver: DynamoDBDriver) -> None:
    driver.delete(KEY, expected_version="gone-already")

    assert driver.read(KEY) is None


def test_minimal_protocol_round_trip(driver: DynamoDBDriver) -> None:
    driver.set_item(KEY, "one")
    driver.set_item(KEY, "two")
    assert driver.get_item(KEY) == "two"

    driver.remove_item(KEY)
    assert driver.get_item(KEY) is None


def test_item_over_400_kb_fails_before_any_call(driver: DynamoDBDriver) -> None:
    calls = count_calls(driver)
    payload = "é" * 204_800  # 409,600 bytes of UTF-8: with its other attributes, over the limit

    with pytest.raises(SessionTooLargeError) as raised:
        driver.write(KEY, payload, expires_at=None, expected_version=None)

    assert calls == []
    # Reported in payload bytes: the room the key, version and expiry leave in 400 KB.
    assert raised.value.size == 409_600
    assert raised.value.limit == ITEM_SIZE_LIMIT - len("id" + KEY + "payload" + "version") - 16


def test_item_of_exactly_400_kb_is_sent_to_dynamodb(driver: DynamoDBDriver) -> None:
    # Real DynamoDB stores it; moto refuses items from 405,000 bytes, which the driver must
    # not copy: so the call is made, and whatever moto answers is not a size error of ours.
    overhead = item_size(
        {
            "id": {"S": KEY},
            "payload": {"S": ""},
            "version": {"S": "v" * 16},
            "expires": {"N": str(int(time.time()) + 60)},
        }
    )
    payload = "x" * (ITEM_SIZE_LIMIT - overhead)
    calls = count_calls(driver)

    outcome = "stored"
    try:
        driver.write(KEY, payload, expires_at=time.time() + 60, expected_version=None)
    except SessionStorageError as error:
        outcome = str(error)

    assert calls == ["PutItem"]
    assert outcome == "stored" or "size" in outcome.lower(), outcome


def test_drivers_share_one_client_per_region(dynamodb_session_config: SessionConfig) -> None:
    first = drivers.dynamodb(**dynamodb_session_config.options)
    second = drivers.dynamodb(**dynamodb_session_config.options)

    assert first.client is second.client
    assert first.client is shared_client(dynamodb_session_config.options["region"])


def test_missing_table_error_names_table_region_actions_and_template(
    dynamodb_session_config: SessionConfig,
) -> None:
    driver = drivers.dynamodb(table="no-such-table", region="us-east-1")

    with pytest.raises(SessionStorageError) as raised:
        driver.read(KEY)

    message = str(raised.value)
    for expected in (
        "'no-such-table'",
        "us-east-1",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "infra/aws/template.yaml",
    ):
        assert expected in message


def test_create_table_option_makes_an_on_demand_table_with_ttl(
    dynamodb_session_config: SessionConfig,
) -> None:
    driver = drivers.dynamodb(table="made-on-first-use", region="us-east-1", create_table=True)

    driver.write(KEY, "payload", expires_at=None, expected_version=None)

    description = driver.client.describe_table(TableName="made-on-first-use")["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = driver.client.describe_time_to_live(TableName="made-on-first-use")
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
