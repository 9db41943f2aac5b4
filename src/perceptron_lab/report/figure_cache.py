"""Reusing a report's figures while what they were drawn from is unchanged.

Each group of figures (a run's, a sweep's, an overlay) is stored with a stamp of its inputs:
the size and modification time of every file in the results directories it reads, the figure
format, the chosen metric and split, and the package version and figure code. `lab report` run again on the same
directories finds the stamp in figures.json beside report.html and skips drawing that group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__

INDEX_FILE = "figures.json"
INPUT_FILES = (
    "manifest.json",
    "config.yaml",
    "epochs.csv",
    "summary.csv",
    "confusion.csv",
    "predictions.csv",
)


@dataclass
class SavedFigure:
    """What report.html needs of a figure already on disk (the fields of style.Plot it uses)."""

    name: str
    title: str
    section: str


def _code_stamp() -> list[tuple[str, int]]:
    """The figure code's files and modification times: edited figure code draws anew."""
    return [(path.name, path.stat().st_mtime_ns) for path in sorted(Path(__file__).parent.glob("*.py"))]


def inputs_stamp(directories: list[Path], **options: object) -> str:
    """A digest of the results files in `directories` (size, mtime), of `options` and of the
    version and files of the figure code."""
    entries: list[object] = [__version__, _code_stamp(), sorted((k, str(v)) for k, v in options.items())]
    for directory in directories:
        directory = Path(directory)
        files = [directory / name for name in INPUT_FILES] + sorted(directory.glob("history/*"))
        files += [directory / "sweep.csv", directory / "sweep.json"]
        for path in files:
            if path.is_file():
                stat = path.stat()
                entries.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _read_index(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / INDEX_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def reuse_or_draw(
    out_dir: Path,
    group: str,
    stamp: str,
    draw: Callable[[], list[tuple[Any, Path]]],
) -> tuple[list[tuple[Any, Path]], bool]:
    """The figures of `group` in `out_dir`: reused when its stored stamp equals `stamp` and every
    file is still there, else `draw()` (which saves them and returns (plot, path) pairs) and
    recorded. Returns the (plot-like, path) pairs and whether they were reused."""
    index = _read_index(out_dir)
    entry = index.get(group)
    if entry and entry.get("stamp") == stamp:
        saved = [
            (SavedFigure(f["name"], f["title"], f["section"]), out_dir / f["file"]) for f in entry["figures"]
        ]
        if all(path.is_file() for _, path in saved):
            return saved, True
    drawn = draw()
    index[group] = {
        "stamp": stamp,
        "figures": [
            {"name": plot.name, "title": plot.title, "section": plot.section, "file": path.name}
            for plot, path in drawn
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / INDEX_FILE).write_text(json.dumps(index, indent=1))
    return drawn, False
