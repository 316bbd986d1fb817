"""The entity layout and Azure's size rules, without a store."""

from __future__ import annotations

import secrets

import pytest
from hostsessions_azure import layout

from hostsessions import SessionTooLargeError

SESSION_ID = secrets.token_urlsafe(32)


def azure_entity_size(entity: dict[str, object]) -> int:
    """Azure's published formula, written out independently of the driver's arithmetic:
    4 bytes + the keys in UTF-16, then per property 8 bytes + its name in UTF-16 + its
    value (binary: length + 4; Int32: 4; Int64: 8)."""
    size = 4 + 2 * (len(str(entity["PartitionKey"])) + len(str(entity["RowKey"])))
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey"):
            continue
        if isinstance(value, bytes):
            value_size = len(value) + 4
        elif isinstance(value, tuple):
            assert value[1] == "Edm.Int64"
            value_size = 8
        else:
            assert isinstance(value, int)
            value_size = 4
        size += 8 + 2 * len(name) + value_size
    return size


def test_session_id_is_the_partition_key_and_row_key_is_empty() -> None:
    entity = layout.build_entity(SESSION_ID, "payload", None)
    assert entity["PartitionKey"] == SESSION_ID
    assert entity["RowKey"] == ""


def test_payload_is_split_into_binary_chunks_of_at_most_64_kib() -> None:
    payload = "é" * 100_000  # 200,000 UTF-8 bytes
    entity = layout.build_entity(SESSION_ID, payload, None)
    chunks = [entity[f"payload_{i}"] for i in range(entity["chunks"])]
    assert [len(chunk) for chunk in chunks] == [65536, 65536, 65536, 3392]
    assert b"".join(chunks).decode("utf-8") == payload


def test_expiry_is_stored_as_int64_whole_seconds_rounded_up() -> None:
    entity = layout.build_entity(SESSION_ID, "x", 1_800_000_000.2)
    assert entity["expires"] == (1_800_000_001, "Edm.Int64")
    assert "expires" not in layout.build_entity(SESSION_ID, "x", None)


def test_keys_azure_forbids_are_hashed_to_a_valid_partition_key() -> None:
    for key in ("a/b", "back\\slash", "hash#", "what?", "tab\there", "", "~x", "é"):
        pk = layout.partition_key(key)
        assert pk.startswith("~")
        assert not set(pk) & set("/\\#?\t")
    assert layout.partition_key("a/b") != layout.partition_key("a?b")


@pytest.mark.parametrize("has_expires", [True, False])
def test_payload_limit_is_the_largest_entity_azure_accepts(has_expires: bool) -> None:
    limit = layout.max_payload_bytes(SESSION_ID, has_expires=has_expires)
    expires_at = 1_800_000_000.0 if has_expires else None
    at_limit = layout.build_entity(SESSION_ID, "a" * limit, expires_at)
    budget = layout.MAX_ENTITY_BYTES - layout.SAFETY_MARGIN_BYTES
    assert azure_entity_size(at_limit) <= budget
    # One more byte would not fit, even in a new chunk: the limit is tight.
    assert layout.entity_size(SESSION_ID, limit + 1, has_expires=has_expires) > budget
    assert azure_entity_size(at_limit) == layout.entity_size(
        SESSION_ID, limit, has_expires=has_expires
    )
    # Binary chunks carry nearly the whole megabyte: far more than UTF-16 strings could.
    assert 1_040_000 < limit < layout.MAX_ENTITY_BYTES
    assert len([name for name in at_limit if name.startswith("payload_")]) + 2 <= 252


def test_payload_over_the_limit_raises_session_too_large_with_the_limit() -> None:
    limit = layout.max_payload_bytes(SESSION_ID, has_expires=False)
    payload = "€" * (limit // 3 + 1)  # counted in UTF-8 bytes, not characters
    with pytest.raises(SessionTooLargeError) as caught:
        layout.build_entity(SESSION_ID, payload, None)
    assert caught.value.limit == limit
    assert caught.value.size == len(payload.encode("utf-8"))
    assert caught.value.store == "Azure Table storage"


def test_sweep_filter_compares_with_an_int64_literal() -> None:
    assert layout.sweep_filter(1_800_000_000.9) == "expires le 1800000000L"
