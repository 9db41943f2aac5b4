"""Which rows each replica trains, validates and tests on (scikit-learn splitters).

scikit-learn is imported only when rows are actually split, so runs with a separate test set
and no validation split start without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class ReplicaSplit:
    """One replica = one (run, fold): its seed and its row indices into the loaded dataset.

    `test` indexes the main dataset (holdout part or held-out fold); it is empty when the test
    split comes from a separate test dataset (then a held-out fold joins `validation`) or when
    there is none.
    """

    run: int
    fold: int
    seed: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _stratify_labels(y: np.ndarray, classification: bool, stratify: bool) -> np.ndarray | None:
    return y if classification and stratify else None


def _holdout(
    index: np.ndarray, y, size: float, seed: int, shuffle: bool, stratify
) -> tuple[np.ndarray, np.ndarray]:
    if size <= 0:
        return index, index[:0]
    from sklearn.model_selection import train_test_split

    try:
        kept, held = train_test_split(
            index,
            test_size=size,
            random_state=seed,
            shuffle=shuffle,
            stratify=None if stratify is None else stratify[index],
        )
    except ValueError as error:
        raise ConfigError(f"split: cannot split {len(index)} samples ({error})") from None
    return np.sort(kept), np.sort(held)


def make_splits(
    y: np.ndarray,
    *,
    classification: bool,
    runs: int,
    kfolds: int,
    seed: int,
    test_size: float,
    validation_split: float,
    stratify: bool = True,
    shuffle: bool = True,
    separate_test: bool = False,
) -> list[ReplicaSplit]:
    """Split rows 0..n-1 for every run x fold.

    Run r uses seed `seed + r` for its folds / holdout and its validation split, so a run can
    be reproduced alone with `seed: seed + r, runs: 1`.

    Args:
        y: (n,) labels (classification) or (n, out) targets; used for stratification.
        kfolds: > 1 for k-fold cross-validation; each fold's held-out part is its test split.
        test_size: holdout fraction when kfolds == 1 and there is no separate test set.
        validation_split: fraction of each training part held out as validation.
    Returns:
        runs * kfolds ReplicaSplit, run-major.
    """
    n = len(y)
    index = np.arange(n)
    labels = _stratify_labels(y, classification, stratify)
    if kfolds > n:
        raise ConfigError(f"kfolds: {kfolds} folds need at least {kfolds} samples, the dataset has {n}")
    splits = []
    for run in range(runs):
        run_seed = seed + run
        if kfolds > 1:
            from sklearn.model_selection import KFold, StratifiedKFold

            splitter_class = StratifiedKFold if labels is not None else KFold
            splitter = splitter_class(
                n_splits=kfolds, shuffle=shuffle, random_state=run_seed if shuffle else None
            )
            try:
                parts = list(splitter.split(index, labels))
            except ValueError as error:
                raise ConfigError(f"kfolds: cannot make {kfolds} folds ({error})") from None
        else:
            size = 0.0 if separate_test else test_size
            parts = [_holdout(index, labels, size, run_seed, shuffle, labels)]
        for fold, (train, held_out) in enumerate(parts):
            train, validation = _holdout(train, labels, validation_split, run_seed, shuffle, labels)
            if separate_test and kfolds > 1:
                validation, held_out = np.union1d(validation, held_out), held_out[:0]
            splits.append(ReplicaSplit(run, fold, run_seed, train, validation, np.sort(held_out)))
    return splits
