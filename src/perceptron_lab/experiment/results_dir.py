"""Reading a results directory (the contract in docs/results-format.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

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


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


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
    """Read a run directory's files, complete or still being built (load_results checks that)."""
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text())
    config = yaml.safe_load((path / "config.yaml").read_text())
    history_file = path / "history" / "weights.npz"
    weights_history = None
    if history_file.exists():
        with np.load(history_file) as npz:
            weights_history = {key: npz[key] for key in npz.files}
    return RunResults(
        path=path,
        config=config,
        manifest=manifest,
        epochs=pd.read_csv(path / "epochs.csv"),
        summary=pd.read_csv(path / "summary.csv"),
        confusion=_read_csv(path / "confusion.csv"),
        predictions=_read_csv(path / "predictions.csv"),
        weights_history=weights_history,
    )
