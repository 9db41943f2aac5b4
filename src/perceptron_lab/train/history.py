"""What a training run recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-epoch metrics and outcome of each replica.

    epochs: evaluated epochs (0 = untrained). logs[split][metric]: (E, R) array, NaN where a
    replica had already stopped. stopped_epoch (R,): last epoch each replica trained.
    best_epoch (R,): epoch of the best monitored value (the early-stopping monitor, else the
    lowest validation loss, else the lowest train loss). kept_epoch (R,): the epoch whose
    weights the network holds after fit (best_epoch for a replica early-stopped with
    restore_best, else stopped_epoch); every table's "final" values describe this epoch.
    status (R,): "ok", "early_stopped" or "diverged". weights_epochs / weights: recorded
    epochs and one get_weights() list each.
    """

    epochs: list[int]
    logs: dict[str, dict[str, np.ndarray]]
    stopped_epoch: np.ndarray
    best_epoch: np.ndarray
    status: np.ndarray
    weights_epochs: list[int] = field(default_factory=list)
    weights: list[list[np.ndarray]] = field(default_factory=list, repr=False)
    wall_time_s: float = 0.0
    kept_epoch: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kept_epoch is None:
            self.kept_epoch = np.asarray(self.stopped_epoch).copy()

    def final(self, split: str, metric: str) -> np.ndarray:
        """(R,) the metric at each replica's last evaluated epoch."""
        values = self.logs[split][metric]
        last = np.array(
            [np.flatnonzero(~np.isnan(col))[-1] if (~np.isnan(col)).any() else 0 for col in values.T]
        )
        return values[last, np.arange(values.shape[1])]
