"""The stored payload: a session's entries to and from their devalue form.

Rules of this module: it alone knows how a session sits in a record (a Map from key to
``{data, expires}``, as Astro stores it) and how a value is kept between its decoded and
encoded forms; the state machine (:mod:`hostsessions.state`) never touches the codec
directly. No I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from . import codec
from .errors import SessionSerializationError, SessionTooLargeError
from .url import URL

__all__ = [
    "EMPTY_PAYLOAD",
    "IMMUTABLE",
    "MISSING",
    "PRIMITIVES",
    "Slot",
    "decode_entries",
    "encode_entries",
    "encode_value",
    "entries_from_kept",
    "fresh_copy",
    "kept_form",
    "latest_expiry",
    "single_entry_payload",
]

#: A slot's value not decoded yet.
MISSING: Any = object()

# Values of these types cannot be changed in place, so handing one out leaves the stored
# copy intact and it can be written back without decoding the record again.
PRIMITIVES = frozenset({str, int, float, bool, type(None)})
IMMUTABLE = PRIMITIVES | {
    bytes,
    datetime,
    URL,
    codec.JSBigInt,
    codec.JSUndefined,
    codec.JSOpaque,
}


class Slot:
    """One key's value and expiry.

    ``stored`` is what a save writes for the value: its devalue form
    (:class:`codec.Encoded`: the slots of the stored record for a value read from the
    store, the encoding made at ``set`` for a value set in this request), or the value
    itself when it is a primitive or another immutable value (a plain value read from a
    record of plain values, a str or an int set in this request). A save copies it
    into the new record, so a value is never encoded twice, an entry nobody changed is
    written back exactly as it was stored, and what the app did in place to an object it
    got never reaches the store (changes are made with ``set``). A value set in this
    request is decoded only if it is read, so a write-only request never decodes anything.
    A Slot made with ``encoded`` None holds an immutable value (a mutable one always has
    its encoded form).
    """

    __slots__ = ("expires_ms", "held", "stored")

    def __init__(self, value: Any, encoded: codec.Encoded | None, expires_ms: int | None) -> None:
        #: The value as decoded so far: MISSING until :attr:`value` first decodes it.
        self.held = value
        self.stored: Any = value if encoded is None else encoded
        self.expires_ms = expires_ms

    @property
    def value(self) -> Any:
        if self.held is MISSING:
            self.held = codec.decode(self.stored)
        return self.held

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and self.expires_ms <= now_ms

    def with_expiry(self, expires_ms: int | None) -> Slot:
        """The same value, expiring at ``expires_ms``."""
        twin = Slot(self.held, None, expires_ms)
        twin.stored = self.stored
        return twin


#: What :func:`kept_form` makes: key, value, expires_ms of each entry, one after another.
Kept = tuple[Any, ...]


def kept_form(entries: dict[str, Slot]) -> Kept | None:
    """What a store that keeps objects (:class:`~hostsessions.drivers.base.KeepsObjects`)
    holds next to the payload of ``entries``, so that reading it back needs no decode: the
    key, the value and the expiry (epoch ms or None) of each entry in one flat tuple,
    when every value is a primitive that is its own stored form; None otherwise (such a
    record is decoded when read).

    Only immutable atoms, so no request can change anything in it, the garbage collector
    stops tracking it (and the store's record holding it) as it does a record of strings
    alone, and a read touches one object more than the payload, not one per entry.
    """
    if len(entries) == 1:  # the usual session of one key: no list
        ((key, slot),) = entries.items()
        value = slot.held
        if slot.stored is value and type(value) in PRIMITIVES:
            return (key, value, slot.expires_ms)
        return None
    kept: list[Any] = []
    for key, slot in entries.items():
        value = slot.held
        if slot.stored is not value or type(value) not in PRIMITIVES:
            return None
        kept += (key, value, slot.expires_ms)
    return tuple(kept)


def entries_from_kept(kept: Kept) -> dict[str, Slot]:
    """The entries :func:`kept_form` was made from: fresh slots, as decoding the payload
    gives them."""
    if len(kept) == 3:
        return {kept[0]: Slot(kept[1], None, kept[2])}
    entries: dict[str, Slot] = {}
    fields = iter(kept)
    for key, value, expires_ms in zip(fields, fields, fields, strict=True):
        entries[key] = Slot(value, None, expires_ms)
    return entries


def encode_value(key: str, value: Any) -> codec.Encoded:
    """``value``'s encoded form, or SessionSerializationError naming ``key``."""
    try:
        return codec.encode(value)
    except SessionTooLargeError:
        raise  # the codec's size limit: too large, whichever limit came first
    except SessionSerializationError as exc:
        raise SessionSerializationError(f"cannot store session key {key!r}: {exc}") from exc


def decode_entries(payload: str) -> dict[str, Slot] | None:
    """The stored map of key -> {data, expires}, or None when the payload is not one."""
    try:
        return codec.parse_entries(payload, Slot)
    except SessionSerializationError:
        return None


def latest_expiry(payload: str) -> float | None:
    """When the session in ``payload`` expires as a whole (epoch seconds): the latest of its
    keys' expiries. None when it never does: a key without expiry, no keys at all, or a
    payload that is not a session (which is kept for the core to judge when it reads it)."""
    entries = decode_entries(payload)
    if not entries or any(slot.expires_ms is None for slot in entries.values()):
        return None
    return max(slot.expires_ms for slot in entries.values() if slot.expires_ms is not None) / 1000


#: The payload of ``entries`` (a dict of :class:`Slot`), ready to store.
encode_entries: Final = codec.stringify_entries


#: The payload of a session with no keys (a new session that ends up empty is not stored).
EMPTY_PAYLOAD = codec.stringify(codec.JSMap())


def single_entry_payload(key: str, data: int, expires_ms: int) -> str:
    """The payload of a session holding only ``key`` (the tombstone's shape)."""
    return codec.stringify(codec.JSMap({key: {"data": data, "expires": expires_ms}}))


def fresh_copy(key: str, value: Any) -> Any:
    """A copy of ``value`` no caller can change in place (an immutable value is its own)."""
    if type(value) in IMMUTABLE:
        return value
    return codec.decode(encode_value(key, value))
