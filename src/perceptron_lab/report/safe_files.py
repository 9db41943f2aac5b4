"""Writing report files without following links planted in a results directory.

Every file goes to a new temporary name (created exclusively, so never through a link) and is
renamed over its final name: a symlink already there is replaced, its target untouched. An
output directory that is itself a symlink is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError


def output_dir(path: Path) -> Path:
    """Create `path` (and parents) for report files; UserError when it is a symlink or a file."""
    path = Path(path)
    if path.is_symlink():
        raise UserError(f"{path}: is a symbolic link; refusing to write report files through it")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"{path}: is not a directory; cannot write report files there") from None
    return path


def write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` by a temporary file and a rename."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=output_dir(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def save_files(out_dir: Path, save: Callable[[Path], list[Path]]) -> list[Path]:
    """Run `save(directory) -> files` in a fresh private directory inside `out_dir`, then move
    each file to `out_dir` by rename; returns the final paths."""
    out_dir = output_dir(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=".saving.", dir=out_dir))
    try:
        moved = []
        for file in save(staging):
            target = out_dir / Path(file).name
            os.chmod(file, 0o644)
            os.replace(file, target)
            moved.append(target)
        return moved
    finally:
        shutil.rmtree(staging, ignore_errors=True)
