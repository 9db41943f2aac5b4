"""A sweep directory: sweep.csv read back, the best point, and heatmap / line / ranking plots.

The layout is in docs/results-format.md ("The sweep directory"): sweep.json (the plan: name,
status, grid), config.yaml (the base config) and sweep.csv, one row per finished point:
`point` (its run directory, inside the sweep directory), one column per swept key (dotted name),
`status` (ok/diverged/failed/pruned), `wall_time_s`, `error`, then `<split>_<metric>_mean` and
`<split>_<metric>_std` of the final epoch. Only points with status ok count for the best point.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from ..config_yaml import safe_load
from ..errors import UserError
from ..experiment.results_dir import is_run_dir, read_mapping
from .inputs import HIGHER_IS_BETTER, PREFERRED_METRICS, PREFERRED_SPLITS, choose, order_splits
from .style import Plot, band, metric_bounds, metric_label, new_figure
from .tables import mean_pm_std

SWEEP_FILE = "sweep.csv"
PLAN_FILE = "sweep.json"
FIXED_COLUMNS = ("point", "wall_time_s", "status", "error")
RESULT_COLUMN = re.compile(
    r"^(?P<split>train|validation|test(?:_noise_[0-9.eE+-]+)?)_(?P<metric>.+)_(?P<stat>mean|std)$"
)


@dataclass
class SweepResults:
    """sweep.csv as `table`, the swept `keys` (grid order), the plan (sweep.json) and base config."""

    path: Path
    table: pd.DataFrame
    keys: list[str]
    plan: dict
    config: dict | None

    @property
    def name(self) -> str:
        return self.plan.get("name") or (self.config or {}).get("name") or self.path.parent.name

    @property
    def status(self) -> str:
        """'complete', 'running' (still running, or interrupted: resumable) or '' when unknown."""
        return str(self.plan.get("status", ""))

    @property
    def n_planned(self) -> int:
        return len(self.plan.get("points", [])) or len(self.table)

    def point_dir(self, point: str) -> Path:
        return self.path / str(point)

    def run_dirs(self) -> list[Path]:
        """The complete run directories of the points with status ok, in sweep.csv order."""
        ok = self.table[self.table["status"].astype(str) == "ok"] if "status" in self.table else self.table
        return [d for d in (self.point_dir(p) for p in ok["point"]) if is_run_dir(d)]


def is_sweep_dir(path: Path) -> bool:
    path = Path(path)
    return (path / PLAN_FILE).is_file() or (path / SWEEP_FILE).is_file()


def load_sweep(path: str | Path) -> SweepResults:
    """Read a sweep directory; UserError when it is none or no point has finished yet."""
    path = Path(path)
    if not is_sweep_dir(path):
        raise UserError(f"{path}: not a sweep directory (no {PLAN_FILE} or {SWEEP_FILE})")
    if not (path / SWEEP_FILE).is_file():
        raise UserError(f"{path}: no point of this sweep has finished yet (no {SWEEP_FILE})")
    plan = {}
    if (path / PLAN_FILE).is_file():
        try:
            plan = json.loads((path / PLAN_FILE).read_text())
        except json.JSONDecodeError as error:
            raise UserError(f"{path / PLAN_FILE}: unreadable ({error.msg} at line {error.lineno})") from None
    table = pd.read_csv(path / SWEEP_FILE, keep_default_na=False, na_values=[""])
    if "point" not in table.columns:
        raise UserError(f"{path / SWEEP_FILE}: no 'point' column")
    columns = [c for c in table.columns if c not in FIXED_COLUMNS and not RESULT_COLUMN.match(c)]
    keys = [k for k in plan.get("grid", {}) if k in table.columns] or columns
    config_file = path / "config.yaml"
    config = read_mapping(config_file, safe_load) if config_file.is_file() else None
    return SweepResults(path, table, keys, plan, config)


def sweep_choices(sweep: SweepResults) -> tuple[list[str], list[str]]:
    """The metrics and splits sweep.csv has final values for."""
    matches = [RESULT_COLUMN.match(c) for c in sweep.table.columns]
    found = [(m["split"], m["metric"]) for m in matches if m and m["stat"] == "mean"]
    return list(dict.fromkeys(m for _, m in found)), order_splits(s for s, _ in found)


def choose_sweep_metric_split(sweep: SweepResults, metric: str | None, split: str | None) -> tuple[str, str]:
    metrics, splits = sweep_choices(sweep)
    metric = choose(metric, metrics, PREFERRED_METRICS, "metric")
    split = choose(split, splits, PREFERRED_SPLITS, "split")
    if f"{split}_{metric}_mean" not in sweep.table.columns:
        raise UserError(f"{sweep.path / SWEEP_FILE}: no column {split}_{metric}_mean")
    return metric, split


def scored(sweep: SweepResults, metric: str, split: str) -> pd.DataFrame:
    """sweep.csv with `mean`/`std` of the chosen result; NaN for points that did not finish ok."""
    table = sweep.table.copy()
    ok = table["status"].astype(str) == "ok" if "status" in table else pd.Series(True, index=table.index)
    table["mean"] = table[f"{split}_{metric}_mean"].where(ok)
    table["std"] = (
        table[f"{split}_{metric}_std"].where(ok).fillna(0.0) if f"{split}_{metric}_std" in table else 0.0
    )
    return table


def best_point(sweep: SweepResults, metric: str, split: str) -> pd.Series | None:
    """The row with the best mean (max for scores, min for errors and losses), or None."""
    table = scored(sweep, metric, split).dropna(subset=["mean"])
    if table.empty:
        return None
    index = table["mean"].idxmax() if metric in HIGHER_IS_BETTER else table["mean"].idxmin()
    return table.loc[index]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _ticks(values) -> list[str]:
    return [f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v) for v in values]


def _heatmap(ax, figure, table: pd.DataFrame, keys: list[str], best, metric: str) -> None:
    rows, columns = keys
    grid = table.pivot_table(index=rows, columns=columns, values="mean", aggfunc="first", dropna=False)
    status = (
        table.pivot_table(index=rows, columns=columns, values="status", aggfunc="first")
        if "status" in table
        else None
    )
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="viridis", aspect="auto", origin="lower")
    figure.colorbar(image, ax=ax, label=metric_label(metric))
    ax.set_xticks(range(len(grid.columns)), _ticks(grid.columns))
    ax.set_yticks(range(len(grid.index)), _ticks(grid.index))
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    for i, j in np.ndindex(values.shape):
        value = values[i, j]
        if np.isnan(value):
            text = str(status.iloc[i, j]) if status is not None and status.shape == grid.shape else "missing"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="tab:red")
        else:
            bright = image.norm(value) > 0.6  # viridis is light at the top: dark text there
            ax.text(
                j,
                i,
                f"{value:.3g}",
                ha="center",
                va="center",
                fontsize=9,
                color="black" if bright else "white",
            )
    if best is not None:
        i, j = list(grid.index).index(best[rows]), list(grid.columns).index(best[columns])
        ax.add_patch(_rectangle(j, i))


def _rectangle(x: float, y: float) -> Rectangle:
    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)


def _line(ax, table: pd.DataFrame, key: str, best, metric: str) -> None:
    table = table.sort_values(key)
    numeric = _is_numeric(table[key])
    x = table[key].to_numpy(dtype=float) if numeric else np.arange(len(table))
    mean, std = table["mean"].to_numpy(dtype=float), table["std"].to_numpy(dtype=float)
    band(ax, x, mean, std, f"{metric} (mean ± std)", color="C0", bounds=metric_bounds(metric), marker="o")
    if numeric and (x > 0).all() and x.max() / x.min() >= 100:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(x, _ticks(table[key]))
    if best is not None:
        bx = float(best[key]) if numeric else float(np.flatnonzero(table.index == best.name)[0])
        ax.plot([bx], [best["mean"]], marker="*", markersize=16, color="red", linestyle="none", label="best")
    ax.set_xlabel(key)
    ax.set_ylabel(metric_label(metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _ranking(ax, table: pd.DataFrame, keys: list[str], best, metric: str) -> None:
    table = table.dropna(subset=["mean"]).sort_values("mean", ascending=metric not in HIGHER_IS_BETTER)
    labels = [", ".join(f"{k}={row[k]}" for k in keys) or str(row["point"]) for _, row in table.iterrows()]
    y = np.arange(len(table))[::-1]
    colors = ["red" if best is not None and index == best.name else "C0" for index in table.index]
    ax.barh(y, table["mean"], xerr=table["std"], color=colors, capsize=2)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(metric_label(metric))
    ax.set_ylabel("point")


def sweep_figure(sweep: SweepResults, metric: str, split: str) -> Plot:
    """Heatmap over two swept keys, line with std band over one, ranked bars over more; best in red."""
    table = scored(sweep, metric, split)
    best = best_point(sweep, metric, split)
    keys = sweep.keys
    if len(keys) == 2:
        figure = new_figure(6.8, 5.2)
        _heatmap(figure.add_subplot(), figure, table, keys, best, metric)
        kind = "heatmap"
    elif len(keys) == 1:
        figure = new_figure(6.4, 4.2)
        _line(figure.add_subplot(), table, keys[0], best, metric)
        kind = "line"
    else:
        figure = new_figure(7.2, 1.2 + 0.28 * len(table))
        _ranking(figure.add_subplot(), table, keys, best, metric)
        kind = "ranking"
    figure.suptitle(f"{sweep.name}: final {metric_label(metric)} on {split} per sweep point", fontsize=10)
    return Plot(
        f"sweep_{kind}_{split}_{metric}",
        f"Final {metric_label(metric)} on {split} over the sweep",
        "Sweep",
        figure,
    )


def sweep_table(sweep: SweepResults, metric: str, split: str) -> pd.DataFrame:
    """sweep.csv ranked by the chosen result, best first, with the result as 'mean ± std'."""
    table = scored(sweep, metric, split)
    table[f"{split} {metric}"] = [mean_pm_std(m, s) for m, s in zip(table["mean"], table["std"])]
    table = table.sort_values("mean", ascending=metric not in HIGHER_IS_BETTER, na_position="last")
    columns = [
        "point",
        *sweep.keys,
        f"{split} {metric}",
        *[c for c in ("wall_time_s", "status", "error") if c in table],
    ]
    return table[columns].reset_index(drop=True)
