"""The tables of a run report: final metrics (mean ± std) per split, and per-replica wall times."""

from __future__ import annotations

import pandas as pd

from ..experiment.results_dir import RunResults
from .inputs import final_mean_std, metric_names, order_splits


def mean_pm_std(mean: float, std: float) -> str:
    """'0.953 ± 0.012'; an empty cell for a metric that was not computed."""
    if pd.isna(mean):
        return ""
    return f"{mean:.4g} ± {std:.2g}"


def final_metrics_table(results: RunResults) -> pd.DataFrame:
    """Columns: split, epoch, then the metrics as 'mean ± std' of the final epoch over all replicas."""
    means, stds = final_mean_std(results)
    metrics = metric_names(results.epochs)
    return pd.DataFrame(
        [
            {
                "split": split,
                "epoch": f"{means.at[split, 'epoch']:.4g}",
                **{m: mean_pm_std(means.at[split, m], stds.at[split, m]) for m in metrics},
            }
            for split in order_splits(means.index)
        ]
    )


def replica_table(results: RunResults) -> pd.DataFrame:
    """One row per replica: run, fold, seed, sizes, status, epochs and wall time (manifest.json)."""
    columns = [
        "run",
        "fold",
        "seed",
        "n_train",
        "n_validation",
        "n_test",
        "status",
        "stopped_epoch",
        "best_epoch",
        "wall_time_s",
    ]
    table = pd.DataFrame(results.manifest.get("replicas", []))
    return table[[c for c in columns if c in table.columns]]


def timing_table(results: RunResults) -> pd.DataFrame:
    """The run's total wall time and training time (seconds)."""
    manifest = results.manifest
    rows = {key: manifest[key] for key in ("wall_time_s", "train_time_s") if key in manifest}
    return pd.DataFrame([rows]) if rows else pd.DataFrame()
