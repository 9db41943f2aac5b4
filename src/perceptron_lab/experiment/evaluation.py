"""The per-epoch metrics of an experiment: the trainer's `evaluator` hook, per task."""

from __future__ import annotations

import numpy as np

from ..train.metrics import classification_metrics, confusion_matrices, regression_metrics
from .preparation import Preprocessors, SplitData, TargetCoding


class Evaluator:
    """Computes the task's metrics for a split from the network outputs.

    Called by the Trainer as evaluator(split, outputs (R, m, out), index (R, m), mask (R, m)) and
    returns {metric: (R,)}. Keeps the last confusion matrices per split (R, C, C) so callers can
    snapshot them at chosen epochs.
    """

    def __init__(
        self,
        splits: dict[str, SplitData],
        coding: TargetCoding | None,
        prep: Preprocessors,
        metrics: list[str],
    ):
        self.splits = splits
        self.coding = coding
        self.prep = prep
        self.metrics = set(metrics)
        self.last_confusion: dict[str, np.ndarray] = {}

    def __call__(
        self, split: str, outputs: np.ndarray, index: np.ndarray, mask: np.ndarray
    ) -> dict[str, np.ndarray]:
        data = self.splits[split]
        targets = data.Y[index]  # (R, m, out)
        if self.coding is not None:
            values = self._classification(split, data, outputs, index, mask)
            # SSE of the outputs against the encoded targets, as the course reports it.
            values["sse"] = np.where(mask[..., None], (outputs - targets) ** 2, 0.0).sum(axis=(1, 2))
        else:
            values = self._regression(data, outputs, targets, index, mask)
        return {name: value for name, value in values.items() if name.removesuffix("_orig") in self.metrics}

    def _classification(self, split, data, outputs, index, mask) -> dict[str, np.ndarray]:
        assert self.coding is not None  # __call__ sends only classifications here
        predicted = self.coding.decode(outputs)
        truth = data.truth[index]
        confusion = confusion_matrices(truth, predicted, mask, self.coding.n_classes)
        self.last_confusion[split] = confusion
        return classification_metrics(confusion)

    def _regression(self, data, outputs, targets, index, mask) -> dict[str, np.ndarray]:
        values = regression_metrics(targets, outputs, mask)
        if self.prep.targets is not None:
            original = np.stack(
                [self.prep.targets[r].inverse_transform(out) for r, out in enumerate(outputs)]
            )
            truth = data.truth[index].astype(original.dtype)
            values.update({f"{k}_orig": v for k, v in regression_metrics(truth, original, mask).items()})
        return values
