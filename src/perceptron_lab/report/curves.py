"""Learning curves: every recorded metric per epoch, mean ± std over runs x folds, all splits on one axis."""

from __future__ import annotations

import numpy as np

from ..experiment.results_dir import RunResults
from .inputs import held_after_stopping, mean_std, metric_names, n_replicas, split_names
from .style import Plot, band, metric_bounds, metric_label, new_figure, split_style


def spans_decades(values: np.ndarray, ratio: float = 1e3) -> bool:
    """Positive values whose finite range covers more than `ratio`: a log axis reads better."""
    finite = values[np.isfinite(values)]
    return finite.size > 1 and finite.min() > 0 and finite.max() / finite.min() > ratio


def draw_curve(ax, results: RunResults, metric: str, legend_size: float | None = 8) -> bool:
    """One metric per epoch on `ax`: a mean line and a ±std band per split (train, validation,
    test, noise); a legend of the splits unless legend_size is None. Replicas that stopped early
    count with their last value (held_after_stopping); returns whether any did."""
    epochs, held = held_after_stopping(results.epochs, metric)
    splits = split_names(epochs)
    stats = mean_std(epochs.dropna(subset=[metric]), ["split", "epoch"], metric)
    for split in splits:
        rows = stats[stats["split"] == split]
        if rows.empty:
            continue
        band(
            ax,
            rows["epoch"].to_numpy(),
            rows["mean"].to_numpy(),
            rows["std"].to_numpy(),
            split,
            bounds=metric_bounds(metric),
            **split_style(split, splits),
        )
    if spans_decades(stats["mean"].to_numpy()):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric_label(metric))
    ax.grid(alpha=0.3)
    if legend_size is not None:
        ax.legend(fontsize=legend_size)
    return held


def learning_curve(results: RunResults, metric: str) -> Plot:
    """One metric per epoch, mean ± std over the replicas, every split on one axis."""
    figure = new_figure()
    ax = figure.add_subplot()
    held = draw_curve(ax, results, metric)
    note = "; stopped replicas hold their last value" if held else ""
    ax.set_title(
        f"{results.name}: {metric_label(metric)} (mean ± std over {n_replicas(results)} replicas{note})",
        fontsize=10,
    )
    return Plot(f"curve_{metric}", f"{metric_label(metric)} per epoch", "Learning curves", figure)


def learning_curves(results: RunResults, metrics: list[str] | None = None) -> list[Plot]:
    """A learning curve per metric (every metric of epochs.csv when `metrics` is None)."""
    return [learning_curve(results, m) for m in (metrics or metric_names(results.epochs))]
