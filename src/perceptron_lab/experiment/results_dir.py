"""Reading a results directory (the contract in docs/results-format.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..config_yaml import safe_load
from ..errors import UserError
from .partials import is_partial


@dataclass
class RunResults:
    """Everything one `lab run` wrote, loaded back.

    epochs/summary/confusion/predictions are the CSVs as DataFrames (None when absent);
    weights_history maps "epochs" -> (E,) and "kernel_<i>"/"bias_<i>" -> (E, R, ...) arrays.
    """

    path: Path
    config: dict
    manifest: dict
    epochs: pd.DataFrame
    summary: pd.DataFrame
    confusion: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    weights_history: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.path.parent.name)


TABLE_COLUMNS = {
    "epochs": ("run", "fold", "seed", "epoch", "split"),
    "summary": ("run", "fold", "seed", "split", "kind", "epoch", "status"),
    "confusion": ("run", "fold", "seed", "epoch", "split", "true", "predicted", "count"),
    "predictions": ("run", "fold", "seed", "split", "index"),  # then target, predicted (or mse)
}
"""The key columns each CSV of a run directory starts with (docs/results-format.md)."""


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


@contextmanager
def _reading(file: Path) -> Iterator[None]:
    """Any failure to read or parse `file` becomes one UserError line naming it."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"{file}: missing from the results directory") from None
    except (OSError, ValueError, yaml.YAMLError, pd.errors.ParserError, UnicodeDecodeError) as error:
        detail = " ".join(str(getattr(error, "problem", None) or error).split())[:200]
        raise UserError(f"{file}: unreadable ({type(error).__name__}: {detail})") from None


def read_mapping(file: Path, parse) -> dict:
    """`parse` of the text of `file`, which must give a mapping; one UserError line naming the file."""
    with _reading(file):
        data = parse(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise UserError(f"{file}: unreadable (expected a mapping, found {type(data).__name__})")
    return data


def _read_weights(file: Path) -> dict[str, np.ndarray] | None:
    if not file.exists():
        return None
    with _reading(file), np.load(file, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def is_run_dir(path: Path) -> bool:
    """True for a complete run directory: renamed into place (not a `.partial` build) with a
    manifest.json whose status is complete."""
    path = Path(path)
    manifest = path / "manifest.json"
    if is_partial(path) or not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return False
    return isinstance(data, dict) and data.get("status") == "complete"


def load_results(path: str | Path) -> RunResults:
    """Load a complete run directory written by `run_experiment` / `lab run`."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: no such results directory")
    if not is_run_dir(path):
        raise UserError(f"{path}: not a complete run directory (no manifest.json with status 'complete')")
    return read_run_dir(path)


def read_run_dir(path: str | Path) -> RunResults:
    """Read a run directory's files, complete or still being built (load_results checks that).

    A missing or malformed file (no epochs.csv, a `!!python` tag in config.yaml, an object
    array in weights.npz, ...) raises UserError naming it; nothing is unpickled.
    """
    path = Path(path)
    manifest = read_mapping(path / "manifest.json", json.loads)
    config = read_mapping(path / "config.yaml", safe_load)
    weights_history = _read_weights(path / "history" / "weights.npz")
    tables = {}
    for name, columns in TABLE_COLUMNS.items():
        file = path / f"{name}.csv"
        with _reading(file):
            table = pd.read_csv(file) if name in ("epochs", "summary") else _read_csv(file)
        tables[name] = table
        missing = [] if table is None else [c for c in columns if c not in table.columns]
        if missing:
            raise UserError(f"{file}: unreadable (no column {', '.join(missing)})")
    return RunResults(path=path, config=config, manifest=manifest, weights_history=weights_history, **tables)
