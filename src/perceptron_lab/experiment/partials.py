"""Temporary `.partial` build directories: unique names, locked while built, stale ones removed.

A results directory is built as `.<final name>.<random>.partial` beside its final name, locked
by its writer (locking.py) and renamed when whole. A partial directory nobody holds is the
leftover of a killed writer.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from ..locking import is_locked, try_lock

SUFFIX = ".partial"
STALE_AFTER_S = 2.0
"""A partial must be at least this old (mtime) to count as stale: its writer creates it, then
locks it, and a cleaner must not fall between the two."""


def is_partial(path: Path) -> bool:
    """True for a build directory name (`.<name>.<random>.partial`), complete-looking or not."""
    return Path(path).name.startswith(".") and Path(path).name.endswith(SUFFIX)


def new_partial(directory: Path) -> tuple[Path, int]:
    """Create and lock a uniquely named partial directory for `directory`; (path, lock fd)."""
    while True:
        partial = directory.with_name(f".{directory.name}.{secrets.token_hex(6)}{SUFFIX}")
        try:
            partial.mkdir()  # exclusive: a name another writer took raises
            break
        except FileExistsError:
            continue
    fd = try_lock(partial)
    assert fd is not None, "a directory this process just created is nobody else's"
    return partial, fd


def stale_partials(parent: Path, name: str | None = None, min_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Partial directories in `parent` (of the run `name` only, when given) that no process
    holds, at least `min_age_s` old."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    prefix = f".{name}." if name is not None else "."
    now = time.time()
    found = []
    for child in parent.iterdir():
        if not (child.name.startswith(prefix) and is_partial(child)) or child.is_symlink():
            continue
        try:
            old = now - child.stat().st_mtime >= min_age_s
        except FileNotFoundError:
            continue
        if old and child.is_dir() and not is_locked(child):
            found.append(child)
    return found


def remove_stale_partials(
    parent: Path, name: str | None = None, min_age_s: float = STALE_AFTER_S
) -> list[Path]:
    """Remove the stale partial directories of `parent` (see stale_partials); returns them."""
    removed = stale_partials(parent, name, min_age_s)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
