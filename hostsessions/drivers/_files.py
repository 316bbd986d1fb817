"""The file primitives the filesystem stores share: remove, lock, unlock, atomic replace
and a folder's fsync, each written once per platform (POSIX and Windows).

``fs_driver`` (its own layout) and ``fs_lite_driver`` (unstorage's) use them; nothing else
should. ``replace`` swaps the old file out where the kernel can (Linux's
``renameat2(RENAME_EXCHANGE)``), so the caller can keep it for a later write.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

__all__ = ["fsync_folder", "lock", "remove", "replace", "unlock"]


def remove(path: str) -> bool:
    """Unlink ``path``; False when it was already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def lock(fd: int, wait: bool = True) -> bool:
        # LK_LOCK gives up after about 10 seconds; keep waiting, as flock would.
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EDEADLOCK, errno.EACCES):
                    raise
                if not wait:
                    return False

    def unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def replace(source: str, target: str) -> bool:
        # Windows refuses to replace a file another process has open (a reader, for
        # microseconds), so retry briefly.
        for attempt in range(50):
            try:
                os.replace(source, target)
                return False
            except PermissionError:
                if attempt == 49:
                    raise
                time.sleep(0.01)
        return False

    def fsync_folder(folder: str) -> None:
        pass  # NTFS has no directory handles to flush; the rename is journaled

else:
    import fcntl

    def lock(fd: int, wait: bool = True) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        pass  # closing the descriptor releases a flock

    def fsync_folder(folder: str) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def replace(source: str, target: str) -> bool:
        """Put ``source`` at ``target`` atomically; True when the old ``target`` file was
        swapped to ``source`` (for the caller to remove), False when there was none."""
        global _exchange
        if _exchange is _NOT_LOADED:
            _exchange = _load_exchange()
        if _exchange is not None and _exchange(source, target):
            return True
        os.replace(source, target)
        return False

    _NOT_LOADED: Any = object()
    _exchange: Any = _NOT_LOADED  # loaded on first use: ctypes is not worth its import time

    def _load_exchange() -> Any:
        """A swap of two paths through libc's ``renameat2(RENAME_EXCHANGE)``, or None where
        there is none. The swap returns False when a plain rename must do instead."""
        if sys.platform != "linux":
            return None
        try:
            import ctypes

            renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            return None
        renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        renameat2.argtypes += [ctypes.c_uint]
        renameat2.restype = ctypes.c_int
        at_fdcwd, rename_exchange = -100, 2
        unsupported = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}

        def exchange(source: str, target: str) -> bool:
            global _exchange
            paths = os.fsencode(source), os.fsencode(target)
            if renameat2(at_fdcwd, paths[0], at_fdcwd, paths[1], rename_exchange) == 0:
                return True
            code = ctypes.get_errno()
            if code == errno.ENOENT and os.path.lexists(source):
                return False  # no record yet: a plain rename is as cheap
            if code in unsupported:
                _exchange = None  # this kernel or filesystem cannot swap: rename from now on
                return False
            raise OSError(code, os.strerror(code), target)

        return exchange
