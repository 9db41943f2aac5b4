"""The in-memory dataset every loader returns and every experiment consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "regression"]


@dataclass
class Dataset:
    """Features and targets of one dataset.

    Attributes:
        X: (n_samples, n_features) float array (float32 unless a loader says otherwise).
        y: classification -> (n_samples,) int labels in 0..n_classes-1;
           regression -> (n_samples, n_outputs) float targets.
        task: "classification" or "regression".
        classes: class names, index i names label i (classification only).
        feature_names: optional names of the n_features columns.
        meta: free-form facts for reports (image shape, source file, encoding, ...).
    """

    X: np.ndarray
    y: np.ndarray
    task: Task
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {self.X.shape}")
        if self.task == "regression" and self.y.ndim == 1:
            self.y = self.y.reshape(-1, 1)
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")
        if self.task == "classification" and self.classes is None:
            self.classes = [str(c) for c in range(int(self.y.max()) + 1)]

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        """Width of the network's output layer: n_classes, or the number of regression targets."""
        if self.task == "classification":
            assert self.classes is not None  # __post_init__ names the classes of a classification
            return len(self.classes)
        return self.y.shape[1]

    def subset(self, index: np.ndarray) -> Dataset:
        """Rows `index` (1-D int array) as a new Dataset sharing classes and meta."""
        return Dataset(self.X[index], self.y[index], self.task, self.classes, self.feature_names, self.meta)
