"""Every metric a config can name: its task, whether lower or higher is better, its bounds, its label.

This module imports nothing from the rest of the package, so the config schema, the trainer
(early stopping's default mode), the tables and the report all read the same entries.

    >>> get_metric("accuracy").direction, get_metric("accuracy").bounds
    ('max', (0.0, 1.0))
    >>> get_metric("mse_orig").label
    'MSE (original units)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")
ORIGINAL_UNITS_SUFFIX = "_orig"
"""A regression metric recomputed on de-standardized targets: 'mse_orig' is 'mse' in original units."""


@dataclass(frozen=True)
class MetricEntry:
    """One metric.

    tasks: the tasks that compute it (loss and sse exist for both).
    direction: "min" when lower is better, "max" when higher is better.
    bounds: (low, high), the closed range the metric can take; +-inf where unbounded.
    label: how figures and tables name it.
    """

    name: str
    tasks: tuple[Task, ...]
    direction: Literal["min", "max"]
    bounds: tuple[float, float]
    label: str
    description: str

    @property
    def task(self) -> str:
        """'classification', 'regression', or 'any' when both tasks compute it."""
        return self.tasks[0] if len(self.tasks) == 1 else "any"

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "max"

    def applies_to(self, task: str) -> bool:
        return task in self.tasks

    def clip(self, values):
        """values clipped to the bounds (numpy arrays or floats)."""
        import numpy as np

        return np.clip(values, *self.bounds)


_BOTH: tuple[Task, ...] = TASKS
_NON_NEGATIVE = (0.0, math.inf)
_SCORE = (0.0, 1.0)

METRICS: dict[str, MetricEntry] = {
    entry.name: entry
    for entry in (
        MetricEntry(
            "loss", _BOTH, "min", _NON_NEGATIVE, "loss", "the training loss (what the optimizer minimizes)"
        ),
        MetricEntry("accuracy", ("classification",), "max", _SCORE, "accuracy", "fraction of correct labels"),
        MetricEntry(
            "precision", ("classification",), "max", _SCORE, "precision (macro)", "macro-averaged precision"
        ),
        MetricEntry("recall", ("classification",), "max", _SCORE, "recall (macro)", "macro-averaged recall"),
        MetricEntry("f1", ("classification",), "max", _SCORE, "F1 (macro)", "macro-averaged F1 score"),
        MetricEntry("mse", ("regression",), "min", _NON_NEGATIVE, "MSE", "mean squared error"),
        MetricEntry(
            "sse", _BOTH, "min", _NON_NEGATIVE, "SSE", "sum of squared errors over samples and outputs"
        ),
        MetricEntry("mae", ("regression",), "min", _NON_NEGATIVE, "MAE", "mean absolute error"),
        MetricEntry("r2", ("regression",), "max", (-math.inf, 1.0), "R²", "coefficient of determination"),
    )
}


def get_metric(name: str) -> MetricEntry:
    """The entry of `name`; 'mse_orig' (original units) shares the entry of 'mse'.

    Raises KeyError for an unknown name (callers turn it into their own one-line error)."""
    base = name.removesuffix(ORIGINAL_UNITS_SUFFIX)
    entry = METRICS[base]
    if base == name:
        return entry
    return replace(entry, name=name, label=f"{entry.label} (original units)")


def find_metric(name: str) -> MetricEntry | None:
    """get_metric(name), or None for a name the registry does not know."""
    try:
        return get_metric(name)
    except KeyError:
        return None


def metrics_for(task: str) -> tuple[str, ...]:
    """The metric names a task computes, in registry order."""
    return tuple(name for name, entry in METRICS.items() if entry.applies_to(task))


def metric_direction(name: str, default: Literal["min", "max"] = "min") -> Literal["min", "max"]:
    """'min' or 'max' for a known metric, `default` for an unknown one."""
    entry = find_metric(name)
    return entry.direction if entry is not None else default


def metric_bounds(name: str) -> tuple[float, float]:
    """(low, high) for a known metric; (-inf, inf) for an unknown one."""
    entry = find_metric(name)
    return entry.bounds if entry is not None else (-math.inf, math.inf)


def metric_label(name: str) -> str:
    """How figures name a metric; the name itself when the registry does not know it."""
    entry = find_metric(name)
    return entry.label if entry is not None else name
