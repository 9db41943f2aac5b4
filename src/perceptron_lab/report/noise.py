"""Final metrics versus the Gaussian noise alpha of the noisy test splits (alpha 0: the clean test)."""

from __future__ import annotations

import math

import pandas as pd

from ..experiment.results_dir import RunResults
from .inputs import final_mean_std, metric_names, noise_alpha
from .style import Plot, metric_label, new_figure


def noise_table(results: RunResults) -> pd.DataFrame:
    """Rows per alpha (0 = clean test) with <metric>_mean and <metric>_std of the final epoch."""
    means, stds = final_mean_std(results)
    rows = []
    for split in means.index:
        alpha = 0.0 if split == "test" else noise_alpha(split)
        if alpha is None:
            continue
        row = {"alpha": alpha, "split": split}
        for metric in metric_names(results.epochs):
            row[f"{metric}_mean"], row[f"{metric}_std"] = means.at[split, metric], stds.at[split, metric]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("alpha").reset_index(drop=True)


def has_noise(results: RunResults) -> bool:
    return any(noise_alpha(s) is not None for s in results.epochs["split"].unique())


def noise_figure(results: RunResults, metrics: list[str] | None = None) -> Plot:
    """One panel per metric: final value (mean with ±std error bars) against alpha."""
    table = noise_table(results)
    metrics = metrics or [m for m in metric_names(results.epochs) if m != "loss"]
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure = new_figure(3.6 * columns, 3.0 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(metrics) :]:
        ax.set_axis_off()
    for ax, metric in zip(axes, metrics):
        ax.errorbar(
            table["alpha"], table[f"{metric}_mean"], yerr=table[f"{metric}_std"], marker="o", capsize=3
        )
        ax.set_xlabel("noise alpha")
        ax.set_ylabel(metric_label(metric))
        ax.grid(alpha=0.3)
    figure.suptitle(f"{results.name}: final test metrics versus noise (mean ± std)", fontsize=10)
    return Plot("noise", "Final metrics versus noise alpha", "Noise", figure)


def noise_plots(results: RunResults, metrics: list[str] | None = None) -> list[Plot]:
    return [noise_figure(results, metrics)] if has_noise(results) else []
