"""What the figures need from a loaded run directory: metric and split names, classes, groups.

Everything here reads a `RunResults` (see experiment/results_dir.py); nothing reloads data.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import UserError
from ..experiment.results_dir import RunResults
from ..train.metric_registry import METRICS, ORIGINAL_UNITS_SUFFIX

KEY_COLUMNS = ("run", "fold", "seed", "epoch", "split")
SUMMARY_COLUMNS = ("run", "fold", "seed", "split", "kind", "epoch", "status")
BASE_SPLITS = ("train", "validation", "test")
NOISE_SPLIT = re.compile(r"^test_noise_(?P<alpha>[0-9.eE+-]+)$")
# Metrics where a larger value is better (the rest are errors/losses: smaller is better).
HIGHER_IS_BETTER = frozenset(
    name + suffix
    for name, entry in METRICS.items()
    if entry.higher_is_better
    for suffix in ("", ORIGINAL_UNITS_SUFFIX)
)
PREFERRED_METRICS = ("accuracy", "mse", "loss")
PREFERRED_SPLITS = ("test", "validation", "train")


def metric_names(epochs: pd.DataFrame) -> list[str]:
    """Metric columns of epochs.csv, in file order."""
    return [c for c in epochs.columns if c not in KEY_COLUMNS]


def noise_alpha(split: str) -> float | None:
    """'test_noise_0.3' -> 0.3; None for a split without noise."""
    match = NOISE_SPLIT.match(split)
    return float(match["alpha"]) if match else None


def order_splits(splits) -> list[str]:
    """train, validation, test, then the noise splits by increasing alpha, then anything else."""
    splits = list(dict.fromkeys(splits))
    base = [s for s in BASE_SPLITS if s in splits]
    alphas = {s: alpha for s in splits if (alpha := noise_alpha(s)) is not None}
    noisy = sorted(alphas, key=alphas.__getitem__)
    rest = [s for s in splits if s not in base and s not in noisy]
    return base + noisy + rest


def split_names(frame: pd.DataFrame) -> list[str]:
    return order_splits(frame["split"].unique())


def is_classification(results: RunResults) -> bool:
    task = results.manifest.get("task")
    return task == "classification" if task else results.confusion is not None


def class_names(results: RunResults) -> list[str]:
    """Class names as strings (the CSVs are read back with numeric-looking names as numbers)."""
    classes = results.manifest.get("classes")
    if classes:
        return [str(c) for c in classes]
    if results.confusion is not None:
        return sorted(results.confusion["true"].astype(str).unique())
    return []


def n_replicas(results: RunResults) -> int:
    return len(results.manifest.get("replicas", [])) or results.epochs.groupby(["run", "fold"]).ngroups


def mean_std(frame: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Mean and population std (ddof=0, as summary.csv) of `column` per group of `by`."""
    groups = frame.groupby(by, sort=True)[column]
    return pd.DataFrame({"mean": groups.mean(), "std": groups.std(ddof=0).fillna(0.0)}).reset_index()


def held_after_stopping(epochs: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, bool]:
    """epochs.csv's `metric` rows (run, fold, split, epoch, metric), extended so that a replica
    that stopped early holds its last value at every later evaluated epoch of its split: a
    mean over replicas then never jumps when one drops out. Also whether any row was added."""
    rows = epochs[["run", "fold", "split", "epoch", metric]]
    last = rows.sort_values("epoch", kind="stable").groupby(["run", "fold", "split"]).tail(1)
    grid = rows[["split", "epoch"]].drop_duplicates()
    held = last.rename(columns={"epoch": "stopped"}).merge(grid, on="split")
    held = held[held["epoch"] > held["stopped"]].drop(columns="stopped")
    return pd.concat([rows, held[rows.columns]], ignore_index=True), not held.empty


def final_mean_std(results: RunResults) -> tuple[pd.DataFrame, pd.DataFrame]:
    """summary.csv's final-epoch rows over the replicas: (mean rows, std rows), each indexed by split."""
    summary = results.summary
    final = summary[summary["kind"] == "final"]
    run = final["run"].astype(str)
    return final[run == "mean"].set_index("split"), final[run == "std"].set_index("split")


def listed_epochs(results: RunResults) -> list[int]:
    """The epochs record.epochs of the config lists (empty when it lists none)."""
    return [int(e) for e in ((results.config or {}).get("record") or {}).get("epochs") or []]


def replica_order(results: RunResults) -> list[tuple[int, int]]:
    """(run, fold) of each replica in manifest order (the order of history/weights.npz)."""
    replicas = results.manifest.get("replicas")
    if replicas:
        return [(int(r["run"]), int(r["fold"])) for r in replicas]
    keys = results.epochs[["run", "fold"]].drop_duplicates()
    return [(int(r), int(f)) for r, f in keys.itertuples(index=False)]


def input_columns(predictions: pd.DataFrame | None) -> list[str]:
    """x0..x<f-1> columns of predictions.csv (present when the data has at most 3 features)."""
    if predictions is None:
        return []
    columns = [c for c in predictions.columns if re.fullmatch(r"x\d+", c)]
    return sorted(columns, key=lambda c: int(c[1:]))


def replica_rows(frame: pd.DataFrame, run: int, fold: int) -> pd.DataFrame:
    return frame[(frame["run"] == run) & (frame["fold"] == fold)]


def choose(value: str | None, valid: list[str], preferred: tuple[str, ...], what: str) -> str:
    """`value` checked against `valid`, or the first preferred one present."""
    if value is not None:
        if value not in valid:
            raise UserError(f"unknown {what} {value!r}; choose from {', '.join(valid)}")
        return value
    for candidate in preferred:
        if candidate in valid:
            return candidate
    if not valid:
        raise UserError(f"no {what} recorded")
    return valid[0]


def padded_limits(values: np.ndarray, pad: float = 0.15) -> tuple[float, float]:
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low or 1.0
    return low - pad * span, high + pad * span
