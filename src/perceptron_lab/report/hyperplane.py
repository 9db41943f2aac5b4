"""The evolution of the separating line of a single-layer network on 2-D inputs.

A unit with kernel column w (2,) and bias b separates the plane along its pre-activation
w0*x0 + w1*x1 + b = 0: the decision threshold is 0 for step/tanh/identity outputs and 0.5 for
a sigmoid, both of which are pre-activation 0. A network with several output units draws one
line per unit (unit j against the rest). The points are the inputs as the network saw them
(predictions.csv's x0, x1), so the lines and the points live in the same space.
"""

from __future__ import annotations

import math

import numpy as np

from ..experiment.results_dir import RunResults
from .inputs import (
    class_names,
    input_columns,
    is_classification,
    listed_epochs,
    padded_limits,
    replica_order,
    replica_rows,
)
from .style import Animation, Plot, new_figure

MAX_FRAMES = 30
MAX_PANELS = 9
CLASS_COLORS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)


def has_hyperplanes(results: RunResults) -> bool:
    """Recorded weights of a one-layer classifier on 2-D inputs with the inputs in predictions.csv."""
    history = results.weights_history
    return (
        history is not None
        and is_classification(results)
        and "kernel_0" in history
        and "kernel_1" not in history
        and history["kernel_0"].shape[2] == 2
        and input_columns(results.predictions) == ["x0", "x1"]
    )


def chosen_frames(recorded: np.ndarray, listed: list[int] | None, limit: int = MAX_FRAMES) -> np.ndarray:
    """Indices into the recorded epochs (E,) to draw.

    Every recorded epoch that record.epochs lists; otherwise at most `limit` spread evenly over
    the recorded ones, first and last included.
    """
    recorded = np.asarray(recorded)
    if listed:
        return np.flatnonzero(np.isin(recorded, listed))
    count = min(len(recorded), limit)
    return np.unique(np.round(np.linspace(0, len(recorded) - 1, count)).astype(int))


def line_through(w: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Two points of {x : w·x + b = 0} for w (2,); None when w = 0 (no line)."""
    norm2 = float(w @ w)
    if norm2 == 0.0 or not np.isfinite(norm2):
        return None
    foot = -b * w / norm2  # the line's closest point to the origin
    direction = np.array([-w[1], w[0]])
    return foot, foot + direction


class HyperplaneDrawer:
    """Draws replica `replica`'s data and its lines at recorded epoch index i on an Axes."""

    def __init__(self, results: RunResults, replica: int = 0):
        history = results.weights_history
        assert history is not None  # drawn only for runs that recorded weights
        self.epochs = np.asarray(history["epochs"])
        self.kernel = history["kernel_0"][:, replica]  # (E, 2, out)
        self.bias = history["bias_0"][:, replica, 0]  # (E, out)
        self.classes = class_names(results)
        run, fold = replica_order(results)[replica]
        self.replica_label = f"run {run}, fold {fold}"
        assert results.predictions is not None  # drawn only for runs with predictions.csv
        self.points = replica_rows(results.predictions, run, fold)
        xy = results.predictions[["x0", "x1"]].to_numpy(dtype=float)
        self.xlim, self.ylim = padded_limits(xy[:, 0]), padded_limits(xy[:, 1])
        self.artists: dict[int, list] = {}

    def unit_color(self, j: int) -> str:
        return "black" if self.kernel.shape[2] == 1 else CLASS_COLORS[j % len(CLASS_COLORS)]

    def draw_points(self, ax, legend: bool) -> None:
        for split, marker in (("train", "o"), ("test", "x")):
            rows = self.points[self.points["split"] == split]
            for c, name in enumerate(self.classes):
                chosen = rows[rows["target"].astype(str) == name]
                if chosen.empty:
                    continue
                ax.scatter(
                    chosen["x0"],
                    chosen["x1"],
                    s=22,
                    marker=marker,
                    color=CLASS_COLORS[c % len(CLASS_COLORS)],
                    label=f"{split} {name}",
                    edgecolors="none" if marker == "o" else None,
                    alpha=0.8,
                )
        ax.set_xlim(self.xlim)
        ax.set_ylim(self.ylim)
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        if legend:
            ax.legend(fontsize=7, loc="upper right")

    def draw_lines(self, ax, i: int) -> list:
        """Replace the lines on `ax` by those of recorded epoch index i; returns the changed artists."""
        for artist in self.artists.pop(id(ax), []):
            artist.remove()
        drawn = []
        for j in range(self.kernel.shape[2]):
            points = line_through(self.kernel[i, :, j], float(self.bias[i, j]))
            if points is not None:
                drawn.append(ax.axline(points[0], points[1], color=self.unit_color(j), linewidth=1.8))
        self.artists[id(ax)] = drawn
        title = ax.set_title(f"epoch {int(self.epochs[i])}", fontsize=9)
        return [*drawn, title]


def hyperplane_grid(results: RunResults, replica: int = 0) -> Plot:
    """A grid of frames (at most MAX_PANELS of the chosen epochs, evenly spread)."""
    drawer = HyperplaneDrawer(results, replica)
    frames = chosen_frames(drawer.epochs, listed_epochs(results))
    if len(frames) > MAX_PANELS:
        frames = frames[chosen_frames(frames, None, MAX_PANELS)]
    columns = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / columns)
    # A fixed layout with shared axes: constrained layout over many panels is slow.
    figure = new_figure(2.3 * columns + 0.6, 2.2 * rows + 0.6, layout=None)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    figure.subplots_adjust(
        left=0.6 / figure.get_figwidth(),
        right=0.98,
        bottom=0.45 / figure.get_figheight(),
        top=1 - 0.75 / figure.get_figheight(),
        wspace=0.08,
        hspace=0.3,
    )
    for k, ax in enumerate(axes.ravel()):
        if k >= len(frames):
            ax.set_axis_off()
            continue
        drawer.draw_points(ax, legend=False)
        drawer.draw_lines(ax, frames[k])
        ax.tick_params(labelsize=7)
        ax.label_outer()
    figure.suptitle(f"{results.name}: separating lines ({drawer.replica_label})", fontsize=10)
    return Plot("hyperplane_frames", "Evolution of the separating line", "Separating line", figure)


def hyperplane_animation(results: RunResults, replica: int = 0) -> Animation:
    """An animated GIF with one frame per chosen epoch."""
    drawer = HyperplaneDrawer(results, replica)
    frames = chosen_frames(drawer.epochs, listed_epochs(results))
    figure = new_figure(4.8, 4.4)
    ax = figure.add_subplot()
    drawer.draw_points(ax, legend=True)
    ax.set_title("epoch 00000", fontsize=9)  # room for the frame titles in the layout
    figure.suptitle(f"{results.name} ({drawer.replica_label})", fontsize=9)
    return Animation(
        "hyperplane",
        "Evolution of the separating line (animated)",
        "Separating line",
        figure,
        update=lambda k: drawer.draw_lines(ax, frames[k]),
        n_frames=len(frames),
    )


def hyperplane_plots(results: RunResults) -> list[Plot]:
    if not has_hyperplanes(results):
        return []
    return [hyperplane_grid(results), hyperplane_animation(results)]
