"""A store in the layout of unstorage's ``fs-lite`` driver, which Astro's Node adapter uses.

Choose it to share sessions with an Astro site on the same machine: both sides then read
and write the same files. Layout under ``base``, exactly as unstorage writes it::

    base/
      2b0e5d8c-3f0a-4c1e-9d6b-7a1f0c2e4b59   one session: the bare devalue payload, UTF-8
      .lock                                  lock file of Python writers (flock)
      .<id>.<random>.tmp                     a Python write in progress (or left by a crash)

The file name is the session ID itself, so only IDs in the session-ID alphabet (letters,
digits, ``-``, ``_``; no dot, no separator) ever reach a path. The dot-files are ours and
never collide with a session: no ID starts with a dot.

What this layout gives up, compared with the default ``fs`` driver:

- No header: a record carries no expiry of its own (each key's expiry lives in the
  payload, and the core drops expired keys when it reads them), so :meth:`FsLiteDriver.read`
  returns ``expires_at=None``. Nothing removes abandoned files on its own (unstorage has
  no sweep): :meth:`FsLiteDriver.sweep` (``hostsessions gc``) reads each payload's
  expiries to find them.
- No version stored: a record's version is derived from the file itself (inode,
  modification time and a hash of its bytes).
- Python writers stage a temporary file and rename it over the record under an exclusive
  lock, so conditional writes between Python processes keep every change. Astro's writes
  take no lock and truncate the file in place: between Astro and Python the last write
  wins, and a read that meets a file Astro is still writing retries for a few milliseconds.
- Session IDs appear as file names, so listing the folder reveals live IDs: keep ``base``
  private to the user the servers run as (it is created with mode 0o700).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Generator
from typing import ClassVar, Final

from ..checks import is_text
from ._files import fsync_folder as _fsync_folder
from ._files import lock as _lock
from ._files import remove as _remove
from ._files import replace as _replace
from ._files import unlock as _unlock
from .base import (
    DriverBase,
    Record,
    WriteConflict,
    check_size,
    check_version,
    is_expired,
    utf8_length,
)
from .fs_driver import DEFAULT_MAX_PAYLOAD_BYTES, SESSION_KEY_PATTERN, STALE_TEMP_SECONDS

__all__ = ["FsLiteDriver"]

logger = logging.getLogger(__name__)

_LOCK_NAME: Final = ".lock"
_TEMP_SUFFIX: Final = ".tmp"
# A file Astro is writing (truncated, then written) can be read half-way: while it does not
# look whole and keeps changing, look again, before handing it to the core, which would
# discard it as undecodable.
_TORN_READ_RETRIES: Final = 5
_TORN_READ_PAUSE: Final = 0.002


class FsLiteDriver(DriverBase):
    """Sessions as one file per ID under ``base``, in unstorage's ``fs-lite`` layout.

    ``base`` is required (as in unstorage) and made absolute when the driver is created;
    point it at the folder the Astro site uses (its ``session.options.base``).
    ``max_payload_bytes`` bounds a payload's size in UTF-8 bytes (``None``: no limit).
    ``fsync`` flushes each record, then the folder, to disk before a write returns, as the
    ``fs`` driver's option of that name does (Astro's own writes never do).

    Keys must be session IDs (16 to 256 characters of ``A-Z a-z 0-9 _ -``): reading or
    deleting any other key finds nothing, writing one raises :class:`ValueError`.
    """

    store_name: ClassVar[str] = "fs-lite"
    # A read is one open and read of a small local file: cheaper than a thread hop.
    blocking_reads: ClassVar[bool] = False

    def __init__(
        self,
        base: str | os.PathLike[str],
        *,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
        fsync: bool = False,
    ) -> None:
        if not os.fspath(base):
            raise ValueError("the fs-lite driver needs a base folder (the Astro site's one)")
        self.base: str = os.path.abspath(os.fspath(base))
        self.max_payload_bytes = max_payload_bytes
        self.fsync = bool(fsync)

    def __repr__(self) -> str:
        return f"FsLiteDriver(base={self.base!r})"

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The record, or None when there is none. ``expires_at`` is always None here."""
        path = self._path(key)
        if path is None:
            return None
        found = _read_versioned(path)
        for _ in range(_TORN_READ_RETRIES):
            if found is None:
                return None
            if _looks_whole(found[0]):
                break
            time.sleep(_TORN_READ_PAUSE)
            again = _read_versioned(path)
            if again == found:
                break  # not being written: it is what it is
            found = again
        if found is None:
            return None
        data, version = found
        # Undecodable bytes still go to the core, which removes the record (if unchanged).
        return Record(data.decode("utf-8", errors="replace"), version, None)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one.

        ``expires_at`` has no place in this layout and is not stored. Raises
        :class:`WriteConflict` on a version mismatch, :class:`ValueError` for a key outside
        the session-ID alphabet and :class:`SessionTooLargeError` over the size limit.
        """
        return self._put(key, payload, expected_version, conditional=True)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version."""
        path = self._path(key)
        if path is None:
            return
        with self._locked() as held:
            if not held:  # no folder, so no record
                return
            if expected_version is not None:
                current = _read_versioned(path)
                if current is not None and current[1] != expected_version:
                    raise WriteConflict(key, expected_version)
            _remove(path)

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there (the minimal protocol: last write wins)."""
        self._put(key, value, None, conditional=False)

    # Maintenance.

    def sweep(self, *, now: float | None = None) -> int:
        """Remove sessions whose every key has expired, and stale temporary files.

        The layout keeps no record expiry, so this reads each session's payload for its
        keys' expiries (``now``, epoch seconds, default the current time, decides). A
        session with a key that never expires, an empty one, and a file that is not a
        session payload are kept. It removes Astro's expired sessions too, which Astro
        itself never does. Returns how many sessions were removed.
        """
        from ..state import latest_expiry  # the core's rule; imported late: it imports us

        now = time.time() if now is None else now
        stale_before = time.time() - STALE_TEMP_SECONDS
        try:
            entries = list(os.scandir(self.base))
        except FileNotFoundError:
            return 0
        doomed: list[tuple[str, str]] = []
        for entry in entries:
            if entry.name.endswith(_TEMP_SUFFIX) and entry.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < stale_before:
                        _remove(entry.path)
            elif SESSION_KEY_PATTERN.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                found = _read_versioned(entry.path)
                if found is None:
                    continue
                expires_at = latest_expiry(found[0].decode("utf-8", errors="replace"))
                if is_expired(expires_at, now):
                    doomed.append((entry.path, found[1]))
        removed = 0
        with self._locked() as held:
            for path, version in doomed if held else ():
                # Only if unchanged since it was judged: a writer may have renewed it.
                current = _read_versioned(path)
                if current is not None and current[1] == version and _remove(path):
                    removed += 1
        return removed

    # Internals.

    def _path(self, key: str) -> str | None:
        """The record's path, or None when ``key`` may not name one: the only place a key
        becomes a path."""
        if not is_text(key) or SESSION_KEY_PATTERN.fullmatch(key) is None:
            return None
        path = os.path.join(self.base, key)
        # Defence in depth: the alphabet has no separator or dot, but never trust one check.
        if os.path.dirname(path) != self.base:
            raise ValueError(f"session path {path!r} escapes {self.base!r}")
        return path

    def _put(
        self, key: str, payload: str, expected_version: str | None, *, conditional: bool
    ) -> str:
        path = self._path(key)
        if path is None:
            raise ValueError(
                "the fs-lite driver stores only session IDs of 16 to 256 characters from "
                f"A-Z a-z 0-9 _ -; got a {type(key).__name__} of length "
                f"{len(key) if is_text(key) else '?'}"
            )
        check_size(self.store_name, utf8_length(payload), self.max_payload_bytes)
        data = payload.encode("utf-8", "surrogatepass")
        staged, version = self._stage(key, data)
        replaced = False
        try:
            with self._locked() as held:
                if not held:
                    raise FileNotFoundError(f"session folder {self.base!r} vanished mid-write")
                if conditional:
                    current = _read_versioned(path)
                    check_version(key, current[1] if current else None, expected_version)
                old_at_staged = _replace(staged, path)
                replaced = True
        finally:
            if not replaced:
                _remove(staged)
        if old_at_staged:
            _remove(staged)  # the old record, swapped out
        if self.fsync:
            _fsync_folder(self.base)
        return version

    def _stage(self, key: str, data: bytes) -> tuple[str, str]:
        """Write ``data`` to a new temporary file in ``base``; its path and the version the
        record will have once it is renamed into place."""
        temp = os.path.join(self.base, f".{key}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(temp, flags, 0o600)
        except FileNotFoundError:
            os.makedirs(self.base, mode=0o700, exist_ok=True)
            fd = os.open(temp, flags, 0o600)
        try:
            with open(fd, "wb") as file:
                file.write(data)
                file.flush()
                if self.fsync:
                    os.fsync(file.fileno())
                version = _version(os.fstat(file.fileno()), data)
        except BaseException:
            _remove(temp)
            raise
        return temp, version

    @contextlib.contextmanager
    def _locked(self) -> Generator[bool]:
        """Hold the folder's exclusive lock; yield False, holding nothing, if there is no folder."""
        try:
            fd = os.open(os.path.join(self.base, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
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


def _version(stat: os.stat_result, data: bytes) -> str:
    """A file's version: its inode and modification time catch a rewrite in place or a
    rename, and the hash catches a rewrite within the clock's resolution."""
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    return f"{stat.st_ino:x}.{stat.st_mtime_ns:x}.{digest}"


def _read_versioned(path: str) -> tuple[bytes, str] | None:
    """The file's bytes and version, read through one descriptor; None when it is absent."""
    try:
        with open(path, "rb") as file:
            data = file.read()
            stat = os.fstat(file.fileno())
    except (FileNotFoundError, IsADirectoryError):
        return None
    return data, _version(stat, data)


def _looks_whole(data: bytes) -> bool:
    """Whether ``data`` could be a whole devalue payload: a JSON array, or a bare number
    (devalue's form of a top-level ``undefined``, ``NaN``...)."""
    text = data.strip()
    return text.endswith(b"]") or (text[:1] == b"-" and text[1:].isdigit())
