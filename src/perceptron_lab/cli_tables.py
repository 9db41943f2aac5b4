"""The tables `lab` prints: a run's final metrics and a sweep's best points, sized to the terminal.

The run summary is transposed (one row per metric, one column per split) so that split names
stay whole: noise splits are headed `noise <alpha>`, and when the splits do not fit the console
width they are spread over several tables.
"""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from .experiment.results_dir import RunResults
from .report.inputs import order_splits

SUMMARY_KEYS = ("run", "fold", "seed", "split", "kind", "epoch", "status")
VALUE_WIDTH = 8  # "± 0.0024", "-0.0123"
CELL_PADDING = 3  # a column's borders and padding


def _float(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def final_summary(results: RunResults) -> dict[str, Any]:
    """The final-epoch mean and std over the replicas of every metric on every split:
    {"name", "run_dir", "replicas", "splits": {split: {metric: {"mean", "std"}}}} (NaN -> None)."""
    summary = results.summary
    metrics = [c for c in summary.columns if c not in SUMMARY_KEYS]
    final = summary[summary["kind"] == "final"]
    run = final["run"].astype(str)
    splits: dict[str, dict[str, dict[str, float | None]]] = {}
    for split in order_splits(final["split"]):
        mean = final[(run == "mean") & (final["split"] == split)].iloc[0]
        std = final[(run == "std") & (final["split"] == split)].iloc[0]
        splits[split] = {m: {"mean": _float(mean[m]), "std": _float(std[m])} for m in metrics}
    return {
        "name": results.name,
        "run_dir": str(results.path),
        "replicas": len(results.manifest.get("replicas", [])),
        "splits": splits,
    }


def split_header(split: str) -> str:
    """'test_noise_0.3' -> 'noise 0.3' (the alpha keeps noise splits apart); others unchanged."""
    prefix = "test_noise_"
    return f"noise {split.removeprefix(prefix)}" if split.startswith(prefix) else split


def _cell(value: dict[str, float | None]) -> str:
    mean, std = value["mean"], value["std"]
    if mean is None:
        return "-"
    return f"{mean:.3g}" if std is None else f"{mean:.3g}\n± {std:.2g}"


def _column_width(text: str) -> int:
    return max(VALUE_WIDTH, *(len(word) for word in text.split())) + CELL_PADDING


def summary_tables(summary: dict[str, Any], width: int = 80) -> list[Table]:
    """The summary as rich Tables of at most `width` columns: metrics down, splits across."""
    splits = list(summary["splits"])
    metrics = list(next(iter(summary["splits"].values()))) if splits else []
    first = max([len("metric"), *(len(m) for m in metrics)]) + CELL_PADDING + 1
    groups: list[list[str]] = [[]]
    used = first
    for split in splits:
        need = _column_width(split_header(split))
        if groups[-1] and used + need > width:
            groups.append([])
            used = first
        groups[-1].append(split)
        used += need
    tables = []
    for i, group in enumerate(groups):
        title = f"{summary['name']}: final epoch, mean ± std over {summary['replicas']} replicas"
        if len(groups) > 1:
            title += f" ({i + 1}/{len(groups)})"
        table = Table(title=title if i == 0 or len(groups) > 1 else None)
        table.add_column("metric", no_wrap=True)
        for split in group:
            table.add_column(split_header(split), justify="right", min_width=VALUE_WIDTH)
        for metric in metrics:
            table.add_row(metric, *[_cell(summary["splits"][s][metric]) for s in group])
        tables.append(table)
    return tables


BEST_POINTS = 5


def best_points_table(sweep, limit: int = BEST_POINTS) -> Table | None:
    """The `limit` best points of a sweep (report.sweep_plots.SweepResults), best first: the
    swept values, the chosen result as mean ± std, wall time and status. None when no point
    has a result."""
    from .errors import UserError
    from .report.compare import short_key
    from .report.sweep_plots import choose_sweep_metric_split, sweep_table

    try:
        metric, split = choose_sweep_metric_split(sweep, None, None)
    except UserError:
        return None
    ranked = sweep_table(sweep, metric, split).head(limit)
    result = f"{split} {metric}"
    table = Table(title=f"{sweep.name}: best {len(ranked)} of {len(sweep.table)} points by final {result}")
    table.add_column("#", justify="right")
    for key in sweep.keys:
        table.add_column(short_key(key), justify="right")
    table.add_column(result, justify="right")
    table.add_column("time (s)", justify="right")
    table.add_column("status")
    for rank, (_, row) in enumerate(ranked.iterrows(), start=1):
        time_s = row.get("wall_time_s")
        table.add_row(
            str(rank),
            *[str(row[key]) for key in sweep.keys],
            str(row[result]),
            "" if time_s is None or time_s != time_s else f"{time_s:.2f}",
            str(row.get("status", "")),
        )
    return table
