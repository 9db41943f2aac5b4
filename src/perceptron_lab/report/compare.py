"""Comparing several runs: one metric overlaid with bands, labelled by the config keys that differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from ..experiment.partials import is_partial, stale_partials
from ..experiment.results_dir import RunResults, is_run_dir
from .inputs import (
    PREFERRED_METRICS,
    PREFERRED_SPLITS,
    choose,
    final_mean_std,
    held_after_stopping,
    mean_std,
    metric_names,
    order_splits,
)
from .style import Plot, band, metric_bounds, metric_label, new_figure
from .tables import mean_pm_std

# Keys that name or place a run rather than change what it computes.
IGNORED_KEYS = ("name", "output")


def newest_run_dir(path: Path) -> Path | None:
    """The newest complete run directory directly inside `path` (results/<name>/), or None."""
    runs = [child for child in Path(path).iterdir() if child.is_dir() and is_run_dir(child)]
    if not runs:
        return None

    def finished(run: Path) -> tuple[str, str]:
        manifest = json.loads((run / "manifest.json").read_text())
        return str(manifest.get("finished") or manifest.get("created") or ""), run.name

    return max(runs, key=finished)


def resolve_run_dir(path: Path) -> Path:
    """A run directory as given, or results/<name>/ meaning its newest complete run."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: no such directory")
    if is_run_dir(path):
        return path
    newest = newest_run_dir(path)
    if newest is None:
        leftovers = stale_partials(path.parent if is_partial(path) else path, min_age_s=0)
        note = f" ({len(leftovers)} interrupted write(s) left as .partial, ignored)" if leftovers else ""
        raise UserError(
            f"{path}: not a complete run directory, a sweep directory, or a folder holding complete runs{note}"
        )
    return newest


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> {'optimizer.learning_rate': 0.1, ...}; lists stay values."""
    if not isinstance(config, dict):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def differing_keys(configs: list[dict]) -> list[str]:
    """Dotted keys whose value is not the same in every config (a missing key counts as different)."""
    flats = [flatten(c or {}) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    missing = object()
    differ = []
    for key in keys:
        if key.split(".")[0] in IGNORED_KEYS:
            continue
        values = [repr(flat.get(key, missing)) for flat in flats]
        if len(set(values)) > 1:
            differ.append(key)
    return differ


def short_key(key: str) -> str:
    """'optimizer.name' -> 'optimizer' (a named section is shown by its section)."""
    return key.removesuffix(".name")


def run_labels(runs: list[RunResults], keys: list[str]) -> list[str]:
    """'optimizer=adam, optimizer.learning_rate=0.01' per run; directory names break ties."""
    labels = []
    for run in runs:
        flat = flatten(run.config or {})
        parts = [f"{short_key(k)}={flat[k]}" for k in keys if flat.get(k) is not None]
        labels.append(", ".join(parts) or f"{run.name}/{run.path.name}")
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({run.path.name})" for label, run in zip(labels, runs)]
    return labels


def common_choices(runs: list[RunResults]) -> tuple[list[str], list[str]]:
    """Metrics and splits that every run recorded."""
    metrics = [m for m in metric_names(runs[0].epochs) if all(m in metric_names(r.epochs) for r in runs[1:])]
    splits = order_splits(
        s for s in runs[0].epochs["split"].unique() if all((r.epochs["split"] == s).any() for r in runs[1:])
    )
    return metrics, splits


def choose_metric_split(runs: list[RunResults], metric: str | None, split: str | None) -> tuple[str, str]:
    metrics, splits = common_choices(runs)
    return choose(metric, metrics, PREFERRED_METRICS, "metric"), choose(
        split, splits, PREFERRED_SPLITS, "split"
    )


def comparison_figure(runs: list[RunResults], metric: str, split: str) -> Plot:
    """`metric` on `split` per epoch, one band (mean ± std over replicas) per run."""
    labels = run_labels(runs, differing_keys([r.config for r in runs]))
    figure = new_figure(7.2, 4.6)
    ax = figure.add_subplot()
    for i, (run, label) in enumerate(zip(runs, labels)):
        rows, _ = held_after_stopping(run.epochs[run.epochs["split"] == split], metric)
        stats = mean_std(rows.dropna(subset=[metric]), ["epoch"], metric)
        band(
            ax,
            stats["epoch"].to_numpy(),
            stats["mean"].to_numpy(),
            stats["std"].to_numpy(),
            label,
            color=f"C{i % 10}",
            bounds=metric_bounds(metric),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric_label(metric))
    ax.set_title(
        f"{metric_label(metric)} on {split} (mean ± std over replicas; stopped ones hold their last value)",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return Plot(
        f"compare_{split}_{metric}", f"{metric_label(metric)} on {split}, per run", "Comparison", figure
    )


def comparison_table(runs: list[RunResults], split: str) -> pd.DataFrame:
    """Per run: the differing keys, final metrics on `split` (mean ± std) and the run's times."""
    keys = differing_keys([r.config for r in runs])
    metrics, _ = common_choices(runs)
    rows = []
    for run in runs:
        flat = flatten(run.config or {})
        means, stds = final_mean_std(run)
        row = {"run": f"{run.name}/{run.path.name}", **{short_key(k): flat.get(k) for k in keys}}
        row.update({m: mean_pm_std(means.at[split, m], stds.at[split, m]) for m in metrics})
        for key in ("wall_time_s", "train_time_s"):
            if key in run.manifest:
                row[key] = run.manifest[key]
        rows.append(row)
    return pd.DataFrame(rows)
