"""The size of a DynamoDB item, by DynamoDB's documented rules.

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

from hostsessions.drivers.base import utf8_length

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
