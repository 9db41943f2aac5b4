"""Per-class precision, recall and F1 at the final epoch: which classes generalize worst."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiment.results_dir import RunResults
from .confusion import final_epochs
from .inputs import class_names, split_names
from .style import Plot, new_figure

SCORES = ("precision", "recall", "f1")


def per_class_scores(confusion: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per replica and class: precision, recall, f1 from confusion counts.

    confusion: the rows of one split at one epoch per replica. Returns columns
    run, fold, class, precision, recall, f1 (scikit-learn's definitions, zero_division=0).
    """
    from sklearn.metrics import precision_recall_fscore_support  # on use: scikit-learn is slow to import

    rows = []
    for (run, fold), cells in confusion.groupby(["run", "fold"]):
        # Each cell (true, predicted, count) stands for `count` samples: weight instead of repeating.
        scores = precision_recall_fscore_support(
            cells["true"].astype(str),
            cells["predicted"].astype(str),
            labels=classes,
            sample_weight=cells["count"].to_numpy(dtype=float),
            zero_division=0,
        )
        for c, name in enumerate(classes):
            rows.append(
                {"run": run, "fold": fold, "class": name, **{s: scores[i][c] for i, s in enumerate(SCORES)}}
            )
    return pd.DataFrame(rows)


def classwise_figure(results: RunResults, split: str) -> Plot:
    """Grouped bars (precision, recall, F1) per class, mean with ±std error bars over replicas."""
    classes = class_names(results)
    assert results.confusion is not None  # the report draws this only for runs with confusion.csv
    confusion = final_epochs(results.confusion[results.confusion["split"] == split])
    scores = per_class_scores(confusion, classes)
    grouped = scores.groupby("class")[list(SCORES)]
    mean = grouped.mean().reindex(classes)
    std = grouped.std(ddof=0).reindex(classes).fillna(0.0)
    figure = new_figure(max(5.0, 1.0 + 0.55 * len(classes)), 3.8)
    ax = figure.add_subplot()
    x = np.arange(len(classes))
    width = 0.8 / len(SCORES)
    for i, score in enumerate(SCORES):
        ax.bar(x + (i - 1) * width, mean[score], width, yerr=std[score], capsize=2, label=score, alpha=0.85)
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("class")
    ax.set_ylabel("score")
    ax.set_title(f"{results.name}: per-class scores on {split}, final epoch (mean ± std)", fontsize=10)
    ax.legend(fontsize=8, ncols=3, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return Plot(
        f"classwise_{split}", f"Per-class precision / recall / F1 on {split}", "Per-class scores", figure
    )


def classwise_figures(results: RunResults, splits: list[str] | None = None) -> list[Plot]:
    if results.confusion is None or results.confusion.empty:
        return []
    return [
        classwise_figure(results, s) for s in split_names(results.confusion) if splits is None or s in splits
    ]
