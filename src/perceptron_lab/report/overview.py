"""The two panel figures `lab run` draws: every learning curve, and the final confusion matrices.

Two dense figures cost a fraction of one figure per metric and per split; `lab report` still
draws the detailed figures (report/curves.py, report/confusion.py). Their margins are fixed
rather than solved by a layout engine, which would double the time to save them.
"""

from __future__ import annotations

import math

from ..experiment.results_dir import RunResults
from .confusion import draw_matrix, final_epochs, mean_matrix, row_normalized
from .curves import draw_curve
from .inputs import class_names, metric_names, n_replicas, split_names
from .style import Plot, new_figure

PANEL_COLUMNS = 3
OVERVIEW_DPI = 80


def curves_overview(results: RunResults) -> Plot:
    """One panel per recorded metric (rows of PANEL_COLUMNS), mean ± std band per split."""
    metrics = metric_names(results.epochs)
    columns = min(PANEL_COLUMNS, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    width, height = 3.6 * columns, 2.7 * rows + 0.6
    figure = new_figure(width, height, layout=None, dpi=OVERVIEW_DPI)
    figure.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        bottom=0.5 / height,
        top=1 - 0.65 / height,
        wspace=0.38,
        hspace=0.35,
    )
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    held = [draw_curve(ax, results, metric, legend_size=None) for ax, metric in zip(axes, metrics)]
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    note = "; stopped replicas hold their last value" if any(held) else ""
    figure.suptitle(
        f"{results.name}: mean ± std over {n_replicas(results)} replicas{note}",
        fontsize=10,
        y=1 - 0.08 / height,
    )
    handles, labels = axes[0].get_legend_handles_labels()  # the splits, once for every panel
    figure.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.3 / height),
        ncol=min(len(labels), 8),
        fontsize=8,
    )
    return Plot("curves", "Learning curves, every metric", "Learning curves", figure)


def confusion_overview(results: RunResults) -> Plot | None:
    """Row-normalized confusion at each replica's final epoch, one panel per split (None for regression)."""
    if results.confusion is None or results.confusion.empty:
        return None
    classes = class_names(results)
    splits = split_names(results.confusion)
    side = 1.2 + 0.22 * len(classes)
    width, height = max(side * len(splits), 4.0), side + 0.5
    figure = new_figure(width, height, layout=None, dpi=OVERVIEW_DPI)
    figure.subplots_adjust(
        left=0.5 / width, right=1 - 0.1 / width, bottom=0.55 / height, top=1 - 0.5 / height, wspace=0.3
    )
    axes = figure.subplots(1, len(splits), squeeze=False)[0]
    font_size = 5 if len(classes) > 6 else 7
    for ax, split in zip(axes, splits):
        rows = final_epochs(results.confusion[results.confusion["split"] == split])
        matrix = row_normalized(mean_matrix(rows, classes))
        draw_matrix(ax, matrix, classes, ".2f", split, font_size=font_size)
    figure.suptitle(f"{results.name}: confusion at the final epoch, row-normalized", fontsize=10)
    return Plot("confusion", "Confusion matrices at the final epoch", "Confusion matrices", figure)
