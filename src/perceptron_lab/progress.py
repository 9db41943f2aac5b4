"""Progress of long operations as events for a listener; the library never prints.

An operation goes through phases (loading data, training, writing files, drawing figures, sweep
points, report figures). Each event says which phase, how far it is (`done` of `total`, total
None while unknown) and what is worth showing now (`status`: the latest mean loss, the best
point so far, ...). The `lab` command renders the events; library callers pass any callable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PHASES = {
    "load": "loading data",
    "train": "training",
    "write": "writing files",
    "plot": "drawing figures",
    "points": "sweep points",
    "report": "report",
}
"""Phase name -> what it is doing, for display."""


@dataclass(frozen=True)
class ProgressEvent:
    """phase: a key of PHASES; done of total steps (total None when unknown); status: extras,
    e.g. {"epoch": 300, "epochs": 1500, "loss": 0.12, "accuracy": 0.98} while training."""

    phase: str
    done: int
    total: int | None
    status: Mapping[str, Any] = field(default_factory=dict)


Progress = Callable[[ProgressEvent], None]
"""A listener: called with every event, in order, from the thread doing the work."""


def report(progress: Progress | None, phase: str, done: int, total: int | None, **status: Any) -> None:
    """Send an event to `progress` when there is a listener."""
    if progress is not None:
        progress(ProgressEvent(phase, done, total, status))
