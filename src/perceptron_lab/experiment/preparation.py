"""From a loaded dataset and replica splits to the matrices and row indices the trainer takes.

Every split (train, validation, test, test_noise_<alpha>) becomes a `SplitData`: one input
matrix, its encoded targets, its ground truth, and per replica the rows of that matrix the
replica uses. Without preprocessing all replicas index one shared matrix (no copies). With
preprocessing each replica's scaler is fitted on its own training rows only, so each replica's
rows are transformed by its own scaler and stacked into one matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Dataset
from ..data.transforms import add_noise, make_scaler
from ..model import TargetCoding
from .splits import ReplicaSplit

__all__ = ["Preprocessors", "SplitBuilder", "SplitData", "TargetCoding"]


@dataclass
class SplitData:
    """The rows of one split.

    X: (m, f) inputs; Y: (m, out) encoded (and scaled) targets; truth: (m,) int labels
    (classification) or (m, out) targets in original units (regression); source: (m,) row of
    each sample in the loaded dataset it came from; index: per replica, a 1-D int array of rows
    of X.
    """

    X: np.ndarray
    Y: np.ndarray
    truth: np.ndarray
    source: np.ndarray
    index: list[np.ndarray]

    def trainer_set(self) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        return self.X, self.Y, self.index


@dataclass
class Preprocessors:
    """Per-replica fitted scalers (None where the config asks for none)."""

    inputs: list | None
    targets: list | None


def _noisy_split(
    X: np.ndarray, alpha: float, copies: int, seed: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noisy, source = add_noise(X, alpha, copies, rng)
    return noisy.astype(X.dtype, copy=False), source


def _take_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """X[rows], without a copy when `rows` is every row in order."""
    if len(rows) == len(X) and np.array_equal(rows, np.arange(len(X))):
        return X
    return X[rows]


def _rows_of(source: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rows whose source sample is in `wanted` (1-D int arrays)."""
    return np.flatnonzero(np.isin(source, wanted))


def _noisy_per_seed(
    X: np.ndarray,
    alpha: float,
    copies: int,
    stream: tuple[int, ...],
    seeds: list[int],
    rows: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Noisy copies of X drawn once per distinct replica seed, from (seed, *stream) alone, so
    run r gets the same noise stacked as alone (`seed: seed + r, runs: 1`).

    seeds: (R,) each replica's seed; rows: per replica, the rows of X it uses.
    Returns noisy X (m, f), its source rows of X (m,) and per replica its rows of noisy X.
    """
    blocks, sources, index = [], [], [np.zeros(0, np.intp)] * len(seeds)
    offset = 0
    for seed in dict.fromkeys(seeds):
        noisy, source = _noisy_split(X, alpha, copies, (seed, *stream))
        for r, replica_seed in enumerate(seeds):
            if replica_seed == seed:
                index[r] = offset + _rows_of(source, rows[r])
        blocks.append(noisy)
        sources.append(source)
        offset += len(noisy)
    return np.concatenate(blocks), np.concatenate(sources), index


class SplitBuilder:
    """Builds every split of one chunk of replicas."""

    def __init__(self, config, dataset: Dataset, test_dataset: Dataset | None, coding: TargetCoding | None):
        self.config = config
        self.dataset = dataset
        self.test_dataset = test_dataset
        self.coding = coding
        self.dtype = np.dtype(config.dtype)

    # -- targets -------------------------------------------------------------------------------
    def _targets(self, data: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(encoded targets (m, out), truth) of `rows` of `data`, before target scaling.

        A reconstruction's targets and truth are the clean inputs of those rows.
        """
        if self.config.task == "reconstruction":
            clean = _take_rows(data.X, rows)
            return clean.astype(self.dtype, copy=False), clean
        truth = data.y[rows]
        if self.coding is not None:
            return self.coding.encode(truth, self.dtype), truth
        return truth.astype(self.dtype, copy=False), truth

    # -- assembly ------------------------------------------------------------------------------
    def _assemble(
        self, X: np.ndarray, data: Dataset, source: np.ndarray, index: list[np.ndarray], prep: Preprocessors
    ) -> SplitData:
        """X (m, f) rows drawn from `data` rows `source` (m,); index per replica into X."""
        Y, truth = self._targets(data, source)
        if prep.inputs is None and prep.targets is None:
            return SplitData(X, Y, truth, source, index)
        parts_X, parts_Y, new_index, offset = [], [], [], 0
        for r, rows in enumerate(index):
            x = X[rows]
            y = Y[rows]
            if prep.inputs is not None:
                x = prep.inputs[r].transform(x)
            if prep.targets is not None:
                y = prep.targets[r].transform(y)
            parts_X.append(x.astype(self.dtype, copy=False))
            parts_Y.append(y.astype(self.dtype, copy=False))
            new_index.append(offset + np.arange(len(rows)))
            offset += len(rows)
        all_rows = np.concatenate(index) if index else np.zeros(0, int)
        return SplitData(
            np.concatenate(parts_X), np.concatenate(parts_Y), truth[all_rows], source[all_rows], new_index
        )

    def _fit_preprocessors(
        self, X_train: np.ndarray, Y_train: np.ndarray, index: list[np.ndarray]
    ) -> Preprocessors:
        kinds = self.config.preprocessing

        def fit(kind: str, matrix: np.ndarray):
            if kind == "none":
                return None
            return [make_scaler(kind).fit(matrix[rows]) for rows in index]

        inputs = fit(kinds.inputs, X_train)
        if self.config.task == "reconstruction":  # targets are inputs: the same scaler maps both
            return Preprocessors(inputs, inputs)
        return Preprocessors(inputs, fit(kinds.targets, Y_train))

    # -- splits --------------------------------------------------------------------------------
    def build(self, replicas: list[ReplicaSplit]) -> tuple[dict[str, SplitData], Preprocessors]:
        """All splits for `replicas`, keyed by split name, and the fitted preprocessors."""
        cfg = self.config
        data, X = self.dataset, self.dataset.X.astype(self.dtype, copy=False)
        noise = cfg.noise
        seeds = [rep.seed for rep in replicas]

        # Training rows: the clean matrix, or noisy copies of it when noise applies to training.
        if noise.training_alpha is not None:
            train_X, train_source, train_index = _noisy_per_seed(
                X, noise.training_alpha, noise.copies, (1, 0), seeds, [rep.train for rep in replicas]
            )
        else:
            train_X, train_source = X, np.arange(len(X))
            train_index = [rep.train for rep in replicas]
        train_Y, _ = self._targets(data, train_source)
        prep = self._fit_preprocessors(train_X, train_Y, train_index)

        splits = {"train": self._assemble(train_X, data, train_source, train_index, prep)}
        all_rows = np.arange(len(X))
        if any(len(rep.validation) for rep in replicas):
            splits["validation"] = self._assemble(
                X, data, all_rows, [rep.validation for rep in replicas], prep
            )

        if self.test_dataset is not None:
            test_data = self.test_dataset
            test_X = test_data.X.astype(self.dtype, copy=False)
            test_rows = [np.arange(len(test_X)) for _ in replicas]
        elif any(len(rep.test) for rep in replicas):
            test_data, test_X, test_rows = data, X, [rep.test for rep in replicas]
        else:
            return splits, prep
        test_source = np.arange(len(test_X))
        splits["test"] = self._assemble(test_X, test_data, test_source, test_rows, prep)
        if noise.alpha and noise.apply_to in ("test", "both"):
            for k, alpha in enumerate(noise.alpha):
                noisy_X, noisy_source, index = _noisy_per_seed(
                    test_X, alpha, noise.copies, (2, k), seeds, test_rows
                )
                splits[f"test_noise_{alpha:g}"] = self._assemble(
                    noisy_X, test_data, noisy_source, index, prep
                )
        return splits, prep
