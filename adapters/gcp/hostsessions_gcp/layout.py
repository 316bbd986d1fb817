"""How a session sits in Firestore: one document per session, and its size by Firestore's rules.

The layout is a contract (other tools may read the collection):

- the document ID is the session ID;
- ``payload`` (string): the encoded session, never decoded by the driver;
- ``expires`` (timestamp, or null for a session that never expires): a Firestore TTL
  policy on this field deletes old sessions;
- ``token`` (string, absent on documents written without one): the core's write tokens,
  so that a write whose reply was lost, and whose retry then failed its precondition, is
  known as done;
- ``version`` (integer): how many times the document was written, for people reading the
  collection. Conditional writes compare the document's own update time, which Firestore
  checks natively in a precondition, so :attr:`Record.version <hostsessions.drivers.Record>`
  is that update time (see :func:`version_of`).

Firestore reserves document IDs of the form ``__...__``; a session ID of that shape (one in
about sixteen million) is stored as ``~__...__`` instead. No session ID starts with ``~``,
and any key that does is escaped the same way, so the mapping never joins two keys.

Firestore refuses documents over 1 MiB, where a document's size is its name's size, plus
each field name's and value's size, plus 32 bytes; a string counts its UTF-8 bytes plus one,
a timestamp and an integer 8 bytes, a null 1 byte; a document name counts each collection
and document ID in its path as a string, plus 16 bytes. The driver applies these rules
before any call, so an oversized session fails with
:class:`~hostsessions.SessionTooLargeError` instead of a service error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hostsessions.drivers.base import Record, is_expired, utf8_length

__all__ = [
    "DOCUMENT_SIZE_LIMIT",
    "EXPIRES",
    "PAYLOAD",
    "TOKEN",
    "VERSION",
    "document_id",
    "document_name_size",
    "document_size",
    "has_expired",
    "payload_limit",
    "string_size",
    "timestamp",
    "to_record",
    "update_time_of",
    "version_of",
]

PAYLOAD = "payload"
EXPIRES = "expires"
VERSION = "version"
TOKEN = "token"  # noqa: S105 - a property name, not a secret

#: Firestore's maximum document size in bytes.
DOCUMENT_SIZE_LIMIT = 1024 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RESERVED_ID = re.compile(r"^__.*__$", re.DOTALL)
_ESCAPE = "~"


def document_id(key: str) -> str:
    """The document ID that holds session ``key``."""
    if key.startswith(_ESCAPE) or _RESERVED_ID.match(key):
        return _ESCAPE + key
    return key


def string_size(text: str) -> int:
    """Bytes Firestore counts for a string: its UTF-8 length plus one."""
    return utf8_length(text) + 1


def document_name_size(collection: str, doc_id: str) -> int:
    """Bytes of the name of document ``doc_id`` in ``collection`` (a path such as ``a/b/c``)."""
    return sum(string_size(part) for part in (*collection.split("/"), doc_id)) + 16


def document_size(
    collection: str,
    doc_id: str,
    payload: str,
    expires_at: float | None,
    token: str | None = None,
) -> int:
    """Bytes Firestore counts for the session document these values make."""
    fields = (
        string_size(PAYLOAD)
        + string_size(payload)
        + string_size(EXPIRES)
        + (1 if expires_at is None else 8)
        + string_size(VERSION)
        + 8
    )
    if token is not None:
        fields += string_size(TOKEN) + string_size(token)
    return document_name_size(collection, doc_id) + fields + 32


def payload_limit(
    collection: str, doc_id: str, expires_at: float | None, token: str | None = None
) -> int:
    """The largest payload, in UTF-8 bytes, that fits in one document with these values."""
    return DOCUMENT_SIZE_LIMIT - document_size(collection, doc_id, "", expires_at, token)


def timestamp(expires_at: float | None) -> datetime | None:
    """``expires_at`` (epoch seconds) as the aware datetime Firestore stores as a Timestamp."""
    return None if expires_at is None else datetime.fromtimestamp(expires_at, UTC)


def to_record(data: Mapping[str, Any] | None, update_time: Any, now: float) -> Record | None:
    """The record a document holds, or None when it is absent, expired or not a session."""
    if data is None or update_time is None:
        return None
    payload = data.get(PAYLOAD)
    if not isinstance(payload, str):
        return None
    expires = data.get(EXPIRES)
    if not isinstance(expires, datetime):
        expires = None
    expires_at = None if expires is None else expires.timestamp()
    if is_expired(expires_at, now):
        # A TTL policy deletes expired documents within a day or so, not at once.
        return None
    token = data.get(TOKEN)
    return Record(
        payload,
        version_of(update_time, expires),
        expires_at,
        token if isinstance(token, str) else None,
    )


def version_of(update_time: Any, expires: datetime | None) -> str:
    """The opaque version of a document: its update time, and its expiry if it has one.

    The update time (nanosecond precision) is what the write precondition compares. The
    expiry, in whole microseconds as Firestore stores it, lets a write refuse a version
    whose document has expired since it was read, without asking Firestore: an expired
    session is absent, so it cannot be updated.
    """
    stamp = str(update_time.rfc3339())
    if expires is None:
        return stamp
    return f"{stamp}@{(expires - _EPOCH) // timedelta(microseconds=1)}"


def has_expired(version: str, now: float) -> bool:
    """Whether the document this version names had expired by ``now``."""
    _, _, micros = version.partition("@")
    return micros.isdigit() and int(micros) / 1e6 <= now


def update_time_of(version: str) -> Any:
    """The update time a version string names, as the precondition wants it."""
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    try:
        stamp = version.partition("@")[0]
        return DatetimeWithNanoseconds.from_rfc3339(stamp)  # type: ignore[no-untyped-call]
    except ValueError:
        # Not a version this driver issued: a time no document was written at, so the
        # precondition fails. (Not the epoch itself: a zero Timestamp reads as "no
        # precondition" on the wire.)
        return DatetimeWithNanoseconds(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)  # type: ignore[no-untyped-call]
