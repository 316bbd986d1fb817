"""The session codec: devalue's wire format, which Astro stores sessions in.

A devalue string is a JSON array of slots. Slot 0 is the root value; a container slot holds
the *indices* of its children instead of the children themselves, so an object referenced
twice is written once and cycles survive. Negative indices stand for values JSON cannot
spell (``undefined``, ``NaN``, ``-0`` ...). Typed values are tagged arrays:
``["Date", "2020-01-01T00:00:00.000Z"]``, ``["Map", k, v, ...]``, ``["Set", ...]``,
``["BigInt", "123"]``, ``["URL", i]``, ``["Uint8Array", i]`` + ``["ArrayBuffer", base64]``.

The mapping between Python and JavaScript values, and the few places where they cannot
agree (one JS number type, millisecond Dates), are described in ``docs/codec.md``.

Decoding never executes anything: it is :func:`json.loads` plus a walk over plain lists
and dicts, bounded in input size and nesting depth. Every failure, in either direction,
is a :class:`~hostsessions.errors.SessionSerializationError`.

A session record is ``Map(key -> {data, expires})``. Most hold only plain values (user
IDs, counters, flags: str, int, float, bool, None) with int expiries, and a store reads
and writes one on every request, so such values have paths of their own.
:func:`stringify_entries` writes the JSON text of plain data and expiries straight from
the entries, without the slot list and the JSON encoder; any other value (a list, a dict,
a big int, NaN, the infinities, -0.0...) is written by the general writer, sharing the
same memos, and the JSON encoder writes only its slots. :func:`parse_entries` reads a
record with str keys and int expiries in one pass over the parsed slots: a JSON scalar is
taken as it is, and any other value is revived alone by the general decoder; any other
record (a float expiry, a record that is not well formed) goes to the general decoder,
which reads or refuses it as always. Both give what the general path gives (the writer
byte for byte): the same slots in devalue's
order (the Map, then per entry its key, its ``{data, expires}`` object, the data, the
expiry), equal primitives shared by value (a key and an equal str value are one slot, an
expiry and an equal int value are one slot; ``True``, ``1`` and ``1.0`` are three), the
same escapes (``<``, U+2028/U+2029, lone surrogates) and the same length limit and error.
"""

from __future__ import annotations

import binascii
import enum
import itertools
import json
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol, TypeGuard, TypeVar

from .checks import is_dict, is_text
from .errors import SessionSerializationError, SessionTooLargeError
from .url import URL

T = TypeVar("T")

__all__ = [
    "MAX_DEPTH",
    "MAX_INPUT_CHARS",
    "MAX_SAFE_INTEGER",
    "SPARSE_SLOTS_PER_CHAR",
    "UNDEFINED",
    "Encoded",
    "EncodedTooLongError",
    "JSBigInt",
    "JSMap",
    "JSOpaque",
    "JSRegExp",
    "JSUndefined",
    "RecordEntry",
    "StoredEntry",
    "decode",
    "encode",
    "parse",
    "parse_entries",
    "parse_record",
    "parse_record_entries",
    "stringify",
    "stringify_entries",
    "stringify_record",
]

MAX_DEPTH: Final = 256
"""How many containers may nest inside each other, by default, in a value that is
encoded or decoded. Kept well under Python's recursion limit, so that the codec, and
whatever code walks the value afterwards, stay clear of RecursionError."""

MAX_INPUT_CHARS: Final = 8 * 1024 * 1024
"""The longest devalue string, in characters, that :func:`parse` accepts (and that
:func:`stringify` produces) by default: far more than any session should hold."""

# The codec walks untyped values (the caller's data, parsed JSON) by their exact class.
# `type(x) is list` makes a type checker see an Any as a list of unknowns, and type(x)
# of an Any is a partly unknown class. _class_of is the builtin itself (no extra call on
# the hot paths), declared as what its one-argument form answers, so a class test
# leaves the value typed Any.
if TYPE_CHECKING:

    def _class_of(value: object, /) -> type[Any]: ...

else:
    _class_of = type

# devalue's sentinel indices (src/constants.js).
_UNDEFINED: Final = -1
_HOLE: Final = -2
_NAN: Final = -3
_POSITIVE_INFINITY: Final = -4
_NEGATIVE_INFINITY: Final = -5
_NEGATIVE_ZERO: Final = -6
_SPARSE: Final = -7

# JavaScript numbers are doubles: integers beyond this are not exact, so Python writes
# them as BigInt, and an integer literal beyond it can only be a JS double.
MAX_SAFE_INTEGER: Final = 2**53 - 1
_MAX_SAFE_INTEGER: Final = MAX_SAFE_INTEGER
_MAX_ARRAY_LENGTH: Final = 2**32 - 1

# What one decoding may build, in proportion to its input, so that a small hostile record
# cannot stall or inflate a worker. Sparse arrays: a few characters can declare a vast
# length, so all of one input's sparse arrays together get this many slots per input
# character (plus a small allowance). Map keys and Set members: Python hashes (and
# compares) a tuple by walking all of it, so a key built from shared arrays costs its size
# *unshared*, which doubles with each level of sharing; the unshared sizes of all keys and
# members together get this many elements per input character.
SPARSE_SLOTS_PER_CHAR: Final = 16
KEY_ELEMENTS_PER_CHAR: Final = 16
_ALLOWANCE: Final = 65_536

_SUPPORTED = (
    "None, bool, int, float, str, list, tuple, dict, set, frozenset, datetime (aware), "
    "hostsessions.URL, bytes, bytearray, UNDEFINED"
)


class JSUndefined(enum.Enum):
    """The type of :data:`UNDEFINED`, JavaScript's ``undefined``; it has that one value."""

    UNDEFINED = "undefined"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __str__(self) -> str:
        return "undefined"


UNDEFINED: Final = JSUndefined.UNDEFINED
"""JavaScript's ``undefined``, as :func:`parse` reads it (and array holes), so that it is
written back as ``undefined`` rather than ``null``. It is falsy and a singleton: test it
with ``value is UNDEFINED``. Python code may store it too."""


class JSBigInt(int):
    """An ``int`` that is stored as a JavaScript ``BigInt`` whatever its size.

    A Python ``int`` is written as a JS number when JS can hold it exactly and as a BigInt
    beyond that. :func:`parse` returns a BigInt that a JS number could hold as a
    ``JSBigInt``, so a ``5n`` read from JavaScript stays ``5n`` on its way back. Arithmetic
    on it gives plain ``int`` results, like any ``int`` subclass.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JSBigInt({int.__repr__(self)})"

    def __str__(self) -> str:  # int's str is its repr: keep "5", not "JSBigInt(5)"
        return int.__repr__(self)


class JSMap(dict[Any, Any]):
    """A dict that is stored as a JavaScript ``Map`` whatever its keys are.

    A plain dict whose keys are all ``str`` is stored as a JS object; any other dict as a
    ``Map``. :func:`parse` returns every ``Map`` as a ``JSMap``, so a ``Map`` stays a
    ``Map`` on its way back. A ``JSMap`` compares equal to a dict with the same items.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JSMap({super().__repr__()})"

    def copy(self) -> JSMap:
        """A shallow copy that is still a ``JSMap``."""
        return JSMap(self)


@dataclass(frozen=True, slots=True)
class JSRegExp:
    """A JavaScript ``RegExp`` read from a devalue string, kept so that it can be written back.

    Python does not run it: ``source`` and ``flags`` are the regular expression's text.
    """

    source: str
    flags: str = ""

    def __post_init__(self) -> None:
        if not is_text(self.source) or not is_text(self.flags):
            raise SessionSerializationError("JSRegExp takes a source and flags that are strings")


# ---------------------------------------------------------------------------- encoding

_json_encoder = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, separators=(",", ":")
)
_encode_json = _json_encoder.encode
# JSONEncoder.encode builds a new C encoder (and a closure) on every call; the slots are
# only lists, dicts with str keys, str, int, finite floats, bool and None, so one C encoder
# with the same settings, made once, writes the same text. It is stateless (no markers).
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_slots: Callable[[list[Any]], str]
try:
    # The arguments JSONEncoder.iterencode passes for these settings.
    _c_encode = _c_make_encoder(
        None,  # markers: check_circular is off
        _json_encoder.default,
        json.encoder.encode_basestring,  # what ensure_ascii=False writes strings with
        _json_encoder.indent,
        _json_encoder.key_separator,
        _json_encoder.item_separator,
        _json_encoder.sort_keys,
        _json_encoder.skipkeys,
        _json_encoder.allow_nan,
    )
except TypeError:  # no C accelerator, or an interpreter whose C encoder takes other arguments
    _encode_slots = _encode_json
else:

    def _encode_with_c(slots: list[Any]) -> str:
        return "".join(_c_encode(slots, 0))

    _encode_slots = _encode_with_c


# devalue escapes these beyond what JSON needs: U+2028/U+2029 for old JS engines, and lone
# surrogates (as JSON.stringify does) so that the result is valid UTF-8. `<` is handled
# apart, with a plain replace, as it is the common one.
_RAW_CHARS = re.compile("[\u2028\u2029\ud800-\udfff]")


def _escape_raw_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class _Unsupported(Exception):
    """Raised inside :func:`stringify`; carries the objects from the bad value up to the root."""

    def __init__(self, bad: object, reason: str | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.chain: list[object] = [bad]

    def message(self) -> str:
        path, role = _path_to(self.chain[::-1])
        if self.reason is not None:
            return f"cannot store {self.reason}{role} at {path}"
        kind = type(self.chain[0]).__qualname__
        return (
            f"cannot store a value of type {kind!r}{role} at {path}; "
            f"supported types are {_SUPPORTED}"
        )


def _path_to(chain: list[object]) -> tuple[str, str]:
    """Spell the path from the root to the last object of ``chain``, e.g. ``value['a'][2]``.

    Only runs on the error path, so it finds each child in its parent by identity rather
    than tracking keys while encoding. The first match is the one the encoder met first.
    """
    path = "value"
    role = ""
    for parent, child in itertools.pairwise(chain):
        role = ""
        if is_dict(parent):
            for key, item in parent.items():
                if item is child:
                    path += f"[{reprlib.repr(key)}]"
                    break
                if key is child:
                    role = " (a dict key)"
                    break
        elif _is_array(parent):
            for index, item in enumerate(parent):
                if item is child:
                    path += f"[{index}]"
                    break
        elif isinstance(parent, set | frozenset):
            role = " (a set member)"
        if role and child is not chain[-1]:
            # The bad value sits somewhere inside this key or member.
            path += f" (inside a {'dict key' if 'key' in role else 'set member'})"
            role = ""
    return path, role


def _iso_date(moment: datetime) -> str:
    """The Date string devalue writes (``Date.toISOString``), in UTC.

    JS Dates hold milliseconds; a datetime with sub-millisecond microseconds is written
    with six fraction digits, which JS engines read (dropping the extra digits) and Python
    reads back exactly.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise _Unsupported(
            moment,
            "a naive datetime (one without tzinfo; give it a timezone, e.g. "
            "datetime.now(UTC) or dt.replace(tzinfo=UTC))",
        )
    if offset:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise _Unsupported(
                moment, "a datetime that falls outside years 1..9999 in UTC"
            ) from None
    micro = moment.microsecond
    fraction = f"{micro // 1000:03d}" if micro % 1000 == 0 else f"{micro:06d}"
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{fraction}Z"
    )


class Encoded:
    """A value in devalue's flattened form: a list of slots and the index of the value.

    What :func:`encode` returns, and what :func:`parse_record` keeps of each stored
    entry. :func:`stringify` writes an ``Encoded`` found anywhere in a value by copying
    its slots, without decoding or encoding the value again: an entry read from a store
    goes back exactly as it was written (whatever JS types Python cannot hold), and a
    value is encoded once however often it is written. The slots must never change.
    """

    __slots__ = ("index", "slots")

    def __init__(self, slots: list[Any], index: int) -> None:
        self.slots = slots
        self.index = index

    def __repr__(self) -> str:
        return f"<Encoded slot {self.index} of {len(self.slots)}>"


class JSOpaque:
    """A JavaScript value that Python has no type for, kept as devalue wrote it.

    :func:`parse` reads typed arrays other than ``Uint8Array`` (``Float32Array``...),
    ``DataView``, ``URLSearchParams`` and the ``Temporal`` types as a ``JSOpaque``, so that
    a session holding one still loads, and :func:`stringify` writes it back exactly.
    ``tag`` is the JS type's name. Python cannot look inside or build one; two are equal
    only if they are the same object.
    """

    __slots__ = ("encoded", "tag")

    def __init__(self, tag: str, encoded: Encoded) -> None:
        self.tag = tag
        self.encoded = encoded

    def __repr__(self) -> str:
        return f"<JSOpaque {self.tag}>"


def encode(value: object, *, max_depth: int = MAX_DEPTH) -> Encoded:
    """``value`` in its flattened form: a snapshot that :func:`stringify` copies as it is.

    Raises :class:`SessionSerializationError` as :func:`stringify` does (only the length
    of the final text is checked later, when it is written).
    """
    flattener = _Flattener(max_depth)
    root = _encoding(flattener.flatten, value, 1)
    return Encoded(flattener.slots, root)


def _encoding(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``, a step of an encoding, with its failures worded for the user."""
    try:
        return function(*args)
    except _Unsupported as exc:
        raise SessionSerializationError(exc.message()) from None
    except RecursionError:
        raise SessionSerializationError(
            "cannot store the value: it nests too deeply for the Python stack"
        ) from None


def decode(encoded: Encoded, *, max_depth: int = MAX_DEPTH) -> Any:
    """A new Python value from an :class:`Encoded` one (a fresh object on every call)."""
    if encoded.index < 0:
        return _SPECIALS[encoded.index]
    slots = encoded.slots
    try:
        return _Reviver(slots, max_depth, MAX_INPUT_CHARS, MAX_INPUT_CHARS).value(encoded.index, 1)
    except _Malformed as exc:
        raise SessionSerializationError(f"cannot decode the devalue data: {exc}") from None
    except RecursionError:
        raise SessionSerializationError(
            "cannot decode the devalue data: it nests too deeply for the Python stack"
        ) from None


def stringify(
    value: object, *, max_depth: int = MAX_DEPTH, max_length: int = MAX_INPUT_CHARS
) -> str:
    """Encode ``value`` as a devalue string, the way devalue's ``stringify`` (and Astro) writes it.

    Raises :class:`SessionSerializationError` for a type the codec does not support (the
    message names the type and where it sits, e.g. ``value['cart'][2]``), a naive
    datetime, a value nested more than ``max_depth`` containers deep, or a result longer
    than ``max_length`` characters.
    """
    flattener = _Flattener(max_depth)
    root = _encoding(flattener.flatten, value, 1)
    if root < 0:
        return str(root)
    return _finish(flattener, max_length)


def _finish(flattener: _Flattener, max_length: int) -> str:
    """The devalue string of what ``flattener`` wrote."""
    return _escaped(_encode_slots(flattener.slots), max_length)


def _escaped(text: str, max_length: int) -> str:
    """The JSON of the slots, ``text``, with devalue's escapes, checked against ``max_length``."""
    if "<" in text:
        # So that a payload placed inside an HTML <script> tag cannot close it (devalue does this).
        text = text.replace("<", "\\u003C")
    if not text.isascii():
        text = _RAW_CHARS.sub(_escape_raw_char, text)
    if len(text) > max_length:
        raise EncodedTooLongError(len(text), max_length)
    return text


def stringify_record(
    entries: Iterable[tuple[str, Any, int | None]],
    *,
    max_depth: int = MAX_DEPTH,
    max_length: int = MAX_INPUT_CHARS,
) -> str:
    """A session record, ``Map(key -> {data, expires})``, from ``(key, data, expires)``
    triples (``expires`` None: no expiry, so none is written).

    The same string as :func:`stringify` of the ``JSMap`` of ``{"data": ..., "expires":
    ...}`` dicts, written without building them; ``data`` may be an :class:`Encoded`.
    """
    flattener = _Flattener(max_depth)
    _encoding(_write_record, flattener, entries)
    return _finish(flattener, max_length)


def _write_record(flattener: _Flattener, entries: Iterable[tuple[str, Any, int | None]]) -> None:
    slots = flattener.slots
    plain = flattener.plain
    flatten = flattener.flatten
    root: list[Any] = ["Map"]
    slots.append(root)
    for key, data, expires in entries:
        position = plain.get(key)
        if position is None:
            position = plain[key] = len(slots)
            slots.append(key)
        root.append(position)
        root.append(len(slots))
        wrapper: dict[str, int] = {}
        slots.append(wrapper)
        wrapper["data"] = flatten(data, 3)
        if expires is not None:
            wrapper["expires"] = flatten(expires, 3)


class StoredEntry(Protocol):
    """One entry of a session record as :func:`stringify_entries` reads it."""

    @property
    def stored(self) -> Any:
        """The entry's data: the value itself, or its :class:`Encoded` form."""

    @property
    def expires_ms(self) -> int | None:
        """When the entry expires, in epoch milliseconds; None: it never does."""


def stringify_entries(
    entries: Mapping[str, StoredEntry],
    *,
    max_depth: int = MAX_DEPTH,
    max_length: int = MAX_INPUT_CHARS,
) -> str:
    """A session record from its entries: :func:`stringify_record` of the ``(key,
    entry.stored, entry.expires_ms)`` triples, and the same string, byte for byte.

    Plain data (str, bool, None, an int within :data:`MAX_SAFE_INTEGER`, a finite float
    other than -0.0, ``UNDEFINED``, or the :class:`Encoded` form of one) and int expiries
    are written straight as JSON text; only the other values go through the general
    writer, and the JSON encoder then writes only their slots.
    """
    if len(entries) == 1:  # the usual session of one key (a counter, a user's ID): no memos
        ((key, entry),) = entries.items()
        data = entry.stored
        expires = entry.expires_ms
        kind = _class_of(data)
        if kind is str:
            value = _quote(data) if data != key else None  # (equal to the key: one slot)
        elif kind is int:
            value = (
                int.__repr__(data)
                if -_MAX_SAFE_INTEGER <= data <= _MAX_SAFE_INTEGER and data != expires
                else None
            )
        elif kind is bool:
            value = "true" if data else "false"
        elif data is None:
            value = "null"
        else:
            value = None  # a float, an Encoded...: the general text writer
        if value is not None and _class_of(key) is str:
            text: str | None = None
            if expires is None:
                text = f'[["Map",1,2],{_quote(key)},{{"data":3}},{value}]'
            elif _class_of(expires) is int and -_MAX_SAFE_INTEGER <= expires <= _MAX_SAFE_INTEGER:
                text = f'[["Map",1,2],{_quote(key)},{{"data":3,"expires":4}},{value},{expires}]'
            if text is not None:
                if "<" in text or not text.isascii() or len(text) > max_length:
                    return _escaped(text, max_length)
                return text  # nothing to escape (_escaped, written out)
    text = _record_text(entries, max_depth)
    if text is None:
        return stringify_record(
            [(key, entry.stored, entry.expires_ms) for key, entry in entries.items()],
            max_depth=max_depth,
            max_length=max_length,
        )
    return _escaped(text, max_length)


_quote: Final = json.encoder.encode_basestring  # how the slot encoder writes a str


def _record_text(entries: Mapping[str, StoredEntry], max_depth: int) -> str | None:
    """The JSON text of a session record (see :func:`stringify_entries`); None when a key
    is not a str.

    The slots and their order are :func:`_write_record`'s (the Map, then for each entry
    its key, its ``{data, expires}`` object, the data, the expiry), primitives are shared
    by value as :meth:`_Flattener.flatten` and :meth:`_Flattener.copy` share them, and
    each slot is spelled as the JSON encoder spells it (``int.__repr__``,
    ``float.__repr__``). A value written differently (a container, a big int, a zero or an
    infinite float inside an ``Encoded``, NaN...) is handed to one :class:`_Flattener`
    that shares the same memos, so it lands in the same slots as in the general writer.
    """
    texts: list[str] = []  # JSON of the slots after the root, in order (one or several each)
    count = 1  # slots so far, the root included
    refs: list[str] = []  # the Map's "key,object" index pairs
    shared: dict[str | bool | None, int] = {}  # as _Flattener.plain, .ints and .floats
    ints: dict[int, int] = {}
    floats: dict[float, int] = {}
    general: _Flattener | None = None
    ref: int | None
    for key, entry in entries.items():
        key_ref = shared.get(key)
        if key_ref is None:
            if _class_of(key) is not str:
                return None
            texts.append(_quote(key))
            key_ref = shared[key] = count
            count += 1
        wrapper_ref = count
        count += 1
        wrapper_at = len(texts)
        texts.append("")  # the {data, expires} object, written below
        data = entry.stored
        kind = _class_of(data)
        if kind is Encoded:
            if data.index < 0:
                data = _SPECIALS.get(data.index, _MISSING)
            else:
                data = data.slots[data.index]
                kind = _class_of(data)
                if (kind is float and (data == 0.0 or not math.isfinite(data))) or (
                    kind is int and not -_MAX_SAFE_INTEGER <= data <= _MAX_SAFE_INTEGER
                ):
                    data = _MISSING  # copy() keeps these in a slot of their own, unshared
            kind = _class_of(data)
        ref = None
        if kind is str:
            ref = shared.get(data)
            if ref is None:
                texts.append(_quote(data))
                ref = shared[data] = count
                count += 1
        elif kind is int:
            ref = ints.get(data)
            if ref is None and -_MAX_SAFE_INTEGER <= data <= _MAX_SAFE_INTEGER:
                texts.append(int.__repr__(data))
                ref = ints[data] = count
                count += 1
        elif kind is bool or data is None:
            ref = shared.get(data)
            if ref is None:
                texts.append("null" if data is None else "true" if data else "false")
                ref = shared[data] = count
                count += 1
        elif kind is float:
            # NaN, the infinities and -0.0 have indices of their own: the general writer's
            if math.isfinite(data) and (data != 0.0 or math.copysign(1.0, data) > 0.0):
                ref = floats.get(data)
                if ref is None:
                    texts.append(float.__repr__(data))
                    ref = floats[data] = count
                    count += 1
        elif data is UNDEFINED:
            ref = _UNDEFINED
        if ref is None:
            general = general or _sharing(_Flattener(max_depth), shared, ints, floats)
            ref, count = _flatten_into(general, entry.stored, count, texts)
        expires = entry.expires_ms
        if expires is None:
            texts[wrapper_at] = f'{{"data":{ref}}}'
            refs.append(f"{key_ref},{wrapper_ref}")
            continue
        expires_ref = ints.get(expires) if _class_of(expires) is int else None
        if expires_ref is None:
            if _class_of(expires) is int and -_MAX_SAFE_INTEGER <= expires <= _MAX_SAFE_INTEGER:
                texts.append(int.__repr__(expires))
                expires_ref = ints[expires] = count
                count += 1
            else:
                general = general or _sharing(_Flattener(max_depth), shared, ints, floats)
                expires_ref, count = _flatten_into(general, expires, count, texts)
        texts[wrapper_at] = f'{{"data":{ref},"expires":{expires_ref}}}'
        refs.append(f"{key_ref},{wrapper_ref}")
    if not refs:
        return '[["Map"]]'
    return f'[["Map",{",".join(refs)}],{",".join(texts)}]'


def _sharing(
    general: _Flattener,
    shared: dict[str | bool | None, int],
    ints: dict[int, int],
    floats: dict[float, int],
) -> _Flattener:
    """``general``, sharing primitives through the memos of the text writer."""
    general.plain, general.ints, general.floats = shared, ints, floats
    return general


def _flatten_into(general: _Flattener, value: Any, count: int, texts: list[str]) -> tuple[int, int]:
    """Write ``value`` with the general writer as the next slots of a record of ``count``
    slots whose JSON is ``texts``: its index, and the new count of slots."""
    slots = general.slots
    slots += [None] * (count - len(slots))  # stand-ins for the slots written as text
    index = _encoding(general.flatten, value, 3)
    if len(slots) > count:
        texts.append(_encode_slots(slots[count:])[1:-1])
        count = len(slots)
    return index, count


class EncodedTooLongError(SessionTooLargeError, SessionSerializationError):
    """:func:`stringify`'s result is over ``max_length`` characters.

    Both a :class:`SessionSerializationError` (the codec refused to encode) and a
    :class:`SessionTooLargeError` (the value is too large to store), so code that stores
    sessions catches one error whichever limit, the codec's or the store's, came first.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("session codec", size, limit, unit="characters")
        self.args = (
            f"the encoded value is {size} characters long, over the limit of {limit}; store "
            "less in the session (keep large data elsewhere and put its key in the session)",
        )


class _Flattener:
    """One encoding: the slots written so far, and the memos that share values between them.

    A class rather than closures inside :func:`stringify`: making two closures over this
    much state cost more, per call, than encoding a small session.
    """

    __slots__ = (
        "by_id",
        "copied",
        "floats",
        "ints",
        "keep_alive",
        "max_depth",
        "plain",
        "slots",
    )

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.slots: list[Any] = []
        self.by_id: dict[int, int] = {}
        # Encoded values: id(their slot list) -> {their index: our index}, made on first use.
        self.copied: dict[int, dict[int, int]] | None = None
        # Primitives are shared by value. ints and floats have memos of their own because
        # True == 1 == 1.0 in Python, while str, bool and None never equal one another.
        self.plain: dict[str | bool | None, int] = {}
        self.ints: dict[int, int] = {}
        self.floats: dict[float, int] = {}
        self.keep_alive: list[object] = []

    # Slot indices are handed out in depth-first pre-order, exactly as devalue does, so
    # the output is byte-for-byte devalue's.
    def flatten(self, thing: Any, depth: int) -> int:
        kind = _class_of(thing)
        slots = self.slots
        if kind is str or kind is bool or thing is None:
            plain = self.plain
            index = plain.get(thing)
            if index is None:
                index = plain[thing] = len(slots)
                slots.append(thing)
            return index
        if kind is int:
            ints = self.ints
            index = ints.get(thing)
            if index is None:
                index = ints[thing] = len(slots)
                if -_MAX_SAFE_INTEGER <= thing <= _MAX_SAFE_INTEGER:
                    slots.append(thing)
                else:
                    slots.append(["BigInt", _bigint_digits(thing)])
            return index
        if kind is float:
            if not math.isfinite(thing):
                if thing != thing:
                    return _NAN
                return _POSITIVE_INFINITY if thing > 0 else _NEGATIVE_INFINITY
            if thing == 0.0 and math.copysign(1.0, thing) < 0.0:
                return _NEGATIVE_ZERO
            floats = self.floats
            index = floats.get(thing)
            if index is None:
                index = floats[thing] = len(slots)
                slots.append(thing)
            return index

        if thing is UNDEFINED:
            return _UNDEFINED
        if kind is Encoded:
            return self.copy(thing.slots, thing.index, depth)
        if kind is JSOpaque:
            return self.copy(thing.encoded.slots, thing.encoded.index, depth)

        by_id = self.by_id
        index = by_id.get(id(thing))
        if index is not None:
            return index
        if depth > self.max_depth:
            raise SessionSerializationError(
                f"cannot store a value nested more than {self.max_depth} containers deep"
            )
        index = by_id[id(thing)] = len(slots)
        slots.append(None)
        inner = depth + 1
        flatten = self.flatten
        plain = self.plain
        try:
            if kind is dict:
                for key in thing:
                    if type(key) is not str:
                        slots[index] = self.encode_map(thing, inner)
                        break
                else:
                    if "__proto__" in thing:
                        # devalue refuses it (prototype pollution), and Astro could not read it.
                        raise _Unsupported(thing, "a dict with a '__proto__' key (use a JSMap)")
                    # Loops rather than comprehensions here: a comprehension is a function
                    # made and called per container, more than most sessions' dicts hold.
                    encoded: dict[str, int] = {}
                    for key, item in thing.items():
                        if type(item) is str:
                            position = plain.get(item)
                            if position is None:
                                position = plain[item] = len(slots)
                                slots.append(item)
                            encoded[key] = position
                        else:
                            encoded[key] = flatten(item, inner)
                    slots[index] = encoded
            elif kind is JSMap:
                slots[index] = self.encode_map(thing, inner)
            elif kind is list or kind is tuple:
                indices: list[int] = []
                append = indices.append
                for item in thing:
                    if type(item) is str:
                        position = plain.get(item)
                        if position is None:
                            position = plain[item] = len(slots)
                            slots.append(item)
                        append(position)
                    else:
                        append(flatten(item, inner))
                slots[index] = indices
            elif kind is set or kind is frozenset:
                slots[index] = ["Set", *[flatten(item, inner) for item in thing]]
            elif kind is datetime:
                slots[index] = ["Date", _iso_date(thing)]
            elif kind is URL:
                # Astro registers URL as a custom devalue type, which writes the href as
                # a slot of its own: ["URL", i]. Astro reads only this form back.
                slots[index] = ["URL", flatten(thing.href, inner)]
            elif kind is bytes or kind is bytearray:
                slots[index] = ["Uint8Array", len(slots)]
                slots.append(["ArrayBuffer", binascii.b2a_base64(thing, newline=False).decode()])
            elif kind is JSBigInt:
                slots[index] = ["BigInt", _bigint_digits(int(thing))]
            elif kind is JSRegExp:
                slots[index] = ["RegExp", thing.source, thing.flags]
                if not thing.flags:
                    slots[index].pop()
            else:
                # A subclass of a supported type is stored as its base type, as json does.
                # The converted copy is kept alive: the memo is keyed by id().
                base = _as_base_type(thing)
                self.keep_alive.append(base)
                del by_id[id(thing)]
                slots.pop()
                index = flatten(base, depth)
                by_id[id(thing)] = index
        except _Unsupported as exc:
            if exc.chain[-1] is not thing:
                exc.chain.append(thing)
            raise
        return index

    def copy(self, source: list[Any], index: int, depth: int) -> int:
        """Write the value at ``source[index]`` (slots of an :class:`Encoded`) as it is.

        The same slots, in the same pre-order, as :meth:`flatten` writes for the decoded
        value, and sharing primitives with the rest of the output in the same way; what
        Python cannot hold (a boxed primitive, a Set's order, a JS double past 2**53) is
        kept exactly, since the value is never decoded.
        """
        if index < 0:
            return index  # undefined, NaN, -0, a hole...: the same everywhere
        copied = self.copied
        if copied is None:
            copied = self.copied = {}
        memo = copied.get(id(source))
        if memo is None:
            memo = copied[id(source)] = {}
            self.keep_alive.append(source)
        return self._copy(source, memo, index, depth)

    def _copy(self, source: list[Any], memo: dict[int, int], index: int, depth: int) -> int:
        if index < 0:
            return index
        found = memo.get(index)
        if found is not None:
            return found
        raw = source[index]
        kind = _class_of(raw)
        slots = self.slots
        if kind is str or kind is bool or raw is None:
            position = self.plain.get(raw)
            if position is None:
                position = self.plain[raw] = len(slots)
                slots.append(raw)
            memo[index] = position
            return position
        if kind is int and -_MAX_SAFE_INTEGER <= raw <= _MAX_SAFE_INTEGER:
            position = self.ints.get(raw)
            if position is None:
                position = self.ints[raw] = len(slots)
                slots.append(raw)
            memo[index] = position
            return position
        if kind is float and raw != 0.0:
            position = self.floats.get(raw)
            if position is None:
                position = self.floats[raw] = len(slots)
                slots.append(raw)
            memo[index] = position
            return position
        if kind is int or kind is float:
            # A JS double past 2**53 written as digits, or a zero: never shared by value,
            # as a Python int or -0.0 of the same value means something else.
            position = memo[index] = len(slots)
            slots.append(raw)
            return position
        if depth > self.max_depth:
            raise SessionSerializationError(
                f"cannot store a value nested more than {self.max_depth} containers deep"
            )
        position = memo[index] = len(slots)
        slots.append(None)
        inner = depth + 1
        copy = self._copy
        plain = self.plain
        if kind is dict:
            # As in flatten(): a str child is the common case, handled without a call.
            rebuilt: dict[str, int] = {}
            for key, ref in raw.items():
                child = source[ref] if ref >= 0 else None
                if type(child) is str:
                    at = plain.get(child)
                    if at is None:
                        at = plain[child] = len(slots)
                        slots.append(child)
                    memo[ref] = rebuilt[key] = at
                else:
                    rebuilt[key] = copy(source, memo, ref, inner)
            slots[position] = rebuilt
            return position
        if not raw:
            slots[position] = []
            return position
        head = raw[0]
        if type(head) is not str:
            if head == _SPARSE and type(head) is int:
                sparse = raw[:2]
                for at, ref in zip(raw[2::2], raw[3::2], strict=True):
                    sparse += (at, copy(source, memo, ref, inner))
                slots[position] = sparse
            else:
                slots[position] = [copy(source, memo, ref, inner) for ref in raw]
            return position
        if head in ("Map", "Set"):
            slots[position] = [head, *[copy(source, memo, ref, inner) for ref in raw[1:]]]
        elif head in ("Date", "BigInt", "RegExp", "ArrayBuffer"):
            slots[position] = list(raw)  # text only, no references
        elif head == "URL" or head == "Object":
            # ["URL", href] (an older form) holds its text; ["URL", i] and ["Object", i] a slot
            ref = raw[1]
            slots[position] = [
                head,
                copy(source, memo, ref, inner) if type(ref) is int else ref,
            ]
        elif head == "Uint8Array" or head in _BUFFER_VIEW_TAGS:  # (a JSOpaque's, for the others)
            # its buffer, and the byte offset and length of a view on part of it
            slots[position] = [head, copy(source, memo, raw[1], inner), *raw[2:]]
        elif head in _OPAQUE_TAGS:  # a JSOpaque's text (URLSearchParams, Temporal)
            slots[position] = list(raw)
        elif head == "null":
            pairs: list[Any] = [head]
            for key, ref in zip(raw[1::2], raw[2::2], strict=True):
                pairs += (key, copy(source, memo, ref, inner))
            slots[position] = pairs
        else:  # parse() refused it, so an Encoded never holds it
            raise SessionSerializationError(f"cannot copy an encoded value tagged {head!r}")
        return position

    def encode_map(self, mapping: dict[Any, Any], depth: int) -> list[Any]:
        entries: list[Any] = ["Map"]
        append = entries.append
        flatten = self.flatten
        for key, item in mapping.items():
            append(flatten(key, depth))
            append(flatten(item, depth))
        return entries


def _bigint_digits(number: int) -> str:
    try:
        return str(number)
    except ValueError:  # more digits than int_max_str_digits allows
        raise _Unsupported(number, "an int with too many digits") from None


def _is_array(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, list | tuple)


def _is_set(value: object) -> TypeGuard[set[object] | frozenset[object]]:
    return isinstance(value, set | frozenset)


def _as_base_type(thing: object) -> object:
    """The plain value a subclass of a supported type is stored as (an IntEnum as its int...)."""
    if isinstance(thing, bool):
        return bool(thing)
    if isinstance(thing, str):
        return str.__str__(thing)
    if isinstance(thing, int):
        return int.__index__(thing)
    if isinstance(thing, float):
        return float.__float__(thing)
    if isinstance(thing, JSMap):
        return JSMap(thing)
    if is_dict(thing):
        return dict(thing)
    if _is_array(thing):
        return list(thing)
    if _is_set(thing):
        return set(thing)
    if isinstance(thing, datetime):
        return datetime(
            thing.year, thing.month, thing.day, thing.hour, thing.minute, thing.second,
            thing.microsecond, tzinfo=thing.tzinfo, fold=thing.fold,
        )  # fmt: skip
    if isinstance(thing, bytes | bytearray):
        return bytes(thing)
    if isinstance(thing, URL):
        return URL(thing.href)
    raise _Unsupported(thing)


# ---------------------------------------------------------------------------- decoding


def _reject_constant(name: str) -> NoReturn:
    # json accepts NaN and Infinity literals; JSON.parse (and so devalue) does not.
    raise ValueError(f"{name} is not JSON")


_json_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_decode_json = _json_decoder.decode
# The scanner JSONDecoder.__init__ sets up (typeshed does not declare the attribute).
_scan_json: Callable[[str, int], tuple[Any, int]] = _json_decoder.scan_once  # type: ignore[attr-defined]


def _load_json(text: str) -> Any:
    """``_decode_json(text)``, without its whitespace regexes when there is no whitespace.

    ``decode`` skips whitespace around the document and then calls ``scan_once``; stored
    data has none, so scan first, and leave anything else (whitespace, trailing data, no
    value at all) to ``decode``, which reads it and words its errors as always.
    """
    try:
        values, end = _scan_json(text, 0)
    except StopIteration:
        return _decode_json(text)
    if end != len(text):
        return _decode_json(text)
    return values


_SPECIALS: Final[dict[int, Any]] = {
    _UNDEFINED: UNDEFINED,
    _NAN: math.nan,
    _POSITIVE_INFINITY: math.inf,
    _NEGATIVE_INFINITY: -math.inf,
    _NEGATIVE_ZERO: -0.0,
}
_MISSING: Final[Any] = object()
# The JSON values that decode as themselves (an int only within _MAX_SAFE_INTEGER).
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})

# What Date.toISOString writes (a year beyond 0..9999 gets a sign and six digits, which
# Python's datetime cannot hold). More fraction digits than three are Python's own.
_ISO_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z"
)
_EXTENDED_YEAR_DATE = re.compile(r"[+-][0-9]{6}-")
_BIGINT = re.compile(r"-?[0-9]+")
_BASE64_OF_BYTES = re.compile(r"[A-Za-z0-9+/]*={0,2}")

# Types devalue knows that have no Python counterpart here: read as JSOpaque. The views
# hold [tag, buffer slot] or [tag, buffer slot, byte offset, length]; the others a string.
_BUFFER_VIEW_TAGS: Final = frozenset(
    {
        "Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Float16Array",
        "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
        "BigUint64Array", "DataView",
    }
)  # fmt: skip
_OPAQUE_TAGS: Final = _BUFFER_VIEW_TAGS | frozenset(
    {
        "URLSearchParams", "Temporal.Duration", "Temporal.Instant", "Temporal.PlainDate",
        "Temporal.PlainTime", "Temporal.PlainDateTime", "Temporal.PlainMonthDay",
        "Temporal.PlainYearMonth", "Temporal.ZonedDateTime",
    }
)  # fmt: skip


class _Malformed(Exception):
    """Raised inside :func:`parse`; becomes a SessionSerializationError with the slot index."""


def _fail(message: str) -> NoReturn:
    raise _Malformed(message)


def _parse_date(text: object) -> datetime:
    if type(text) is not str:
        _fail("a Date must hold a string")
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        if text == "":
            _fail("an invalid JS Date (new Date(NaN)) has no Python equivalent")
        if _EXTENDED_YEAR_DATE.match(text):
            _fail(f"the Date {text!r} is outside the years Python can hold (1..9999)")
        _fail(f"a Date must be an ISO 8601 UTC string, not {reprlib.repr(text)}")
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError as exc:
        _fail(f"the Date {text!r} is not a valid Python datetime ({exc})")


def _parse_base64(text: object) -> bytes:
    if type(text) is not str or not _BASE64_OF_BYTES.fullmatch(text):
        _fail("an ArrayBuffer must hold a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        _fail(f"an ArrayBuffer holds bad base64 ({exc})")


def _int_from_json(number: int) -> int | float:
    if -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER:
        return number
    # JS wrote a double that happens to be integral (1e20 prints as 100000000000000000000);
    # Python ints this large are always written as BigInt.
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def parse(text: str, *, max_depth: int = MAX_DEPTH, max_length: int = MAX_INPUT_CHARS) -> Any:
    """Decode a devalue string (written by :func:`stringify`, devalue or Astro) into Python values.

    Raises :class:`SessionSerializationError` for anything that is not valid devalue
    data, or that holds a JS type with no Python equivalent, or is longer than
    ``max_length`` characters, or nests more than ``max_depth`` containers deep.
    """
    return _parse(text, max_depth, max_length)[0]


def _parse(text: str, max_depth: int, max_length: int) -> tuple[Any, list[Any] | None]:
    """The decoded value and the JSON slots it came from (None for a bare special)."""
    return _revive(_load_slots(text, max_length), len(text), max_depth, max_length)


def _load_slots(text: str, max_length: int) -> Any:
    """The JSON of a devalue string (a list of slots, or a bare special index), checked."""
    if not is_text(text):
        raise SessionSerializationError(f"devalue data must be a str, not {type(text).__name__}")
    if len(text) > max_length:
        raise SessionSerializationError(
            f"devalue data of {len(text)} characters is over the limit of {max_length}"
        )
    try:
        return _load_json(text)
    except RecursionError:
        raise SessionSerializationError("not devalue data: the JSON nests too deeply") from None
    except ValueError as exc:
        raise SessionSerializationError(f"not devalue data: invalid JSON ({exc})") from None


def _revive(
    values: Any, chars: int, max_depth: int, max_length: int
) -> tuple[Any, list[Any] | None]:
    """What _parse() returns, from the JSON of a string of ``chars`` characters."""
    if type(values) is int:
        special = _SPECIALS.get(values, _MISSING)
        if special is _MISSING:
            raise SessionSerializationError(f"not devalue data: a bare number {values}")
        return special, None
    if _class_of(values) is not list or not values:
        raise SessionSerializationError("not devalue data: expected a non-empty JSON array")
    try:
        return _Reviver(values, max_depth, max_length, chars).value(0, 1), values
    except _Malformed as exc:
        raise SessionSerializationError(f"cannot decode the devalue data: {exc}") from None
    except RecursionError:
        raise SessionSerializationError(
            "cannot decode the devalue data: it nests too deeply for the Python stack"
        ) from None
    except Exception as exc:  # never let a surprise escape as anything else
        raise SessionSerializationError(
            f"cannot decode the devalue data ({type(exc).__name__}: {exc})"
        ) from None


def parse_record(
    text: str, *, max_depth: int = MAX_DEPTH, max_length: int = MAX_INPUT_CHARS
) -> tuple[Any, dict[str, Encoded]]:
    """:func:`parse`, and the stored form of each entry of a session record.

    A session record is a Map (or a plain object) from str keys to plain objects that
    hold ``data`` (DESIGN: ``{data, expires}``). For such a value, the second item maps
    each key to its ``data`` as an :class:`Encoded` into the parsed slots, so that an
    entry nobody changed is written back by copying, not by encoding its value again.
    For any other value it is empty. Raises as :func:`parse` does.
    """
    loaded = _load_slots(text, max_length)
    if _class_of(loaded) is list and loaded:
        simple = _scalar_entries(loaded, _MISSING)
        if simple is not None:
            value = JSMap()
            encoded: dict[str, Encoded] = {}
            for key, data, stored, expires in simple:
                assert stored is not None  # the fast path keeps every entry's slots
                value[key] = (
                    {"data": data} if expires is _MISSING else {"data": data, "expires": expires}
                )
                encoded[key] = stored
            return value, encoded
    return _general_record(loaded, len(text), max_depth, max_length)


#: One entry of a session record, as :func:`parse_record_entries` gives it: the key, its
#: ``data`` decoded, the stored form of ``data`` (None when the record has none to copy),
#: and its ``expires`` (None when the entry has none).
RecordEntry = tuple[str, Any, "Encoded | None", Any]


def parse_record_entries(
    text: str, *, max_depth: int = MAX_DEPTH, max_length: int = MAX_INPUT_CHARS
) -> list[RecordEntry] | None:
    """The entries of a session record (see :func:`parse_record`), or None when ``text``
    is devalue data but not a session record. Raises as :func:`parse` does.

    What a session store reads on every request: a record whose values are all JSON
    scalars is read straight from its slots into the entries, with no intermediate map.
    """
    loaded = _load_slots(text, max_length)
    if _class_of(loaded) is list and loaded:
        simple = _scalar_entries(loaded, None)
        if simple is not None:
            return simple
    value, encoded = _general_record(loaded, len(text), max_depth, max_length)
    if not is_dict(value):
        return None
    entries: list[RecordEntry] = []
    for key, entry in value.items():
        if type(key) is not str or not is_dict(entry) or "data" not in entry:
            return None
        entries.append((key, entry["data"], encoded.get(key), entry.get("expires")))
    return entries


def parse_entries(
    text: str,
    entry: Callable[[Any, Encoded | None, int | None], T],
    *,
    max_depth: int = MAX_DEPTH,
    max_length: int = MAX_INPUT_CHARS,
) -> dict[str, T] | None:
    """The entries of a session record, each made by ``entry(data, stored, expires_ms)``,
    or None when ``text`` is devalue data but not a session record. Raises as
    :func:`parse` does.

    ``data`` is the entry's value, ``stored`` its :class:`Encoded` form in the parsed
    slots (None for a plain value, which is its own stored form) and ``expires_ms`` its
    expiry in epoch milliseconds (None when it has none, or ``undefined``, as Astro
    writes a key without TTL). An expiry that is not a finite number makes the record
    not a session record. What a session store reads on every request: a record whose
    keys are strings and whose expiries are ints is read in one pass over its slots; a
    value that is not a JSON scalar is revived alone by the general decoder.
    """
    loaded: Any = _MISSING
    if _class_of(text) is str and len(text) <= max_length:
        if text.startswith(_ONE_ENTRY_START) and max_depth >= 2:
            # the usual session of one key, as stringify_entries writes it: one regex, no scan
            match = _ONE_ENTRY.fullmatch(text)
            if match is not None:
                key, expiring, number, string, word, expires_text = match.groups()
                if (expiring is None) is (expires_text is None):  # ("expires" <-> slot 4)
                    if number is not None:
                        data: Any = int(number)
                    elif string is not None:
                        data = string
                    else:
                        data = _WORDS[word]
                    expires_ms = None if expires_text is None else int(expires_text)
                    if (number is None or -_MAX_SAFE_INTEGER <= data <= _MAX_SAFE_INTEGER) and (
                        expires_ms is None or -_MAX_SAFE_INTEGER <= expires_ms <= _MAX_SAFE_INTEGER
                    ):
                        return {key: entry(data, None, expires_ms)}
        try:
            scanned, end = _scan_json(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass  # _load_slots below reads it again, and words the error
        else:
            if end == len(text):
                if _class_of(scanned) is list and scanned and max_depth >= 2:
                    found = _entries_in_one_pass(scanned, entry, len(text), max_depth, max_length)
                    if found is not None:
                        return found
                loaded = scanned
    if loaded is _MISSING:
        loaded = _load_slots(text, max_length)
    value, encoded = _general_record(loaded, len(text), max_depth, max_length)
    if not is_dict(value):
        return None
    entries: dict[str, T] = {}
    for key, item in value.items():
        if type(key) is not str or not is_dict(item) or "data" not in item:
            return None
        expires = item.get("expires")
        if expires is None or expires is UNDEFINED:
            expires_ms = None
        elif isinstance(expires, int | float) and not isinstance(expires, bool):
            if isinstance(expires, float) and not math.isfinite(expires):
                return None  # NaN or an infinity: no moment at all
            expires_ms = int(expires)
        else:
            return None
        entries[key] = entry(item["data"], encoded.get(key), expires_ms)
    return entries


# A record of one entry whose key and value share no slot, as stringify_entries writes it:
# the key and a str value are JSON strings with nothing to unescape (no quote, backslash or
# control character), the value may also be an int or a JSON word, the expiry an int. A
# record that does not match (escapes, a float, shared slots...) is read by the scanner.
_ONE_ENTRY_START: Final = '[["Map",1,2],"'
_INTEGER = r"-?(?:0|[1-9][0-9]{0,15})"
_ONE_ENTRY: Final = re.compile(
    r'\[\["Map",1,2\],"([^"\\\x00-\x1f]*)",\{"data":3(,"expires":4)?\},'
    rf'(?:({_INTEGER})|"([^"\\\x00-\x1f]*)"|(true|false|null))(?:,({_INTEGER}))?\]'
)
_WORDS: Final = {"true": True, "false": False, "null": None}


def _entries_in_one_pass(
    slots: list[Any],
    entry: Callable[[Any, Encoded | None, int | None], T],
    chars: int,
    max_depth: int,
    max_length: int,
) -> dict[str, T] | None:
    """:func:`parse_entries` of a record with str keys and int expiries, read straight from
    its slots of ``chars`` characters: a JSON scalar is its own value and stored form, any
    other value is revived alone, at the depth where the general decoder meets it, by one
    :class:`_Reviver` (so values shared between entries stay shared; a value that refers
    back to the record gets the reviver's own copy of it, alike). None for anything else,
    or for a value the reviver refuses: the general decoder then reads, or refuses, the
    whole record as always."""
    root = slots[0]
    if _class_of(root) is not list or len(root) % 2 != 1 or root[0] != "Map":
        return None
    entries: dict[str, T] = {}
    scalars = _SCALARS
    largest = _MAX_SAFE_INTEGER
    reviver: _Reviver | None = None
    # A reference that is not an int fails on its own: a str, None, a list or a float
    # cannot index the slots or be compared with 0 (TypeError). Only a bool can, so
    # `true` is refused by name; `false` reaches the root, which is no key and no object.
    try:
        for position in range(1, len(root), 2):
            key_ref = root[position]
            wrapper_ref = root[position + 1]
            if key_ref < 0 or wrapper_ref < 0 or key_ref is True or wrapper_ref is True:
                return None
            key = slots[key_ref]
            wrapper = slots[wrapper_ref]
            if _class_of(key) is not str or _class_of(wrapper) is not dict:
                return None
            data_ref = wrapper["data"]
            if len(wrapper) == 1:
                expires = None
            else:
                expires_ref = wrapper["expires"]
                if len(wrapper) != 2 or expires_ref is True:
                    return None
                if expires_ref >= 0:  # (a float cannot index the slots either)
                    expires = slots[expires_ref]
                    if _class_of(expires) is not int or not -largest <= expires <= largest:
                        return None
                elif expires_ref == _UNDEFINED and _class_of(expires_ref) is int:
                    expires = None  # as Astro writes a key without TTL
                else:
                    return None
            if _class_of(data_ref) is not int:
                return None
            stored = None
            if data_ref >= 0:
                data = slots[data_ref]
                kind = _class_of(data)
                if kind is not str and (
                    kind not in scalars or (kind is int and not -largest <= data <= largest)
                ):
                    # a container, or a JS double past 2**53 (not a Python int)
                    if reviver is None:
                        reviver = _Reviver(slots, max_depth, max_length, chars)
                    data = reviver.value(data_ref, 3)  # the Map is 1 deep, each {data} 2
                    stored = Encoded(slots, data_ref)
            else:
                data = _SPECIALS.get(data_ref, _MISSING)
                if data is _MISSING:
                    return None
            entries[key] = entry(data, stored, expires)
    except Exception:  # (a bad reference, a value the reviver refuses)
        return None
    return entries


def _general_record(
    loaded: Any, chars: int, max_depth: int, max_length: int
) -> tuple[Any, dict[str, Encoded]]:
    """What parse_record() returns, by the general decoder, from the JSON of a string of
    ``chars`` characters."""
    value, slots = _revive(loaded, chars, max_depth, max_length)
    if not is_dict(value) or not value or slots is None:
        return value, {}
    root = slots[0]
    if _class_of(root) is list and root and root[0] == "Map":
        pairs: Any = zip(root[1::2], root[2::2], strict=False)
    elif _class_of(root) is dict:
        pairs = ((key, ref) for key, ref in root.items())
    else:
        return value, {}
    entries: dict[str, Encoded] = {}
    for key_ref, wrapper_ref in pairs:
        if _class_of(root) is dict:
            key = key_ref
        else:  # a Map: a reference, or a special index (NaN, Infinity...) for a key
            key = slots[key_ref] if type(key_ref) is int and key_ref >= 0 else _MISSING
        wrapper = slots[wrapper_ref] if type(wrapper_ref) is int and wrapper_ref >= 0 else _MISSING
        if type(key) is str and _class_of(wrapper) is dict and type(wrapper.get("data")) is int:
            entries[key] = Encoded(slots, wrapper["data"])
    return value, entries


def _scalar_entries(slots: list[Any], absent: Any) -> list[RecordEntry] | None:
    """The entries of a session record whose values are all JSON scalars, read straight
    from its slots (``absent`` stands for a missing ``expires``). None for any other value
    (which the general decoder then reads, or refuses, as always)."""
    root = slots[0]
    if _class_of(root) is not list or len(root) % 2 != 1 or root[0] != "Map":
        return None
    count = len(slots)
    entries: list[RecordEntry] = []
    for position in range(1, len(root), 2):
        key_ref = root[position]
        wrapper_ref = root[position + 1]
        if type(key_ref) is not int or type(wrapper_ref) is not int:
            return None
        if not (0 <= key_ref < count and 0 <= wrapper_ref < count):
            return None
        key = slots[key_ref]
        wrapper = slots[wrapper_ref]
        if type(key) is not str or _class_of(wrapper) is not dict or "data" not in wrapper:
            return None
        data: Any = _MISSING
        expires: Any = absent
        for field, ref in wrapper.items():
            if type(ref) is not int:
                return None
            if ref < 0:
                raw = _SPECIALS.get(ref, _MISSING)
                if raw is _MISSING:
                    return None
            elif ref >= count:
                return None
            else:
                raw = slots[ref]
                kind = _class_of(raw)
                if kind not in _SCALARS or (
                    kind is int and not -_MAX_SAFE_INTEGER <= raw <= _MAX_SAFE_INTEGER
                ):
                    return None
            if field == "data":
                data = raw
            elif field == "expires":
                expires = raw
            else:
                return None
        entries.append((key, data, Encoded(slots, wrapper["data"]), expires))
    return entries


class _Reviver:
    """One decoding: the slots, and what each slot has become so far."""

    __slots__ = (
        "done",
        "freezing",
        "frozen_done",
        "frozen_sizes",
        "key_budget",
        "max_depth",
        "max_length",
        "sparse_budget",
        "values",
    )

    def __init__(self, values: list[Any], max_depth: int, max_length: int, chars: int) -> None:
        self.values = values
        self.max_depth = max_depth
        self.max_length = max_length
        self.done: list[Any] = [_MISSING] * len(values)
        # Only Map keys and Set members that are arrays or Sets need these: made on first use.
        self.frozen_done: dict[int, Any] | None = None
        self.frozen_sizes: dict[int, int] | None = None
        self.freezing: set[int] | None = None
        self.sparse_budget = SPARSE_SLOTS_PER_CHAR * chars + _ALLOWANCE
        self.key_budget = KEY_ELEMENTS_PER_CHAR * chars + _ALLOWANCE

    def slot(self, index: object) -> Any:
        if type(index) is not int or not 0 <= index < len(self.values):
            _fail(f"index {reprlib.repr(index)} does not name a slot")
        return self.values[index]

    def value(self, index: object, depth: int) -> Any:
        if type(index) is not int:
            _fail(f"an index must be an integer, not {reprlib.repr(index)}")
        if index < 0:
            special = _SPECIALS.get(index, _MISSING)
            if special is _MISSING:
                _fail(f"index {index} is not a value")
            return special
        done = self.done
        try:
            result = done[index]
        except IndexError:
            _fail(f"index {index} is past the last slot")
        if result is not _MISSING:
            return result
        raw = self.values[index]
        kind = _class_of(raw)
        if kind is not dict and kind is not list:  # a JSON scalar: it stands for itself
            result = done[index] = _int_from_json(raw) if kind is int else raw
            return result
        if depth > self.max_depth:
            _fail(f"it nests more than {self.max_depth} containers deep")
        inner = depth + 1
        value = self.value
        # The loops below take a child that is a plain JSON scalar straight from its slot,
        # which is what value() would return for it, to spare a call per child.
        values = self.values
        size = len(values)
        if kind is dict:
            if "__proto__" in raw:
                _fail("an object has a '__proto__' key")
            obj: dict[str, Any] = {}
            done[index] = obj  # before the children, so that a cycle finds it
            for key, ref in raw.items():
                child = values[ref] if type(ref) is int and 0 <= ref < size else _MISSING
                obj[key] = (
                    child
                    if (child_kind := _class_of(child)) in _SCALARS
                    and (child_kind is not int or -_MAX_SAFE_INTEGER <= child <= _MAX_SAFE_INTEGER)
                    else value(ref, inner)
                )
            return obj
        if not raw:
            empty: list[Any] = []
            done[index] = empty
            return empty
        head = raw[0]
        if type(head) is str:
            return self.tagged(index, raw, head, inner)
        array: list[Any]
        if head == _SPARSE and type(head) is int:
            array = self.sparse_array(raw)
            done[index] = array
            for position, ref in zip(raw[2::2], raw[3::2], strict=True):
                array[position] = value(ref, inner)
            return array
        array = []
        done[index] = array
        append = array.append
        for ref in raw:
            if ref == _HOLE:
                append(UNDEFINED)  # what JS reads at a hole
                continue
            child = values[ref] if type(ref) is int and 0 <= ref < size else _MISSING
            append(
                child
                if (child_kind := _class_of(child)) in _SCALARS
                and (child_kind is not int or -_MAX_SAFE_INTEGER <= child <= _MAX_SAFE_INTEGER)
                else value(ref, inner)
            )
        return array

    def sparse_array(self, raw: list[Any]) -> list[Any]:
        """An empty ``[-7, length, index, ref, ...]`` array (all UNDEFINED), its indices checked."""
        length = raw[1] if len(raw) > 1 else None
        if type(length) is not int or not 0 <= length <= _MAX_ARRAY_LENGTH or len(raw) % 2:
            _fail("a sparse array needs a length and index/value pairs")
        if length > self.max_length:
            # A few characters can declare a vast length; bound what it allocates.
            _fail(f"a sparse array of length {length} is over the limit of {self.max_length}")
        self.sparse_budget -= length
        if self.sparse_budget < 0:
            _fail(
                "its sparse arrays declare more slots in total than "
                f"{SPARSE_SLOTS_PER_CHAR} per character of input"
            )
        for position in raw[2::2]:
            if type(position) is not int or not 0 <= position < length:
                _fail(f"a sparse array has a bad index {reprlib.repr(position)}")
        return [UNDEFINED] * length

    def tagged(self, index: int, raw: list[Any], tag: str, depth: int) -> Any:
        done = self.done
        size = len(raw)
        result: Any
        if tag == "Map":  # first: every stored session is one
            if size % 2 != 1:
                _fail("a Map needs key/value pairs")
            mapping = JSMap()
            done[index] = mapping
            hashable, value = self.hashable, self.value
            values = self.values
            slots = len(values)
            for position in range(1, size, 2):
                key_ref = raw[position]
                value_ref = raw[position + 1]
                # As in value(): a str key needs none of hashable()'s checks.
                key = values[key_ref] if type(key_ref) is int and 0 <= key_ref < slots else None
                if type(key) is not str:
                    key = hashable(key_ref, depth, charge=True)
                mapping[key] = value(value_ref, depth)
            return mapping
        if tag == "Date":
            if size != 2:
                _fail("a Date needs one string")
            result = done[index] = _parse_date(raw[1])
            return result
        if tag == "Set":
            members: set[Any] = set()
            done[index] = members
            hashable = self.hashable
            for ref in raw[1:]:
                members.add(hashable(ref, depth, charge=True))
            return members
        if tag == "BigInt":
            if size != 2 or type(raw[1]) is not str or not _BIGINT.fullmatch(raw[1]):
                _fail("a BigInt needs a string of decimal digits")
            try:
                number = int(raw[1])
            except ValueError:  # more digits than int_max_str_digits allows
                _fail(f"a BigInt of {len(raw[1])} digits is too long")
            # A plain int this small would go back as a JS number: keep it a BigInt.
            small = -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER
            result = done[index] = JSBigInt(number) if small else number
            return result
        if tag == "URL":
            if size != 2:
                _fail("a URL needs one href")
            href = raw[1]
            if type(href) is not str:
                # Astro's form: the href is a slot of its own.
                href = self.slot(href)
                if type(href) is not str:
                    _fail("a URL's href must be a string")
            try:
                result = done[index] = URL(href)
            except ValueError as exc:
                _fail(f"a URL is not valid ({exc})")
            return result
        if tag == "Uint8Array":
            if size not in (2, 4):
                _fail("a Uint8Array needs a buffer (and an offset and length)")
            buffer = self.array_buffer(raw[1])
            if size == 4:
                offset, length = raw[2], raw[3]
                if (
                    type(offset) is not int
                    or type(length) is not int
                    or offset < 0
                    or length < 0
                    or offset + length > len(buffer)
                ):
                    _fail("a Uint8Array's offset and length fall outside its buffer")
                buffer = buffer[offset : offset + length]
            done[index] = buffer
            return buffer
        if tag == "ArrayBuffer":
            result = done[index] = self.array_buffer(index)
            return result
        if tag == "null":
            # An object without a prototype: to Python, a dict like any other.
            if size % 2 != 1:
                _fail("a null-prototype object needs key/value pairs")
            obj: dict[str, Any] = {}
            done[index] = obj
            value = self.value
            for key, ref in zip(raw[1::2], raw[2::2], strict=True):
                if type(key) is not str or key == "__proto__":
                    _fail(f"a null-prototype object has a bad key {reprlib.repr(key)}")
                obj[key] = value(ref, depth)
            return obj
        if tag == "Object":
            # A boxed primitive (new String("x")): Python has only the primitive.
            wrapped = raw[1] if size == 2 else None
            if wrapped not in (_NAN, _POSITIVE_INFINITY, _NEGATIVE_INFINITY, _NEGATIVE_ZERO):
                inside = self.slot(wrapped)
                if not (
                    type(inside) in (str, int, float, bool)
                    or (type(inside) is list and inside[:1] == ["BigInt"])
                ):
                    _fail("a boxed value must wrap a primitive")
            result = done[index] = self.value(wrapped, depth)
            return result
        if tag == "RegExp":
            if size not in (2, 3) or any(type(part) is not str for part in raw[1:]):
                _fail("a RegExp needs a source and flags")
            result = done[index] = JSRegExp(*raw[1:])
            return result
        if tag in _OPAQUE_TAGS:
            if tag in _BUFFER_VIEW_TAGS:
                if size not in (2, 4) or any(type(part) is not int for part in raw[2:]):
                    _fail(f"a {tag} needs a buffer (and an offset and length)")
                self.array_buffer(raw[1])  # checked here, so that a copy never meets a bad one
            elif size != 2 or type(raw[1]) is not str:
                _fail(f"a {tag} needs one string")
            result = done[index] = JSOpaque(tag, Encoded(self.values, index))
            return result
        _fail(f"unknown type tag {reprlib.repr(tag)}")

    def array_buffer(self, ref: Any) -> bytes:
        raw = self.slot(ref)
        if _class_of(raw) is not list or len(raw) != 2 or raw[0] != "ArrayBuffer":
            _fail("a Uint8Array must point at an ArrayBuffer")
        result = _parse_base64(raw[1])
        self.done[ref] = result
        return result

    def hashable(self, ref: Any, depth: int, *, charge: bool = False) -> Any:
        """The value at ``ref`` fit to be a dict key or set member.

        An Array becomes a tuple and a Set a frozenset, as Python needs hashable keys.
        ``charge``: this is a key or member itself (not a part of one), so its unshared
        size counts against the key budget: what hashing and comparing it will cost.
        """
        if type(ref) is int and 0 <= ref < len(self.values):
            raw = self.values[ref]
            kind = _class_of(raw)
            if kind is list and (not raw or type(raw[0]) is not str or raw[0] == "Set"):
                result = self.frozen(ref, depth)
                if charge:
                    assert self.frozen_sizes is not None
                    self.charge_key(self.frozen_sizes[ref])
                return result
            if kind is dict or (kind is list and raw[0] in ("Map", "null")):
                _fail("an object or a Map cannot be a Python dict key or set member")
        return self.value(ref, depth)

    def charge_key(self, size: int) -> None:
        self.key_budget -= size
        if self.key_budget < 0:
            _fail(
                "its Map keys and Set members hold more elements in total, counting each "
                f"shared one every time it appears, than {KEY_ELEMENTS_PER_CHAR} per "
                "character of input"
            )

    def frozen(self, ref: int, depth: int) -> Any:
        if self.frozen_done is None or self.freezing is None or self.frozen_sizes is None:
            self.frozen_done = {}
            self.frozen_sizes = {}
            self.freezing = set()
        result = self.frozen_done.get(ref, _MISSING)
        if result is not _MISSING:
            return result
        if depth > self.max_depth:
            _fail(f"it nests more than {self.max_depth} containers deep")
        if ref in self.freezing:
            _fail("a Map key or Set member contains itself")
        self.freezing.add(ref)
        raw = self.values[ref]
        hashable = self.hashable
        inner = depth + 1
        children: list[Any]
        if raw and raw[0] == "Set":
            refs = raw[1:]
            children = [hashable(member, inner) for member in refs]
            result = frozenset(children)
        elif raw and raw[0] == _SPARSE and type(raw[0]) is int:
            children = self.sparse_array(raw)
            refs = raw[3::2]
            for position, item in zip(raw[2::2], refs, strict=True):
                children[position] = hashable(item, inner)
            result = tuple(children)
        else:
            refs = [item for item in raw if item != _HOLE]
            result = tuple([UNDEFINED if item == _HOLE else hashable(item, inner) for item in raw])
        # Its size unshared: one for itself and each hole, plus each child container's own.
        sizes = self.frozen_sizes
        size = 1 + len(result) - len(refs)
        for item in refs:
            size += sizes.get(item, 1) if type(item) is int else 1
        # Sizes double with each level of sharing: stop before the numbers grow large.
        if size > self.key_budget:
            self.charge_key(size)
        sizes[ref] = size
        self.freezing.discard(ref)
        self.frozen_done[ref] = result
        return result
