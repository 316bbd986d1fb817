"""How a session sits in DynamoDB: the table, the item, and the item's size.


This is the one definition of the table in Python. ``infra/aws/template.yaml`` declares
the same table for CloudFormation, and a test checks that the two agree, so a table made
by :func:`hostsessions_aws.client.create_table` (in tests, or with ``create_table=True``)
is the table a deployment gets.

Item layout (each item is one session):

- ``id`` (S): the session ID, the partition key;
- ``payload`` (S): the encoded session, never decoded by the driver;
- ``expires`` (N): epoch seconds as a whole number, the table's TTL attribute; absent
  when the session never expires;
- ``version`` (S): a random token replaced at every write (optimistic locking);
- ``token`` (S): the core's write tokens (absent on items written without one), so a write
  whose reply was lost, and whose retry then failed its condition, is known as done.

Sizes:

The size of a DynamoDB item, by DynamoDB's documented rules.

DynamoDB refuses items over 400 KB (409,600 bytes), where an item's size is the sum,
over its attributes, of the UTF-8 length of the attribute's name and the size of its
value: a string's UTF-8 length, a binary's raw length, one byte for a boolean or a null,
and for a number one byte per two significant digits (leading and trailing zeros
trimmed) plus one. The driver checks this before sending anything, so an oversized
session fails with :class:`~hostsessions.SessionTooLargeError` instead of a service error.

The rule is DynamoDB's, not an emulator's: moto, for one, refuses items from 405,000
bytes, which real DynamoDB accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hostsessions.drivers.base import utf8_length

__all__ = [
    "ATTRIBUTE_DEFINITIONS",
    "BILLING_MODE",
    "EXPIRES_ATTRIBUTE",
    "ITEM_SIZE_LIMIT",
    "KEY_ATTRIBUTE",
    "KEY_SCHEMA",
    "PAYLOAD_ATTRIBUTE",
    "TOKEN_ATTRIBUTE",
    "VERSION_ATTRIBUTE",
    "attribute_value_size",
    "create_table_request",
    "item_size",
    "number_size",
    "time_to_live_request",
]

KEY_ATTRIBUTE = "id"
PAYLOAD_ATTRIBUTE = "payload"
EXPIRES_ATTRIBUTE = "expires"
VERSION_ATTRIBUTE = "version"
TOKEN_ATTRIBUTE = "token"  # noqa: S105 - an attribute name, not a secret

# On-demand capacity: sessions are spiky and small, and nobody should size a table for them.
BILLING_MODE = "PAY_PER_REQUEST"
KEY_SCHEMA: list[dict[str, str]] = [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
ATTRIBUTE_DEFINITIONS: list[dict[str, str]] = [
    {"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}
]


def create_table_request(table: str) -> dict[str, Any]:
    """The CreateTable parameters of a sessions table called ``table``."""
    return {
        "TableName": table,
        "KeySchema": [dict(entry) for entry in KEY_SCHEMA],
        "AttributeDefinitions": [dict(entry) for entry in ATTRIBUTE_DEFINITIONS],
        "BillingMode": BILLING_MODE,
    }


def time_to_live_request(table: str) -> dict[str, Any]:
    """The UpdateTimeToLive parameters that let DynamoDB delete expired sessions itself."""
    return {
        "TableName": table,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": EXPIRES_ATTRIBUTE},
    }


ITEM_SIZE_LIMIT = 400 * 1024


def number_size(value: str) -> int:
    """Bytes DynamoDB counts for the number written as ``value`` (e.g. ``"1767225600"``)."""
    mantissa = value.strip().lstrip("+-").lower().split("e", 1)[0]
    # Leading zeros (also those right after a point) and trailing zeros are not significant.
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def attribute_value_size(value: Mapping[str, object]) -> int:
    """Bytes of one attribute value in DynamoDB's wire form (``{"S": ...}``, ``{"N": ...}``...)."""
    ((kind, content),) = value.items()
    if kind == "S" and isinstance(content, str):
        return utf8_length(content)
    if kind == "N" and isinstance(content, str):
        return number_size(content)
    if kind == "B" and isinstance(content, bytes | bytearray):
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    raise ValueError(f"item size of a {kind!r} attribute is not computed here")


def item_size(item: Mapping[str, Mapping[str, object]]) -> int:
    """Bytes DynamoDB counts for ``item`` against its 400 KB limit."""
    return sum(utf8_length(name) + attribute_value_size(value) for name, value in item.items())
