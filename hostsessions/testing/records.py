"""What a test may check about a stored record without decoding the session itself."""

from __future__ import annotations

from ..drivers.base import Record
from ..state import GONE_KEY, decode_entries

__all__ = ["holds_no_session"]


def holds_no_session(record: Record | None) -> bool:
    """Whether ``record`` (what a driver's ``read`` returned for an ID) holds no session:
    there is no record, or it is the tombstone that ``destroy()`` and ``regenerate()`` leave
    under the old ID for a minute, so that requests racing them are told (see
    docs/concurrency.md). Either way the ID opens no session and its data is gone."""
    if record is None:
        return True
    entries = decode_entries(record.payload)
    return entries is not None and set(entries) == {GONE_KEY}
