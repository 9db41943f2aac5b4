"""Shared figure helpers: Agg figures built without pyplot, split colours, saving to files.

Every figure is a `matplotlib.figure.Figure` with its own Agg canvas, so drawing a report
touches no global pyplot state and works without a display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..errors import UserError
from ..train import metric_registry

FORMATS = ("png", "svg")
DPI = 100
SPLIT_COLORS = {"train": "tab:blue", "validation": "tab:orange", "test": "tab:green"}
NOISE_COLORS = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def new_figure(
    width: float = 6.4,
    height: float = 4.2,
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
    dpi: float = DPI,
) -> Figure:
    """A figure with an Agg canvas (no pyplot); constrained layout unless told otherwise."""
    figure = Figure(figsize=(width, height), layout=layout, dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def metric_label(metric: str) -> str:
    """'mse_orig' -> 'MSE (original units)' (the metrics registry's label)."""
    return metric_registry.metric_label(metric)


def split_style(split: str, splits: list[str]) -> dict:
    """Line colour and style of a split: noise splits dashed, one colour each."""
    if split in SPLIT_COLORS:
        return {"color": SPLIT_COLORS[split], "linestyle": "-"}
    noisy = [s for s in splits if s not in SPLIT_COLORS]
    rank = noisy.index(split) if split in noisy else 0
    return {"color": NOISE_COLORS[rank % len(NOISE_COLORS)], "linestyle": "--"}


def metric_bounds(metric: str) -> tuple[float, float]:
    """The range a metric can take (the metrics registry's bounds; unbounded if unknown)."""
    return metric_registry.metric_bounds(metric)


def band(
    ax, x, mean, std, label: str, color=None, linestyle: str = "-", bounds=(-np.inf, np.inf), **line_style
) -> None:
    """A mean line with a shaded mean ± std band, the band clipped to the metric's range.

    line_style: further keyword arguments of the mean line (a marker, say).
    """
    (line,) = ax.plot(x, mean, label=label, color=color, linestyle=linestyle, linewidth=1.6, **line_style)
    low, high = np.clip(mean - std, *bounds), np.clip(mean + std, *bounds)
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.18, linewidth=0)


@dataclass
class Plot:
    """One figure of a report.

    name: file stem (unique within a report); title: the caption; section: the report section
    it belongs to. `figure` is drawn already; `save` writes <name>.<fmt>.
    """

    name: str
    title: str
    section: str
    figure: Figure

    def save(self, out_dir: Path, fmt: str = "png") -> Path:
        path = Path(out_dir) / f"{self.name}.{fmt}"
        metadata = {"Date": None} if fmt == "svg" else None
        self.figure.savefig(path, format=fmt, metadata=metadata)
        return path


@dataclass
class Animation(Plot):
    """An animated GIF over a fixed background.

    `figure` holds the static content; `update(i)` returns the artists of frame i (lines, a
    title), which are drawn over the background alone, so a frame costs only its own artists.
    """

    update: Callable[[int], list] = field(default=lambda i: [], repr=False)
    n_frames: int = 0
    fps: float = 3.0

    def frames(self) -> list[Image.Image]:
        canvas = self.figure.canvas
        assert isinstance(canvas, FigureCanvasAgg)  # new_figure gives every figure an Agg canvas
        first = self.update(0)
        for artist in first:
            artist.set_animated(True)
        canvas.draw()  # the background: animated artists are skipped
        self.figure.set_layout_engine("none")  # keep the layout of that draw for every frame
        background = canvas.copy_from_bbox(self.figure.bbox)
        images = []
        for i in range(self.n_frames):
            canvas.restore_region(background)
            for artist in first if i == 0 else self.update(i):
                artist.set_animated(True)
                self.figure.draw_artist(artist)
            rgba = np.asarray(canvas.buffer_rgba())
            # Fast octree quantization: Pillow's default median cut costs more than drawing.
            images.append(
                Image.fromarray(rgba[..., :3].copy()).quantize(255, method=Image.Quantize.FASTOCTREE)
            )
        return images

    def save(self, out_dir: Path, fmt: str = "png") -> Path:
        path = Path(out_dir) / f"{self.name}.gif"
        images = self.frames()
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / self.fps), loop=0)
        return path
