"""The record files of the ``fs`` driver: what their bytes mean, in both formats.

Rules of this module: it turns bytes into records and records into bytes, nothing else
(no file is opened here); whatever it cannot read whole and intact it returns as None,
never as a partial record.

Format 2 (what the driver writes): a file of two slots of equal size, each able to hold
the whole record, so that a record can be rewritten in place, into the slot that does
not hold the live record, without ever touching the live one::

    slot 0: {"format":"hostsessions-fs/2","seq":"<16 hex>","crc":"<8 hex>","version":...,
             "expires_at":...,"length":N,"token":...}\\n<N bytes of payload><filler>
    slot 1: the same shape, or zero bytes while the record has been written only once

The live record is the slot with the highest ``seq`` whose ``crc`` checks: a CRC-32 over
the record's file name, then everything after the ``crc`` field up to the end of the
payload, then the ``seq`` digits. A slot half written (by a process killed mid-write, a
reader overlapping a writer, or a power loss) fails its check and the other slot, which
no write touched, is the record; a file that is not this session's (a reader holding a
file that an overwrite swapped out and another session's write reused) fails it too.

Format 1 (what earlier versions wrote; still read, replaced by format 2 on its next
write): one header line, then the payload to the end of the file::

    {"format":"hostsessions-fs/1","version":"<hex>","expires_at":...,"length":N,
     "token":...}\\n<N bytes of payload>
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Final, NamedTuple, TypeAlias

from ..checks import is_dict
from .base import Record

__all__ = [
    "MIN_SLOT_SIZE",
    "SlotBody",
    "Stored",
    "decode",
    "fits_in_place",
    "new_file",
    "read_fields",
    "slot_body",
    "slot_bytes",
]

FORMAT_1: Final = "hostsessions-fs/1"
FORMAT_2: Final = "hostsessions-fs/2"
#: The smallest slot, in bytes: two of them fill one 4 KiB block, with room for a record
#: to grow by about a kilobyte before it needs a larger file.
MIN_SLOT_SIZE: Final = 2048
# A header is under 400 bytes (with a write token); anything much longer is not one of ours.
HEADER_LIMIT: Final = 1024

_PREFIX: Final = b'{"format":"' + FORMAT_2.encode() + b'","seq":"'
_SEQ_AT: Final = len(_PREFIX)
_SEQ_DIGITS: Final = 16
_AFTER_SEQ: Final = b'","crc":"'
_CRC_AT: Final = _SEQ_AT + _SEQ_DIGITS + len(_AFTER_SEQ)
_AFTER_CRC: Final = b'",'
_BODY_AT: Final = _CRC_AT + 8 + len(_AFTER_CRC)
_V1_PREFIX: Final = b'{"format":"' + FORMAT_1.encode() + b'"'
# The rest of a header as slot_body writes it (a finite expiry; a token, or the core's
# space-separated history of them, without escapes), read without the JSON decoder, which
# would cost more than the rest of a read. Any other header goes through json.loads and
# the checks of format 1.
_FIELDS: Final = re.compile(
    rb'"version":"([0-9a-f]{1,64})","expires_at":(null|-?[0-9][0-9.e+-]{0,30}),'
    rb'"length":([0-9]{1,10})(?:,"token":"([A-Za-z0-9_.~ -]{0,512})")?}\n'
)


class Stored(NamedTuple):
    """What a record file holds: the record and, for format 2, where to write the next."""

    record: Record
    #: The size of each slot; None for a format-1 file (rewritten whole, never in place).
    slot_size: int | None = None
    #: The live slot's sequence number (the next write takes ``seq + 1``).
    seq: int = 0
    #: Where the slot that does not hold the live record starts.
    free_slot_at: int = 0


class SlotBody(NamedTuple):
    """A record's slot without its ``seq`` and ``crc``, which only the writer that holds
    the lock can fill in: everything after the ``crc`` field, and the CRC so far."""

    body: bytes
    crc: int


def slot_body(
    name: str, version: str, expires_at: float | None, data: bytes, token: str | None
) -> SlotBody:
    """The slot of a record named ``name`` (its file name's digest), but for ``seq``."""
    # The same JSON as json.dumps of the header's fields, spelled out: a write is made of
    # few enough steps that the general encoder's cost shows. The version is hex.
    if expires_at is None:
        expiry = "null"
    elif math.isfinite(expires_at):
        expiry = repr(float(expires_at))
    else:
        expiry = json.dumps(expires_at)
    tail = "" if token is None else f',"token":{json.dumps(token)}'
    fields = f'"version":"{version}","expires_at":{expiry},"length":{len(data)}{tail}}}\n'
    body = fields.encode("ascii") + data
    return SlotBody(body, zlib.crc32(body, zlib.crc32(name.encode("ascii"))))


def slot_bytes(body: SlotBody, seq: int) -> bytes:
    """The whole slot: ``body`` under sequence number ``seq``."""
    digits = b"%016x" % seq
    crc = zlib.crc32(digits, body.crc)
    return b"%s%s%s%08x%s%s" % (_PREFIX, digits, _AFTER_SEQ, crc, _AFTER_CRC, body.body)


def slot_size_for(length: int) -> int:
    """The slot size of a new file for a slot of ``length`` bytes, with room to grow."""
    wanted = length + length // 4
    if wanted <= MIN_SLOT_SIZE:
        return MIN_SLOT_SIZE
    return -(-wanted // 4096) * 4096


def new_file(body: SlotBody) -> bytes:
    """A new record file holding ``body`` in its first slot, its second slot empty."""
    slot = slot_bytes(body, 1)
    size = slot_size_for(len(slot))
    return slot + bytes(2 * size - len(slot))


def fits_in_place(stored: Stored, body: SlotBody) -> bool:
    """Whether ``body`` can be written into ``stored``'s free slot. No when the file is
    format 1, when the slot is too small, and when the record has shrunk so much that the
    file would be read for nothing (a new file, sized for it, replaces it)."""
    size = stored.slot_size
    if size is None:
        return False
    length = _BODY_AT + len(body.body)
    return length <= size and slot_size_for(length) * 4 > size


def decode(blob: bytes, name: str) -> Stored | None:
    """The record a file of either format holds, or None when it holds no whole record
    of the session whose file name is ``name``."""
    if blob.startswith(_PREFIX):
        return _decode_slots(blob, name)
    if blob.startswith(_V1_PREFIX) or not blob.startswith(_PREFIX, len(blob) // 2):
        record = _decode_format_1(blob)
        if record is not None:
            return Stored(record)
    return _decode_slots(blob, name)  # the first slot damaged (a crash): try the second


def _decode_slots(blob: bytes, name: str) -> Stored | None:
    size = len(blob) // 2
    if size < _BODY_AT or len(blob) != 2 * size:
        return None
    first = blob[_SEQ_AT : _SEQ_AT + _SEQ_DIGITS] if blob.startswith(_PREFIX) else b""
    second = blob[size + _SEQ_AT : size + _SEQ_AT + _SEQ_DIGITS]
    if not blob.startswith(_PREFIX, size):
        second = b""
    # Fixed-width lowercase hex: the byte order of the digits is the order of the numbers.
    order = (0, size) if first >= second else (size, 0)
    seed = zlib.crc32(name.encode("ascii"))
    for start in order:
        found = _decode_slot(blob, start, size, seed)
        if found is not None:
            return Stored(found[0], size, found[1], size - start)
    return None


def _decode_slot(blob: bytes, start: int, size: int, seed: int) -> tuple[Record, int] | None:
    """The record in the slot at ``start`` and its sequence number, if the slot is whole."""
    if not blob.startswith(_PREFIX, start):
        return None
    fields, end = read_fields(blob, start)
    if fields is None:
        end = blob.find(b"\n", start, start + min(size, HEADER_LIMIT))
        fields = _parse_header(blob[start:end], FORMAT_2) if end >= 0 else None
        if fields is None:
            return None
    version, expires_at, length, token = fields
    stop = end + 1 + length
    if stop > start + size:
        return None
    digits = blob[start + _SEQ_AT : start + _SEQ_AT + _SEQ_DIGITS]
    view = memoryview(blob)
    crc = zlib.crc32(digits, zlib.crc32(view[start + _BODY_AT : stop], seed))
    if blob[start + _CRC_AT : start + _CRC_AT + 8] != b"%08x" % crc:
        return None
    try:
        payload = blob[end + 1 : stop].decode("utf-8")
        seq = int(digits, 16)
    except ValueError:  # UnicodeDecodeError is one
        return None
    return Record(payload, version, expires_at, token), seq


_Fields: TypeAlias = tuple[str, float | None, int, str | None]  # version, expiry, length, token


def read_fields(blob: bytes, start: int) -> tuple[_Fields | None, int]:
    """The header of the slot at ``start`` as slot_body writes it, and where its line
    ends; (None, -1) when it is written otherwise (the JSON decoder then reads it)."""
    if not (
        blob.startswith(_AFTER_SEQ, start + _SEQ_AT + _SEQ_DIGITS)
        and blob.startswith(_AFTER_CRC, start + _CRC_AT + 8)
    ):
        return None, -1
    found = _FIELDS.match(blob, start + _BODY_AT)
    if found is None:
        return None, -1
    version, expiry, length, token = found.groups()
    try:
        expires_at = None if expiry == b"null" else float(expiry)
    except ValueError:
        return None, -1
    fields = (
        version.decode("ascii"),
        expires_at,
        int(length),
        None if token is None else token.decode("ascii"),
    )
    return fields, found.end() - 1


def _decode_format_1(blob: bytes) -> Record | None:
    end = blob.find(b"\n", 0, HEADER_LIMIT)
    fields = _parse_header(blob[:end], FORMAT_1) if end >= 0 else None
    if fields is None:
        return None
    version, expires_at, length, token = fields
    if len(blob) - end - 1 != length:
        return None
    try:
        payload = blob[end + 1 :].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Record(payload, version, expires_at, token)


def _parse_header(line: bytes, expected_format: str) -> _Fields | None:
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if not is_dict(header) or header.get("format") != expected_format:
        return None
    version = header.get("version")
    expires_at = header.get("expires_at")
    length = header.get("length")
    if not isinstance(version, str) or not version:
        return None
    if expires_at is not None and (
        isinstance(expires_at, bool) or not isinstance(expires_at, int | float)
    ):
        return None
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        return None
    token = header.get("token")
    if token is not None and not isinstance(token, str):
        return None
    return version, None if expires_at is None else float(expires_at), length, token
