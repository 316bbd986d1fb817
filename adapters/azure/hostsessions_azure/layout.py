"""How a session is laid out as a Table storage entity, and Azure's size rules.

One entity per session: PartitionKey is the session ID, RowKey is empty. The payload's
UTF-8 bytes are split across binary properties ``payload_0``, ``payload_1``, ... of at
most 64 KiB each, with their count in ``chunks``; ``expires`` holds the record's expiry
in whole epoch seconds (Int64), absent when it never expires; ``token`` (a string) holds
the core's write tokens, absent on entities written without one.

Binary rather than string properties because Azure counts strings in UTF-16: a 64 KiB
string property holds only 32 Ki characters, a binary one 64 KiB of bytes. So a session
of nearly 1 MiB fits in one entity, and every read and write is a single call.

The real service's limits are enforced here, before any call, because the emulator
(Azurite) does not enforce the property count or the UTF-16 size rules.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from hostsessions.drivers.base import check_size, is_expired, whole_seconds

__all__ = [
    "CHUNK_COUNT",
    "CHUNK_PREFIX",
    "EXPIRES",
    "INT64",
    "MAX_CHUNK_BYTES",
    "MAX_CUSTOM_PROPERTIES",
    "MAX_ENTITY_BYTES",
    "ROW_KEY",
    "SAFETY_MARGIN_BYTES",
    "STORE_NAME",
    "TOKEN",
    "build_entity",
    "entity_expired",
    "entity_expiry",
    "entity_payload",
    "entity_size",
    "entity_token",
    "max_payload_bytes",
    "partition_key",
    "sweep_filter",
]

STORE_NAME = "Azure Table storage"

ROW_KEY = ""
CHUNK_PREFIX = "payload_"
CHUNK_COUNT = "chunks"
EXPIRES = "expires"
TOKEN = "token"  # noqa: S105 - a property name, not a secret
INT64 = "Edm.Int64"

MAX_CHUNK_BYTES = 64 * 1024
MAX_ENTITY_BYTES = 1024 * 1024
# 255 properties per entity, of which PartitionKey, RowKey and Timestamp are the system's.
MAX_CUSTOM_PROPERTIES = 252
# Room left below 1 MiB: measurements of the real service have put its cut-off a few
# dozen bytes under what the published size formula gives, so stay clear of the edge.
SAFETY_MARGIN_BYTES = 1024

# Characters Azure forbids in keys are '/', '\\', '#', '?' and control characters; session
# IDs never contain them. Other keys are hashed to a fixed, always-valid form instead.
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_HASHED_KEY_PREFIX = "~"


def partition_key(key: str) -> str:
    """The PartitionKey for a session key: the key itself when it is a plain ID."""
    if _PLAIN_KEY.match(key):
        return key
    return _HASHED_KEY_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _property_size(name: str, value_size: int) -> int:
    # Azure's published formula: 8 bytes per property, its name in UTF-16, its value.
    return 8 + 2 * _utf16_units(name) + value_size


def _chunk_name(index: int) -> str:
    return f"{CHUNK_PREFIX}{index}"


def _entity_overhead(pk: str, chunk_count: int, has_expires: bool, token_units: int = 0) -> int:
    """Bytes the entity takes besides the payload bytes themselves."""
    size = 4 + 2 * (_utf16_units(pk) + _utf16_units(ROW_KEY))
    size += _property_size(CHUNK_COUNT, 4)  # Int32
    if has_expires:
        size += _property_size(EXPIRES, 8)  # Int64
    if token_units:
        size += _property_size(TOKEN, 4 + 2 * token_units)  # a string: UTF-16 plus 4 bytes
    # Each binary value costs its length plus 4 bytes; the lengths are counted apart.
    size += sum(_property_size(_chunk_name(i), 4) for i in range(chunk_count))
    return size


def entity_size(pk: str, payload_bytes: int, *, has_expires: bool) -> int:
    """The entity's size by Azure's formula, for a payload of ``payload_bytes`` UTF-8 bytes."""
    chunk_count = math.ceil(payload_bytes / MAX_CHUNK_BYTES)
    return _entity_overhead(pk, chunk_count, has_expires) + payload_bytes


@lru_cache(maxsize=64)
def max_payload_bytes(pk: str, *, has_expires: bool, token_units: int = 0) -> int:
    """The largest payload, in UTF-8 bytes, that fits in one entity under this PartitionKey
    (with a write token of ``token_units`` UTF-16 units)."""
    budget = MAX_ENTITY_BYTES - SAFETY_MARGIN_BYTES
    fixed_properties = 1 + int(has_expires) + int(token_units > 0)
    best = 0
    for chunk_count in range(1, MAX_CUSTOM_PROPERTIES - fixed_properties + 1):
        room = budget - _entity_overhead(pk, chunk_count, has_expires, token_units)
        fits = min(chunk_count * MAX_CHUNK_BYTES, room)
        if fits <= (chunk_count - 1) * MAX_CHUNK_BYTES:
            break  # one more chunk no longer pays for its own overhead
        best = fits
    return best


def build_entity(
    key: str, payload: str, expires_at: float | None, token: str | None = None
) -> dict[str, Any]:
    """The entity for one session; raises SessionTooLargeError when Azure would refuse it."""
    pk = partition_key(key)
    data = payload.encode("utf-8")
    token_units = _utf16_units(token) if token else 0
    limit = max_payload_bytes(pk, has_expires=expires_at is not None, token_units=token_units)
    check_size(STORE_NAME, len(data), limit)
    entity: dict[str, Any] = {"PartitionKey": pk, "RowKey": ROW_KEY}
    starts = range(0, len(data), MAX_CHUNK_BYTES)
    chunks = [data[start : start + MAX_CHUNK_BYTES] for start in starts]
    entity[CHUNK_COUNT] = len(chunks)
    for index, chunk in enumerate(chunks):
        entity[_chunk_name(index)] = chunk
    if expires_at is not None:
        # Int64 even though today's epoch seconds fit Int32: the sweep's filter compares
        # against an Int64 literal, and the column keeps one type for every entity.
        entity[EXPIRES] = (whole_seconds(expires_at), INT64)
    if token:
        entity[TOKEN] = token
    return entity


def entity_token(entity: Mapping[str, Any]) -> str | None:
    """The write tokens stored with the entity, or None."""
    token = entity.get(TOKEN)
    return token if isinstance(token, str) else None


def _int_value(value: Any) -> int:
    # The SDK returns Int64 properties as EntityProperty(value, edm_type) named tuples
    # (isinstance sees only a tuple of unknown items: the cast names what the SDK gives).
    if isinstance(value, tuple):
        value = cast("tuple[Any, str]", value)[0]
    return int(value)


def entity_expiry(entity: Mapping[str, Any]) -> float | None:
    """The record's expiry in epoch seconds, or None when it never expires."""
    if entity.get(EXPIRES) is None:
        return None
    return float(_int_value(entity[EXPIRES]))


def entity_expired(entity: Mapping[str, Any], now: float) -> bool:
    """Whether the entity holds a record that has expired by ``now``."""
    return is_expired(entity_expiry(entity), now)


def entity_payload(entity: Mapping[str, Any]) -> str:
    """The payload reassembled from its chunks."""
    count = _int_value(entity.get(CHUNK_COUNT, 0))
    data = b"".join(bytes(entity.get(_chunk_name(i)) or b"") for i in range(count))
    # A damaged record decodes to text the core's codec rejects; the core then drops it.
    return data.decode("utf-8", errors="replace")


def sweep_filter(now: float) -> str:
    """The query that finds expired entities (the literal is Int64, like the property)."""
    return f"{EXPIRES} le {math.floor(now)}L"
