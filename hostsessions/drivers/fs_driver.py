"""A store of one file per session on the local filesystem.

Layout under ``base`` (created with mode 0o700 on the first write)::

    base/
      3f/                                   fan-out folder: first 2 hex digits of the name
        .lock                               lock file of this folder (flock)
        3fa94c...e1.session                 one record (mode 0o600)
        .3fa94c...e1.session.8c1d....tmp    a write in progress, a kept file, or a leftover

A record's file name is the SHA-256 hex digest of its session ID, so no part of a key
ever reaches a path, names have the same length whatever the ID, the 256 folders fill
evenly, and listing the folder does not reveal any live session ID.

A record file holds two slots of equal size (2 KiB each for a payload of up to about
1.5 KB; more, in 4 KiB steps, for larger ones), each a header line, a JSON object, then
the payload as UTF-8::

    {"format":"hostsessions-fs/2","seq":"0000000000000007","crc":"5c0e9a1f","version":"<hex>",
     "expires_at":1767225600.0,"length":1234,"token":"<the core's write token>"}
    <1234 bytes of payload><filler up to the end of the slot>

(one line; ``token`` is absent from records written without one). The live record is the
slot with the higher ``seq`` whose ``crc`` holds: a CRC-32 of the file's name, the rest of
the header and the payload, and ``seq``; the other slot holds the record before it (or
nothing yet). A read takes the whole file in one system call and never decodes the
payload. Records written by earlier versions (format ``hostsessions-fs/1``: one header
line, then the payload to the end of the file) are still read, and their next write
replaces them with a file of this format. :mod:`hostsessions.drivers._fs_records` is the
format, byte by byte.

A write is conditional on the version it read: under an exclusive ``flock`` on the
folder's ``.lock`` file, which serialises writers across threads and processes (several
server workers may share ``base``), it reads the record file again, checks the live
version, and writes the new record into the *other* slot with the next ``seq`` (one
``write`` of a few hundred bytes), so a record is always either the old one or the new
one, never torn or empty, whenever the writing process dies: a slot left half written
fails its checksum, and the live slot was never touched. A reader overlapping a writer
takes the live slot likewise; should both slots fail the check as it reads (two writes
overlapping one read), it reads again under the lock. Nothing but the record file is
touched: no temporary file, no rename, no folder entry, so a write costs the same whether
the store holds ten sessions or a hundred thousand.

A new record, one that outgrows its slots (or shrinks to a quarter of them), one of the
earlier format, and every write with ``fsync=True`` take a new file instead: written to a
temporary file in the record's folder, which then takes the record's place in one atomic
step under the lock. On Linux that step is ``renameat2(RENAME_EXCHANGE)``: on ext4 a
plain rename over an existing file makes the kernel start writing the new file's data
out at once (``auto_da_alloc``), which costs more than everything else a request does.
The file swapped out is kept (a few per folder, for a limited time) and the folder's next
new file is written into it, because freeing a file whose data reached the disk can take
milliseconds; the name in the checksum keeps a reader that opened it before the swap from
taking it for its own session's record once another session's record is written into it.
Elsewhere the step is :func:`os.replace`. On Windows, ``msvcrt.locking`` takes the place
of ``flock`` (best effort: untested there). ``base`` must be on a local filesystem:
network filesystems may not honour the lock.

Durability against an operating-system crash or a power loss is the ``fsync`` option:

``fsync=False`` (the default)
    Every write is atomic and survives the writing process being killed at any moment;
    an acknowledged write is in the kernel's page cache. An OS crash or a power loss may
    lose the writes of the last seconds (the kernel writes them out within about 30 s):
    a session then reads as its older state, or, if the crash caught its record file
    half written to disk, as absent (a fresh session; never torn data, which the
    checksum refuses).
``fsync=True``
    Each record is written to a new file, flushed to disk (``fsync``) before it replaces
    the old one, and the folder after, so an acknowledged write survives a power loss. It
    costs a disk flush per write (hundreds of microseconds on an SSD, milliseconds on
    other disks).

A record file whose slots hold no whole record (in either format) is treated as absent:
a read removes it (under the lock) and logs a warning, and a write with
``expected_version=None`` replaces it. Processes of an earlier version sharing ``base``
count the new format as such a file: upgrade every process that shares a store at once.

``sweep()`` (what ``hostsessions gc`` runs) removes expired and unreadable records and
temporary files older than :data:`STALE_TEMP_SECONDS`. The driver also sweeps on its own:
a write to a folder that this process has not swept for ``sweep_interval`` seconds sweeps
that folder first (one folder of 256, so the cost is spread thin and stays flat in the
number of sessions).

Under ASGI (:meth:`FsDriver.to_async`) reads run on the event loop, which is cheaper than
a hop to a worker thread for one small local file. Writes and deletes without ``fsync``
run on the loop too when the folder's lock is free at once; when another writer holds it,
or with ``fsync=True``, or when a sweep is due, they run on a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, ClassVar, Final, NamedTuple, TypeVar

from ..checks import is_positive_number, is_text
from ..config import DEFAULT_FS_BASE
from ..errors import SessionStorageError
from ._files import fsync_folder as _fsync_folder
from ._files import lock as _lock
from ._files import remove as _remove
from ._files import replace as _replace
from ._files import unlock as _unlock
from ._fs_records import SlotBody, Stored, decode, fits_in_place, new_file, slot_body, slot_bytes
from .base import AsyncDriverBase, DriverBase, Record, WriteConflict, check_size, is_expired, live

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_SWEEP_INTERVAL",
    "SESSION_KEY_PATTERN",
    "SPARES_PER_FOLDER",
    "STALE_TEMP_SECONDS",
    "AsyncFsDriver",
    "FsDriver",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE: Final = DEFAULT_FS_BASE
#: The default largest payload, in UTF-8 bytes: 1 MiB. A session is read on every
#: request that touches it, so anything near this size belongs elsewhere.
DEFAULT_MAX_PAYLOAD_BYTES: Final = 1_048_576
#: A temporary file older than this (seconds) is a crash's leftover that ``sweep`` removes.
STALE_TEMP_SECONDS: Final = 600.0
#: How many files an overwrite swapped out this process keeps per folder, to write the
#: folder's next records into (see ``FsDriver._keep_spare``).
SPARES_PER_FOLDER: Final = 2
# A kept file older than this is not reused: sweep may remove it (it takes temporary files
# older than STALE_TEMP_SECONDS, and a kept file's age is reset when it is kept).
_SPARE_SECONDS: Final = STALE_TEMP_SECONDS / 2
#: How often, at most, this process sweeps each folder on its own (seconds): one hour.
DEFAULT_SWEEP_INTERVAL: Final = 3600.0
#: How long a write waits, at most, for a folder's lock (held for microseconds by a
#: writer, for ever by one that was stopped while holding it).
DEFAULT_LOCK_TIMEOUT: Final = 10.0
#: What a key must look like to reach the filesystem: the session-ID alphabet.
SESSION_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,256}")

_RECORD_SUFFIX: Final = ".session"
_TEMP_SUFFIX: Final = ".tmp"
_LOCK_NAME: Final = ".lock"
# One read takes a whole record of up to this size (almost every record).
_READ_CHUNK: Final = 65_536
_FOLDER_NAME: Final = re.compile(r"[0-9a-f]{2}")
_BINARY: Final = getattr(os, "O_BINARY", 0)
# Reads leave the access time alone: with ``relatime`` the first read after each write
# would otherwise update the record's inode, a journaled metadata write per request that
# costs most where the store is large and its inodes are cold. The kernel refuses the
# flag on a file another user owns; the first such refusal turns it off (_open_to_read).
_NOATIME: Final[int] = getattr(os, "O_NOATIME", 0)
_read_flags = os.O_RDONLY | _BINARY | _NOATIME
_CREATE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
_REWRITE_FLAGS: Final = os.O_WRONLY | _BINARY


class _Location(NamedTuple):
    folder: str
    path: str
    name: str  # the file name's digest, which a format-2 record's checksum covers


class _Change(NamedTuple):
    """A write, checked and encoded, before it touches the disk."""

    key: str
    where: _Location
    body: SlotBody
    version: str


class _Staged(NamedTuple):
    """A new record file written beside the record, not yet in place."""

    change: _Change
    temp: str


class _Busy(Exception):
    """The folder's lock is held elsewhere and the caller asked not to wait for it."""


class FsDriver(DriverBase):
    """Sessions as files under ``base``; see the module docstring for the layout.

    ``base`` is made absolute when the driver is created (relative paths are relative to
    the working directory at that moment). ``max_payload_bytes`` bounds a payload's size
    in UTF-8 bytes (:data:`DEFAULT_MAX_PAYLOAD_BYTES`; ``None`` is no limit). ``fsync``
    makes every write durable against a power loss (see the module docstring for what
    each setting guarantees). ``sweep_interval`` (seconds; ``None``: only when
    :meth:`sweep` is called) is how often, at most, this process sweeps a folder on its
    own when it writes there. ``lock_timeout`` (seconds, default
    :data:`DEFAULT_LOCK_TIMEOUT`) bounds the wait for a folder's lock, held by other
    writers for microseconds; a process stopped while holding it (a frozen worker) makes a
    write fail with :class:`~hostsessions.SessionStorageError` after that long instead of
    hanging.

    Keys must match :data:`SESSION_KEY_PATTERN`: reading or deleting any other key finds
    nothing, writing one raises :class:`ValueError`.
    """

    store_name: ClassVar[str] = "fs"

    def __init__(
        self,
        base: str | os.PathLike[str] = DEFAULT_BASE,
        *,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
        fsync: bool = False,
        sweep_interval: float | None = DEFAULT_SWEEP_INTERVAL,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if not is_positive_number(lock_timeout):
            raise ValueError(f"lock_timeout must be > 0 seconds, not {lock_timeout!r}")
        self.lock_timeout = float(lock_timeout)
        if sweep_interval is not None and not sweep_interval >= 0:
            raise ValueError(f"sweep_interval must be >= 0 seconds or None, not {sweep_interval!r}")
        self.base: str = os.path.abspath(os.fspath(base))
        self.max_payload_bytes = max_payload_bytes
        self.fsync = bool(fsync)
        self.sweep_interval = sweep_interval
        self._base_prefix = os.path.join(self.base, "")
        # folder -> when this process last swept it; a folder first seen gets a random
        # age, so that the sweeps of a fresh process are spread over its first interval.
        self._swept_at: dict[str, float] = {}
        # folder -> files swapped out by this process's overwrites, with when they were kept
        self._spares: dict[str, list[tuple[str, float]]] = {}
        self._spares_lock = threading.Lock()
        self._spares_pid = os.getpid()

    def __repr__(self) -> str:
        return f"FsDriver(base={self.base!r}, fsync={self.fsync})"

    def to_async(self) -> AsyncFsDriver:
        """The face the ASGI middleware uses: see :class:`AsyncFsDriver`."""
        return AsyncFsDriver(self)

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist, has expired or is unreadable."""
        where = self._locate(key)
        if where is None:
            return None
        try:
            blob = _read_file(where.path)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            # Not ours to remove (it may hold anything): the session reads as absent.
            logger.warning("a directory stands where session record %s should be", where.path)
            return None
        stored = decode(blob, where.name)
        if stored is None:
            # Half written as it was read (a writer overlapping this read twice), or
            # damaged: look again under the lock, where no writer can be mid-write.
            return self._read_locked_or_discard(where)
        return live(stored.record, time.time())

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version``; return the new one.

        ``expected_version=None`` means no live record may exist (an expired or unreadable
        file counts as absent). ``token`` (the core's write token) is stored in the header.
        Raises :class:`WriteConflict` on a mismatch and :class:`ValueError` for a key
        outside the session-ID alphabet.
        """
        change = self._prepare(key, payload, expires_at, token)
        return self._put_and_sweep(change, expected_version)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version.

        Deleting a record that does not exist (or has expired) does nothing.
        """
        self._delete(key, expected_version, wait=True)

    # What AsyncFsDriver runs on the event loop: the same calls, unless they would wait.

    def write_or_defer(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str | Callable[[], str]:
        """:meth:`write`, without waiting when it can: the new version; or, when the
        folder's lock is held or the folder is due for a sweep, a function that does this
        write waiting (for a worker thread)."""
        change = self._prepare(key, payload, expires_at, token)
        if not self._sweep_due(change.where.folder, time.time()):
            try:
                return self._put(change, expected_version, conditional=True, wait=False)
            except _Busy:
                pass
        return functools.partial(self._put_and_sweep, change, expected_version)

    def delete_unless_busy(self, key: str, *, expected_version: str | None = None) -> bool:
        """:meth:`delete` if the folder's lock is free now (True); False, having done
        nothing, if it would have to wait for it."""
        try:
            self._delete(key, expected_version, wait=False)
        except _Busy:
            return False
        return True

    def _put_and_sweep(self, change: _Change, expected_version: str | None) -> str:
        version = self._put(change, expected_version, conditional=True, wait=True)
        self._sweep_if_due(change.where.folder)
        return version

    # The minimal protocol: the base derives it, but a record can simply be overwritten.

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry."""
        change = self._prepare(key, value, None, None)
        self._put(change, None, conditional=False, wait=True)
        self._sweep_if_due(change.where.folder)

    # Maintenance.

    def sweep(self, *, now: float | None = None) -> int:
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

    def _sweep_due(self, folder: str, now: float) -> bool:
        interval = self.sweep_interval
        if interval is None:
            return False
        swept_at = self._swept_at.get(folder)
        if swept_at is None:
            swept_at = self._swept_at[folder] = now - random.uniform(0, interval)  # noqa: S311 - spreading work, not security
        return now - swept_at >= interval

    def _sweep_if_due(self, folder: str) -> None:
        now = time.time()
        if self._sweep_due(folder, now):
            self._swept_at[folder] = now
            try:
                removed = self._sweep_folder(folder, now)
            except OSError as exc:  # a failed sweep must never fail the write that ran it
                logger.warning("could not sweep session folder %s: %s", folder, exc)
                return
            if removed:
                logger.debug("swept %d expired session records from %s", removed, folder)

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
        with self._locked(folder, wait=True):
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
        if not is_text(key) or SESSION_KEY_PATTERN.fullmatch(key) is None:
            return None
        name = hashlib.sha256(key.encode("ascii")).hexdigest()
        folder = self._base_prefix + name[:2]
        path = os.path.join(folder, name + _RECORD_SUFFIX)
        # Defence in depth: the name is hex, but never trust one check alone.
        if not path.startswith(self._base_prefix) or ".." in path[len(self._base_prefix) :]:
            raise ValueError(f"session path {path!r} escapes {self.base!r}")
        return _Location(folder, path, name)

    def _prepare(
        self, key: str, payload: str, expires_at: float | None, token: str | None
    ) -> _Change:
        """Check and encode a write."""
        where = self._locate(key)
        if where is None:
            raise ValueError(
                "the fs driver stores only session IDs of 16 to 256 characters from "
                f"A-Z a-z 0-9 _ -; got a {type(key).__name__} of length "
                f"{len(key) if is_text(key) else '?'}"
            )
        data = payload.encode("utf-8")
        check_size(self.store_name, len(data), self.max_payload_bytes)
        version = os.urandom(16).hex()
        return _Change(key, where, slot_body(where.name, version, expires_at, data, token), version)

    def _put(
        self, change: _Change, expected_version: str | None, *, conditional: bool, wait: bool
    ) -> str:
        """Write ``change``: into the record file's free slot when it fits there (without
        ``fsync``), else as a new file that takes the record's place. Returns the version.

        ``conditional``: only if the live record's version is ``expected_version``, else
        :class:`WriteConflict`. With ``wait=False``, a lock held elsewhere raises
        :class:`_Busy`, having changed nothing.
        """
        if not self.fsync and self._update_in_place(
            change, expected_version, conditional=conditional, wait=wait
        ):
            return change.version
        staged = self._stage(change)
        return self._commit(staged, expected_version, conditional=conditional, wait=wait)

    def _update_in_place(
        self, change: _Change, expected_version: str | None, *, conditional: bool, wait: bool
    ) -> bool:
        """Write ``change`` into the free slot of the record file, under the folder's lock.

        False, having written nothing, when it needs a new file instead: there is no
        record file (or folder), it is of format 1 or unreadable, or the record does not
        fit its slots. The slot written is the one that does not hold the live record, so
        a process killed mid-write leaves the live record whole, and readers take the new
        one only once its checksum holds.
        """
        where = change.where
        with self._locked(where.folder, wait=wait) as held:
            if not held:
                return False
            try:
                fd = _open_to_read(where.path, os.O_RDWR)
            except FileNotFoundError:
                if conditional and expected_version is not None:
                    raise WriteConflict(change.key, expected_version) from None
                return False
            except IsADirectoryError:
                return False  # the swap decides what to do with it, as before
            except PermissionError:
                return False  # a file this process may not write: a new file replaces it
            try:
                stored = decode(_read_all(fd), where.name)
                if conditional:
                    current = _live_version(stored, time.time())
                    if current != expected_version:
                        raise WriteConflict(change.key, expected_version)
                if stored is None or not fits_in_place(stored, change.body):
                    return False
                os.lseek(fd, stored.free_slot_at, os.SEEK_SET)
                _write_all(fd, slot_bytes(change.body, stored.seq + 1))
            finally:
                os.close(fd)
        return True

    def _stage(self, change: _Change) -> _Staged:
        """Write ``change`` as a new record file beside the record (flushed to disk with
        ``fsync=True``), for :meth:`_commit` to put in the record's place."""
        where = change.where
        blob = new_file(change.body)
        fd, temp, reused = self._open_temp(where)
        try:
            try:
                _write_all(fd, blob)
                # A reused file may have been longer. Truncating only then saves a
                # metadata update on the common rewrite of a record of the same size.
                if reused and os.fstat(fd).st_size > len(blob):
                    os.ftruncate(fd, len(blob))
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            _remove(temp)
            raise
        return _Staged(change, temp)

    def _open_temp(self, where: _Location) -> tuple[int, str, bool]:
        """A file beside the record to write the new record into: open, its path, and
        whether it is a spare one an earlier overwrite kept (else it is new and empty)."""
        spare = self._take_spare(where.folder)
        if spare is not None:
            try:
                return os.open(spare, _REWRITE_FLAGS), spare, True
            except FileNotFoundError:
                pass
        name = os.path.basename(where.path)
        temp = os.path.join(where.folder, f".{name}.{os.urandom(16).hex()}{_TEMP_SUFFIX}")
        try:
            return os.open(temp, _CREATE_FLAGS, 0o600), temp, False
        except FileNotFoundError:
            self._make_folder(where.folder)
            return os.open(temp, _CREATE_FLAGS, 0o600), temp, False

    def _keep_spare(self, folder: str, path: str) -> None:
        """Keep a file that an overwrite swapped out, to write a later record into.

        Removing a file whose data has reached the disk makes the filesystem free its
        blocks, which can take milliseconds (3 ms per file on ext4 mounted with
        ``discard``, where a new file costs 10 us); rewriting the file in place costs
        microseconds. A few files per folder are kept, each for a limited time.
        """
        now = time.time()
        try:
            os.utime(path, (now, now))  # sweep judges temporary files by age: it is fresh
        except FileNotFoundError:
            return
        with self._spares_lock:
            spares = self._spares.setdefault(folder, [])
            if len(spares) < SPARES_PER_FOLDER:
                spares.append((path, now))
                return
        _remove(path)

    def _take_spare(self, folder: str) -> str | None:
        """A kept file of ``folder`` to write a new record into, or None."""
        stale: list[str] = []
        found = None
        with self._spares_lock:
            if self._spares_pid != os.getpid():
                # A forked child must not write into files its parent may reuse too.
                self._spares = {}
                self._spares_pid = os.getpid()
            spares = self._spares.get(folder)
            while spares:
                path, kept_at = spares.pop()
                if time.time() - kept_at < _SPARE_SECONDS:
                    found = path
                    break
                stale.append(path)
        for path in stale:
            _remove(path)
        return found

    def _commit(
        self, staged: _Staged, expected_version: str | None, *, conditional: bool, wait: bool
    ) -> str:
        """Put a staged record file in the record's place, under the folder's lock.

        On any failure (a :class:`WriteConflict`, or :class:`_Busy` with ``wait=False``)
        the staged file is removed.
        """
        change = staged.change
        where = change.where
        swapped = False
        try:
            with self._locked(where.folder, wait=wait) as held:
                if not held:
                    raise FileNotFoundError(f"session folder {where.folder!r} vanished mid-write")
                if conditional:
                    current = _live_version(_load(where.path, where.name), time.time())
                    if current != expected_version:
                        raise WriteConflict(change.key, expected_version)
                old_at_temp = _replace(staged.temp, where.path)
                swapped = True
        finally:
            if not swapped:
                _remove(staged.temp)
        if old_at_temp:
            self._keep_spare(where.folder, staged.temp)  # the old record, swapped out
        if self.fsync:
            _fsync_folder(where.folder)
        return change.version

    def _delete(self, key: str, expected_version: str | None, *, wait: bool) -> None:
        where = self._locate(key)
        if where is None:
            return
        with self._locked(where.folder, wait=wait) as held:
            if not held:  # no folder, so no record
                return
            if expected_version is not None:
                current = _live_version(_load(where.path, where.name), time.time())
                if current is not None and current != expected_version:
                    raise WriteConflict(key, expected_version)
            _remove(where.path)
        if self.fsync:
            _fsync_folder(where.folder)

    def _make_folder(self, folder: str) -> None:
        os.makedirs(self.base, mode=0o700, exist_ok=True)
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            return
        if self.fsync:
            _fsync_folder(self.base)

    @contextlib.contextmanager
    def _locked(self, folder: str, *, wait: bool) -> Generator[bool]:
        """Hold the folder's exclusive lock; yield False, holding nothing, if there is no
        folder. With ``wait=False``, raise :class:`_Busy` rather than wait for it."""
        try:
            fd = os.open(os.path.join(folder, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            yield False
            return
        try:
            if not _lock(fd, False):
                if not wait:
                    raise _Busy(folder)
                self._wait_for_lock(fd, folder)
            try:
                yield True
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    def _wait_for_lock(self, fd: int, folder: str) -> None:
        """Take the lock someone else holds, polling, for at most ``lock_timeout``."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.0005
        while not _lock(fd, False):
            if time.monotonic() >= deadline:
                raise SessionStorageError(
                    f"the lock of session folder {folder!r} has been held for over "
                    f"{self.lock_timeout:g}s: a process that stopped while writing there "
                    "(a frozen or traced worker) still holds it"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def _read_locked_or_discard(self, where: _Location) -> Record | None:
        """Read the record under the folder's lock; remove it, with a warning, if it is
        unreadable even there."""
        with self._locked(where.folder, wait=True) as held:
            if not held:
                return None
            try:
                stored = decode(_read_file(where.path), where.name)
            except (FileNotFoundError, IsADirectoryError):
                return None
            if stored is not None:
                return live(stored.record, time.time())
            _remove(where.path)
        logger.warning("removed unreadable session record %s", where.path)
        return None


class AsyncFsDriver(AsyncDriverBase):
    """The filesystem driver for an event loop (what the ASGI middleware uses).

    The same store as the :class:`FsDriver` it wraps, with the calls placed where they
    are cheapest: a read (one small local file) runs on the loop; a write or delete runs
    on the loop when it neither fsyncs nor has to wait for the folder's lock nor is due
    to sweep the folder, and otherwise on the drivers' worker threads, so the loop never
    waits on another process or on the disk.
    """

    def __init__(self, driver: FsDriver) -> None:
        self.driver = driver

    def __repr__(self) -> str:
        return f"AsyncFsDriver({self.driver!r})"

    async def read(self, key: str) -> Record | None:
        """As :meth:`FsDriver.read`."""
        return self.driver.read(key)

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """As :meth:`FsDriver.write`."""
        driver = self.driver
        if driver.fsync:
            return await _in_thread(
                driver.write,
                key,
                payload,
                expires_at=expires_at,
                expected_version=expected_version,
                token=token,
            )
        done = driver.write_or_defer(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )
        return done if isinstance(done, str) else await _in_thread(done)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """As :meth:`FsDriver.delete`."""
        driver = self.driver
        if not driver.fsync and driver.delete_unless_busy(key, expected_version=expected_version):
            return
        await _in_thread(driver.delete, key, expected_version=expected_version)

    def sweep(self, *, now: float | None = None) -> int:
        """As :meth:`FsDriver.sweep` (synchronous, as ``hostsessions gc`` calls it)."""
        return self.driver.sweep(now=now)


async def _in_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    from ..storage import in_driver_thread  # here: storage imports the drivers package

    return await in_driver_thread(function, *args, **kwargs)


def _open_to_read(path: str, access: int = os.O_RDONLY) -> int:
    """Open a record to read it (``access=os.O_RDWR``: and write it), access time untouched."""
    global _read_flags
    try:
        return os.open(path, _read_flags | access)
    except PermissionError:
        if not _read_flags & _NOATIME:
            raise
        _read_flags &= ~_NOATIME  # a store shared with another user: plain reads from now on
        return os.open(path, _read_flags | access)


def _read_file(path: str) -> bytes:
    """The whole content of the file at ``path``, in as few system calls as possible."""
    fd = _open_to_read(path)
    try:
        return _read_all(fd)
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    """The rest of the open file ``fd``: one system call for almost every record."""
    chunk = os.read(fd, _READ_CHUNK)
    if len(chunk) < _READ_CHUNK:
        return chunk
    parts = [chunk]
    while chunk:
        chunk = os.read(fd, _READ_CHUNK * 16)
        parts.append(chunk)
    return b"".join(parts)


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]


def _load(path: str, name: str) -> Stored | None:
    """What the record file at ``path`` holds; None when there is none or it is unreadable."""
    try:
        return decode(_read_file(path), name)
    except (FileNotFoundError, IsADirectoryError):
        return None


def _live_version(stored: Stored | None, now: float) -> str | None:
    """The version of the live record in ``stored``; None if absent, expired or unreadable."""
    if stored is None or is_expired(stored.record.expires_at, now):
        return None
    return stored.record.version


def _is_dead(path: str, now: float) -> bool:
    """Whether the file at ``path`` is an expired or unreadable record that sweep may remove."""
    name = os.path.basename(path)[: -len(_RECORD_SUFFIX)]
    try:
        stored = decode(_read_file(path), name)
    except (FileNotFoundError, IsADirectoryError):
        return False  # a directory is not a record: sweep leaves it alone
    return stored is None or is_expired(stored.record.expires_at, now)
