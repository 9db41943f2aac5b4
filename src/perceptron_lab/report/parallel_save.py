"""Saving a report's figures on every core.

Rendering a figure to PNG or SVG costs several times more than building it, so the figures are
built once in this process and workers forked from it (which inherit them) render and write
their share. Too few figures, one core, a platform without a safe fork, or a daemonic process
(which may not start children) save in this process, one after another.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .style import Plot

MIN_FIGURES = 4
"""Fewer figures than this are saved here: starting workers would cost more than it saves."""

_pending: list[Plot] = []
"""The figures the forked workers render, set just before they are forked."""


def _render(index: int, directory: str, fmt: str) -> str:
    return str(_pending[index].save(Path(directory), fmt))


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def save_plots(
    plots: list[Plot], directory: Path, fmt: str, saved: Callable[[Plot], None] | None = None
) -> list[Path]:
    """Save every plot into `directory` (as Plot.save does), in forked workers when worthwhile;
    returns the paths in `plots` order. saved(plot) is called here as each one is written."""
    from ..experiment.fork_executor import fork_available

    workers = min(usable_cores(), len(plots))
    if (
        len(plots) < MIN_FIGURES
        or workers < 2
        or not fork_available()
        or multiprocessing.current_process().daemon
    ):
        paths = []
        for plot in plots:
            paths.append(plot.save(directory, fmt))
            if saved is not None:
                saved(plot)
        return paths
    global _pending
    _pending = plots
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_render, i, str(directory), fmt): i for i in range(len(plots))}
            found: dict[int, Path] = {}
            for future in as_completed(futures):
                index = futures[future]
                found[index] = Path(future.result())
                if saved is not None:
                    saved(plots[index])
    finally:
        _pending = []
    return [found[i] for i in range(len(plots))]
