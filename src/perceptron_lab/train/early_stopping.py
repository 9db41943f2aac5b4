"""Early stopping, decided for each replica on its own monitored metric."""

from __future__ import annotations

import numpy as np

from .metric_registry import metric_direction


class EarlyStopping:
    """Stop a replica when `monitor` ("<split>.<metric>") has not improved by more than
    `min_delta` for `patience` evaluations in a row.

    mode: "min" (lower is better) or "max"; None takes the metric's direction from the metrics
    registry ("max" for accuracy, "min" for loss). restore_best: when a replica stops, its weights go
    back to those of its best evaluation. A replica that runs to the last epoch keeps its final
    weights (its best epoch is still reported).
    """

    def __init__(
        self,
        monitor: str = "validation.loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: str | None = None,
    ):
        split, dot, metric = monitor.rpartition(".")
        if not dot or not split or not metric:
            raise ValueError(f"EarlyStopping: monitor must be '<split>.<metric>', got {monitor!r}")
        if mode is None:
            mode = metric_direction(metric)
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 1 or min_delta < 0:
            raise ValueError("EarlyStopping: patience must be >= 1 and min_delta >= 0")
        self.monitor, self.split, self.metric = monitor, split, metric
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.restore_best, self.mode = bool(restore_best), mode

    def get_config(self) -> dict:
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best": self.restore_best,
            "mode": self.mode,
        }

    def __repr__(self) -> str:
        return "EarlyStopping(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"

    def tracker(self, params) -> StoppingTracker:
        """Fresh per-replica state for one training of `params`: a network's Parameters
        (weights and non-trainable state are restored together) or an (R, P) array."""
        return StoppingTracker(self, params)


class StoppingTracker:
    """Per-replica best value, best epoch, evaluations without improvement and best weights
    (and best non-trainable state, such as BatchNorm's moving statistics)."""

    def __init__(self, rule: EarlyStopping, params):
        arrays = _arrays(params)
        R = arrays[0].shape[0]
        self.rule = rule
        sign = 1.0 if rule.mode == "min" else -1.0
        self._sign = sign
        self.best = np.full(R, np.inf)  # of sign * value, so lower is always better
        self.best_epoch = np.zeros(R, dtype=np.int64)
        self.wait = np.zeros(R, dtype=np.int64)
        self.best_params = [a.copy() for a in arrays] if rule.restore_best else None

    def update(self, epoch: int, values: np.ndarray, active: np.ndarray, params) -> np.ndarray:
        """Record this evaluation of the parameters (as given to the tracker); returns (R,)
        bool: the active replicas whose patience ran out."""
        score = self._sign * np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            improved = active & (score < self.best - self.rule.min_delta)
        self.best[improved] = score[improved]
        self.best_epoch[improved] = epoch
        self.wait[improved] = 0
        self.wait[active & ~improved] += 1
        if self.best_params is not None and improved.any():
            for best, current in zip(self.best_params, _arrays(params)):
                best[improved] = current[improved]
        return active & (self.wait >= self.rule.patience)

    def restore(self, which: np.ndarray, params) -> None:
        """Put the best weights (and state) back into the rows `which` of params, when restore_best."""
        if self.best_params is not None and which.any():
            for best, current in zip(self.best_params, _arrays(params)):
                current[which] = best[which]


def _arrays(params) -> list[np.ndarray]:
    """The (R, ...) arrays to track: a Parameters' values and state, or one array."""
    if isinstance(params, np.ndarray):
        return [params]
    return [params.values, params.state]
