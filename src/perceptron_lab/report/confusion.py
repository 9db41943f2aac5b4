"""Confusion matrices (counts and row-normalized) at the final epoch and at the recorded epochs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiment.results_dir import RunResults
from .inputs import class_names, listed_epochs, split_names
from .style import Plot, new_figure

FINAL = "final"


def final_epochs(confusion: pd.DataFrame) -> pd.DataFrame:
    """The rows of each replica's last epoch (replicas that stopped early end sooner)."""
    last = confusion.groupby(["run", "fold", "split"])["epoch"].transform("max")
    return confusion[confusion["epoch"] == last]


def mean_matrix(rows: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Mean count over replicas of each (true, predicted) cell: (C, C), rows = true classes."""
    n_replicas = rows.groupby(["run", "fold"]).ngroups
    counts = rows.assign(true=rows["true"].astype(str), predicted=rows["predicted"].astype(str))
    table = counts.pivot_table(index="true", columns="predicted", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(index=classes, columns=classes, fill_value=0)
    return table.to_numpy(dtype=float) / max(n_replicas, 1)


def row_normalized(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the recall of that class on the diagonal); empty rows stay 0."""
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def snapshot_epochs(results: RunResults, split: str) -> list[int]:
    """Epochs listed in record.epochs that confusion.csv holds for `split`."""
    assert results.confusion is not None  # the report draws this only for runs with confusion.csv
    present = set(results.confusion.loc[results.confusion["split"] == split, "epoch"].astype(int))
    return sorted(set(listed_epochs(results)) & present)


def draw_matrix(
    ax, matrix: np.ndarray, classes: list[str], fmt: str, title: str, font_size: float | None = None
) -> None:
    """The matrix as an image, non-zero cells labelled (empty cells stay blank for readability)."""
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=matrix.max() or 1.0)
    size = font_size or (6 if len(classes) > 12 else 8)
    dark = matrix > matrix.max() / 2
    for i, j in zip(*np.nonzero(matrix)):
        ax.text(
            j,
            i,
            format(matrix[i, j], fmt),
            ha="center",
            va="center",
            fontsize=size,
            color="white" if dark[i, j] else "black",
            in_layout=False,
        )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")


def confusion_figure(results: RunResults, split: str) -> Plot:
    """Counts (top row) and row-normalized (bottom row), one column per chosen epoch + the final one."""
    assert results.confusion is not None  # the report draws this only for runs with confusion.csv
    confusion = results.confusion[results.confusion["split"] == split]
    classes = class_names(results)
    final = final_epochs(confusion)
    final_epoch_values = sorted(final["epoch"].astype(int).unique())
    columns: list[tuple[str, pd.DataFrame]] = []
    for epoch in snapshot_epochs(results, split):
        if final_epoch_values == [epoch]:
            continue  # the final matrix is drawn below
        columns.append((f"epoch {epoch}", confusion[confusion["epoch"] == epoch]))
    final_label = f"epoch {final_epoch_values[0]} (final)" if len(final_epoch_values) == 1 else "final epoch"
    columns.append((final_label, final))

    size = 2.2 + 0.32 * len(classes)
    figure = new_figure(max(size * len(columns), 4.8), 2 * size)
    axes = figure.subplots(2, len(columns), squeeze=False)
    for j, (label, rows) in enumerate(columns):
        matrix = mean_matrix(rows, classes)
        draw_matrix(axes[0, j], matrix, classes, ".3g", f"{label}: mean counts")
        draw_matrix(axes[1, j], row_normalized(matrix), classes, ".2f", f"{label}: row-normalized")
    n = confusion.groupby(["run", "fold"]).ngroups
    figure.suptitle(f"{results.name}: confusion on {split} (mean over {n} replicas)", fontsize=10)
    return Plot(f"confusion_{split}", f"Confusion matrices on {split}", "Confusion matrices", figure)


def confusion_figures(results: RunResults, splits: list[str] | None = None) -> list[Plot]:
    """One confusion figure per split of confusion.csv (or of `splits`); none for regression."""
    if results.confusion is None or results.confusion.empty:
        return []
    available = split_names(results.confusion)
    return [confusion_figure(results, s) for s in available if splits is None or s in splits]
