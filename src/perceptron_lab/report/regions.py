"""Decision regions of the final models on 2-D inputs.

The saved network of each replica (models/run<r>_fold<k>/network.json) is evaluated on a grid spanning
the inputs of predictions.csv (as the network saw them) and coloured by predicted class.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap

from ..experiment.results_dir import RunResults
from .hyperplane import CLASS_COLORS
from .inputs import class_names, input_columns, is_classification, padded_limits, replica_order, replica_rows
from .style import Plot, new_figure

GRID_POINTS = 150
MAX_PANELS = 6


def model_path(results: RunResults, run: int, fold: int):
    """The replica's saved network: models/run<r>_fold<k>/network.json, or in runs written
    before saved models were directories, models/run<r>_fold<k>.json."""
    current = results.path / "models" / f"run{run}_fold{fold}" / "network.json"
    older = results.path / "models" / f"run{run}_fold{fold}.json"
    return current if current.is_file() or not older.is_file() else older


def has_regions(results: RunResults) -> bool:
    """A classifier on 2-D inputs whose models were saved."""
    if not is_classification(results) or input_columns(results.predictions) != ["x0", "x1"]:
        return False
    return any(model_path(results, run, fold).is_file() for run, fold in replica_order(results))


def output_threshold(config: dict) -> float:
    """The decision threshold of a one-unit output: the middle of its activation's output range."""
    from ..nn import get_activation

    low, high = get_activation(config.get("output_activation") or config.get("activation")).output_range
    return (low + high) / 2


def predict_classes(model, points: np.ndarray, threshold: float) -> np.ndarray:
    """points (n, 2) -> class index (n,) of a single-replica model."""
    outputs = np.asarray(model.predict(points))[0]  # (n, out)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > threshold).astype(int)
    return outputs.argmax(axis=1)


def decision_regions(results: RunResults) -> Plot:
    """One panel per replica (at most MAX_PANELS): predicted-class regions with that replica's points."""
    from ..nn import load_network

    classes = class_names(results)
    assert results.predictions is not None  # the report draws this only for runs with predictions.csv
    xy = results.predictions[["x0", "x1"]].to_numpy(dtype=float)
    xs = np.linspace(*padded_limits(xy[:, 0]), GRID_POINTS)
    ys = np.linspace(*padded_limits(xy[:, 1]), GRID_POINTS)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    threshold = output_threshold(results.config)
    colors = [CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(len(classes))]
    cmap = ListedColormap(colors)

    replicas = [
        (run, fold) for run, fold in replica_order(results) if model_path(results, run, fold).is_file()
    ]
    replicas = replicas[:MAX_PANELS]
    columns = min(3, math.ceil(math.sqrt(len(replicas))))
    rows = math.ceil(len(replicas) / columns)
    figure = new_figure(3.4 * columns, 3.2 * rows + 0.4)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(replicas) :]:
        ax.set_axis_off()
    for ax, (run, fold) in zip(axes, replicas):
        model = load_network(model_path(results, run, fold))
        labels = predict_classes(model, grid.astype(np.float64), threshold).reshape(gx.shape)
        ax.contourf(gx, gy, labels, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap, alpha=0.25)
        points = replica_rows(results.predictions, run, fold)
        for split, marker in (("train", "o"), ("test", "x")):
            chosen = points[points["split"] == split]
            index = chosen["target"].astype(str).map({name: c for c, name in enumerate(classes)}).to_numpy()
            ax.scatter(
                chosen["x0"],
                chosen["x1"],
                c=index,
                cmap=cmap,
                vmin=-0.5,
                vmax=len(classes) - 0.5,
                marker=marker,
                s=18,
                label=split,
            )
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.set_title(f"run {run}, fold {fold}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="upper right")
    names = ", ".join(f"{name}: {color.removeprefix('tab:')}" for name, color in zip(classes, colors))
    figure.suptitle(f"{results.name}: decision regions of the final models ({names})", fontsize=10)
    return Plot("decision_regions", "Decision regions of the final models", "Decision regions", figure)


def region_plots(results: RunResults) -> list[Plot]:
    return [decision_regions(results)] if has_regions(results) else []
