"""Advisory file locks (fcntl.flock): a sweep directory in use, a results directory being built.

A flock belongs to an open file description, so the kernel releases it when its process dies,
kill -9 included: a lock that can be taken belongs to nobody alive.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold the lock of `path` for the block; UserError naming `what` when another process has it."""
    fd = try_lock(path)
    if fd is None:
        raise UserError(f"{what} is in use by another process (locked {path})")
    try:
        yield
    finally:
        os.close(fd)
