"""A store of one file per session on the local filesystem.

Layout under ``base`` (created with mode 0o700 on the first write)::

    base/
      3f/                                   fan-out folder: first 2 hex digits of the name
        .lock                               lock file of this folder (flock)
        3fa94c...e1.session                 one record (mode 0o600)
        .3fa94c...e1.session.8c1d....tmp    a write in progress (or left by a crash)

A record's file name is the SHA-256 hex digest of its session ID, so no part of a key
ever reaches a path, names have the same length whatever the ID, the 256 folders fill
evenly, and listing the folder does not reveal any live session ID.

A record file is one header line, a JSON object, then the payload as UTF-8::

    {"format":"hostsessions-fs/1","version":"<hex>","expires_at":1767225600.0,"length":1234}
    <1234 bytes of payload>

so a read knows the version and expiry without decoding the payload, and ``sweep``
reads only the header. ``length`` lets a truncated file be told from a whole one.

Writes go to a temporary file in the record's folder, are flushed and fsynced, then
renamed over the record with :func:`os.replace`, so a record is always either the old
one or the new one, never torn or empty. The version check and the rename of a
conditional write happen under an exclusive ``flock`` on the folder's ``.lock`` file,
which serialises writers across threads and processes (several server workers may share
``base``). The lock is held only for the check and the rename: the payload is written and
fsynced before it is taken. On Windows, ``msvcrt.locking`` takes the place of ``flock``
(best effort: untested there). ``base`` must be on a local filesystem: network
filesystems may not honour the lock.

A record file that cannot be read as a header plus a payload of the stated length is
treated as absent: a read removes it (under the lock) and logs a warning, and a write
with ``expected_version=None`` replaces it.

``sweep()`` (what ``hostsessions gc`` runs) removes expired and unreadable records and
temporary files older than :data:`STALE_TEMP_SECONDS`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import ClassVar, Final, NamedTuple

from ..errors import SessionTooLargeError
from .base import Record, WriteConflict

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "SESSION_KEY_PATTERN",
    "STALE_TEMP_SECONDS",
    "FsDriver",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE: Final = os.path.join(".hostsessions", "sessions")
#: The default largest payload, in UTF-8 bytes: 1 MiB. A session is read on every
#: request that touches it, so anything near this size belongs elsewhere.
DEFAULT_MAX_PAYLOAD_BYTES: Final = 1_048_576
#: A temporary file older than this (seconds) is a crash's leftover that ``sweep`` removes.
STALE_TEMP_SECONDS: Final = 600.0
#: What a key must look like to reach the filesystem: the session-ID alphabet.
SESSION_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,256}")

_FORMAT: Final = "hostsessions-fs/1"
_RECORD_SUFFIX: Final = ".session"
_TEMP_SUFFIX: Final = ".tmp"
_LOCK_NAME: Final = ".lock"
# A header is under 200 bytes; anything much longer is not one of ours.
_HEADER_LIMIT: Final = 1024
_FOLDER_NAME: Final = re.compile(r"[0-9a-f]{2}")


class _Header(NamedTuple):
    version: str
    expires_at: float | None
    length: int


class _Location(NamedTuple):
    folder: str
    path: str


class FsDriver:
    """Sessions as files under ``base``; see the module docstring for the layout.

    ``base`` is made absolute when the driver is created (relative paths are relative to
    the working directory at that moment). ``max_payload_bytes`` bounds a payload's size
    in UTF-8 bytes (:data:`DEFAULT_MAX_PAYLOAD_BYTES`; ``None`` is no limit).

    Keys must match :data:`SESSION_KEY_PATTERN`: reading or deleting any other key finds
    nothing, writing one raises :class:`ValueError`.
    """

    # Under ASGI a read (one open and read of a small local file, no lock) is cheaper than
    # the hop to a worker thread, so it runs on the event loop; writes fsync, so they hop.
    blocking_reads: ClassVar[bool] = False

    def __init__(
        self,
        base: str | os.PathLike[str] = DEFAULT_BASE,
        *,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.base = os.path.abspath(os.fspath(base))
        self.max_payload_bytes = max_payload_bytes

    def __repr__(self) -> str:
        return f"FsDriver(base={self.base!r})"

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist, has expired or is unreadable."""
        where = self._locate(key)
        if where is None:
            return None
        try:
            with open(where.path, "rb") as file:
                blob = file.read()
        except FileNotFoundError:
            return None
        record = _decode(blob)
        if record is None:
            self._discard_unreadable(where)
            return None
        if _expired(record.expires_at, time.time()):
            return None
        return record

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one.

        ``expected_version=None`` means no live record may exist (an expired or unreadable
        file counts as absent). Raises :class:`WriteConflict` on a mismatch and
        :class:`ValueError` for a key outside the session-ID alphabet.
        """
        return self._put(key, payload, expires_at, expected_version, conditional=True)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version.

        Deleting a record that does not exist (or has expired) does nothing.
        """
        where = self._locate(key)
        if where is None:
            return
        with self._locked(where.folder) as held:
            if not held:  # no folder, so no record
                return
            if expected_version is not None:
                current = _current_header(where.path, time.time())
                if current is not None and current.version != expected_version:
                    raise WriteConflict(key, expected_version)
            _remove(where.path)

    # The minimal protocol: last write wins.

    def get_item(self, key: str) -> str | None:
        """The payload, or None when absent, expired or unreadable."""
        record = self.read(key)
        return None if record is None else record.payload

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry."""
        self._put(key, value, None, None, conditional=False)

    def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        self.delete(key)

    # Maintenance.

    def sweep(self, now: float | None = None) -> int:
        """Remove expired and unreadable records, and stale temporary files.

        ``now`` (epoch seconds, default the current time) decides which records have
        expired; temporary files are judged by the real clock. Returns how many records
        were removed (temporary files are not counted).
        """
        now = time.time() if now is None else now
        try:
            folders = [
                entry.path
                for entry in os.scandir(self.base)
                if _FOLDER_NAME.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
            ]
        except FileNotFoundError:
            return 0
        return sum(self._sweep_folder(folder, now) for folder in folders)

    def _sweep_folder(self, folder: str, now: float) -> int:
        doomed: list[str] = []
        stale_before = time.time() - STALE_TEMP_SECONDS
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(_RECORD_SUFFIX):
                    if _is_dead(entry.path, now):
                        doomed.append(entry.path)
                elif entry.name.endswith(_TEMP_SUFFIX):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat(follow_symlinks=False).st_mtime < stale_before:
                            _remove(entry.path)
        if not doomed:
            return 0
        removed = 0
        with self._locked(folder):
            for path in doomed:
                # Look again under the lock: a writer may have replaced it meanwhile.
                if _is_dead(path, now) and _remove(path):
                    removed += 1
        return removed

    # Internals.

    def _locate(self, key: str) -> _Location | None:
        """Where ``key``'s record lives, or None when ``key`` may not name one.

        The only place a key turns into a path.
        """
        if not isinstance(key, str) or SESSION_KEY_PATTERN.fullmatch(key) is None:
            return None
        name = hashlib.sha256(key.encode("ascii")).hexdigest()
        folder = os.path.join(self.base, name[:2])
        path = os.path.join(folder, name + _RECORD_SUFFIX)
        # Defence in depth: the name is hex, but never trust one check alone.
        if os.path.commonpath((self.base, path)) != self.base:
            raise ValueError(f"session path {path!r} escapes {self.base!r}")
        return _Location(folder, path)

    def _put(
        self,
        key: str,
        payload: str,
        expires_at: float | None,
        expected_version: str | None,
        *,
        conditional: bool,
    ) -> str:
        where = self._locate(key)
        if where is None:
            raise ValueError(
                "the fs driver stores only session IDs of 16 to 256 characters from "
                f"A-Z a-z 0-9 _ -; got a {type(key).__name__} of length "
                f"{len(key) if isinstance(key, str) else '?'}"
            )
        data = payload.encode("utf-8")
        if self.max_payload_bytes is not None and len(data) > self.max_payload_bytes:
            raise SessionTooLargeError("fs", len(data), self.max_payload_bytes)
        version = uuid.uuid4().hex
        staged = self._stage(where, _encode(version, expires_at, data))
        replaced = False
        try:
            with self._locked(where.folder) as held:
                if not held:
                    raise FileNotFoundError(f"session folder {where.folder!r} vanished mid-write")
                if conditional:
                    current = _current_header(where.path, time.time())
                    if (current.version if current else None) != expected_version:
                        raise WriteConflict(key, expected_version)
                _replace(staged, where.path)
                replaced = True
        finally:
            if not replaced:
                _remove(staged)
        return version

    def _stage(self, where: _Location, blob: bytes) -> str:
        """Write ``blob`` to a new temporary file beside the record, flushed to disk."""
        name = os.path.basename(where.path)
        temp = os.path.join(where.folder, f".{name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(temp, flags, 0o600)
        except FileNotFoundError:
            self._make_folder(where.folder)
            fd = os.open(temp, flags, 0o600)
        try:
            with open(fd, "wb") as file:
                file.write(blob)
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            _remove(temp)
            raise
        return temp

    def _make_folder(self, folder: str) -> None:
        os.makedirs(self.base, mode=0o700, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)

    @contextlib.contextmanager
    def _locked(self, folder: str) -> Iterator[bool]:
        """Hold the folder's exclusive lock; yield False, holding nothing, if there is no folder."""
        try:
            fd = os.open(os.path.join(folder, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            yield False
            return
        try:
            _lock(fd)
            try:
                yield True
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    def _discard_unreadable(self, where: _Location) -> None:
        with self._locked(where.folder) as held:
            if not held:
                return
            try:
                with open(where.path, "rb") as file:
                    if _decode(file.read()) is not None:
                        return  # a writer replaced it meanwhile
            except FileNotFoundError:
                return
            _remove(where.path)
        logger.warning("removed unreadable session record %s", where.path)


def _encode(version: str, expires_at: float | None, data: bytes) -> bytes:
    header = {"format": _FORMAT, "version": version, "expires_at": expires_at, "length": len(data)}
    return json.dumps(header, separators=(",", ":")).encode("ascii") + b"\n" + data


def _parse_header(line: bytes) -> _Header | None:
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
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
    return _Header(version, None if expires_at is None else float(expires_at), length)


def _decode(blob: bytes) -> Record | None:
    """A record file's content as a Record, or None when it is not a whole record."""
    end = blob.find(b"\n", 0, _HEADER_LIMIT)
    header = _parse_header(blob[:end]) if end >= 0 else None
    if header is None or len(blob) - end - 1 != header.length:
        return None
    try:
        payload = blob[end + 1 :].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Record(payload=payload, version=header.version, expires_at=header.expires_at)


def _load_header(path: str) -> _Header | None:
    """The header of a whole record file, None for an unreadable one.

    Raises FileNotFoundError when there is no file.
    """
    with open(path, "rb") as file:
        line = file.readline(_HEADER_LIMIT)
        size = os.fstat(file.fileno()).st_size
    header = _parse_header(line) if line.endswith(b"\n") else None
    if header is None or size - len(line) != header.length:
        return None
    return header


def _current_header(path: str, now: float) -> _Header | None:
    """The header of the live record at ``path``; None if absent, expired or unreadable."""
    try:
        header = _load_header(path)
    except FileNotFoundError:
        return None
    if header is None or _expired(header.expires_at, now):
        return None
    return header


def _is_dead(path: str, now: float) -> bool:
    """Whether the file at ``path`` is an expired or unreadable record that sweep may remove."""
    try:
        header = _load_header(path)
    except FileNotFoundError:
        return False
    return header is None or _expired(header.expires_at, now)


def _expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and expires_at <= now


def _remove(path: str) -> bool:
    """Unlink ``path``; False when it was already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        # LK_LOCK gives up after about 10 seconds; keep waiting, as flock would.
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError as exc:
                if exc.errno not in (errno.EDEADLOCK, errno.EACCES):
                    raise

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _replace(source: str, target: str) -> None:
        # Windows refuses to replace a file another process has open (a reader, for
        # microseconds), so retry briefly.
        for attempt in range(50):
            try:
                os.replace(source, target)
                return
            except PermissionError:
                if attempt == 49:
                    raise
                time.sleep(0.01)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        pass  # closing the descriptor releases a flock

    _replace = os.replace
