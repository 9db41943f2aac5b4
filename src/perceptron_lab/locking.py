"""Advisory file locks (fcntl.flock): a sweep directory in use, a results directory being built.

A flock belongs to an open file description, so the kernel releases it when its process dies,
kill -9 included: a lock that can be taken belongs to nobody alive.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import UserError


def try_lock(path: Path, create: bool = True) -> int | None:
    """Lock `path` (a file, created if missing and `create`, or a directory) without waiting.

    Returns the open descriptor holding the lock (close it to release), or None when another
    process holds it.
    """
    path = Path(path)
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    else:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def is_locked(path: Path) -> bool:
    """True while some process holds the lock of `path`."""
    try:
        fd = try_lock(path, create=False)
    except FileNotFoundError:
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


class SweepLock:
    """The lock of a sweep directory (its `.lock` file), held from acquire() to release()."""

    FILE = ".lock"

    def __init__(self) -> None:
        self._fd: int | None = None

    def acquire(self, sweep_dir: Path) -> None:
        """Take the lock of `sweep_dir`; UserError (one line) when another process holds it."""
        fd = try_lock(Path(sweep_dir) / self.FILE)
        if fd is None:
            raise UserError(
                f"{sweep_dir}: this sweep is running in another process (its lock is held); "
                "resume it once that process has finished"
            )
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
