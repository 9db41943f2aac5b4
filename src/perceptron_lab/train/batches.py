"""The minibatches of one epoch, per replica.

Replica r trains on its own rows train_index[r] (n_r of them): each epoch it shuffles them with
its own generator and cuts them into ceil(n_r / B) batches of B rows (the last one shorter),
exactly as it would alone. Stacked, step s takes batch s of every replica; when replicas have
different sizes, shorter batches are padded to the widest one with rows of weight 0, and a
replica with no batch left in a step sits that step out (it is inactive for the optimizer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass
class Step:
    """Step s of every epoch: columns [start, start + width) of the epoch's row order.

    scale: per-row loss-gradient scale, a float when every replica has `width` real rows,
    else (R, width, 1) with 0 on padding rows; counts: (R,) real rows per replica or None;
    active: (R,) bool replicas with rows in this step, or None when all have.
    """

    start: int
    width: int
    scale: float | np.ndarray
    counts: np.ndarray | None
    active: np.ndarray | None


class BatchSchedule:
    """Per-replica shuffled batches of `batch_size` rows (None = the whole set).

    train_index: list of R 1-D int arrays (rows of X); rngs: R numpy Generators;
    per_sample_mean: scale gradients by 1 / (rows in the batch) rather than 1 (summed losses).
    """

    def __init__(
        self,
        train_index: list[np.ndarray],
        batch_size: int | None,
        shuffle: bool,
        rngs: list[np.random.Generator],
        per_sample_mean: bool,
        dtype,
    ):
        self.index = [np.asarray(rows, dtype=np.intp) for rows in train_index]
        self.sizes = np.array([len(rows) for rows in self.index])
        self.shuffle = shuffle
        self.rngs = rngs
        largest = int(self.sizes.max())
        self.batch_size = largest if batch_size is None else min(int(batch_size), largest)
        self.n_steps = -(-largest // self.batch_size)
        self.uneven = bool((self.sizes != largest).any())
        self.steps = self._plan(per_sample_mean, np.dtype(dtype))
        if not self.uneven:
            self._stacked = self._fixed = np.stack(self.index)

    def _plan(self, per_sample_mean: bool, dtype) -> list[Step]:
        B = self.batch_size
        position = np.arange(self.n_steps * B)
        valid = position[None, :] < self.sizes[:, None]  # (R, S*B): the real rows of each replica
        steps = []
        for s in range(self.n_steps):
            cols = valid[:, s * B : (s + 1) * B]
            counts = cols.sum(axis=1)
            width = int(counts.max())
            if (counts == width).all():
                steps.append(Step(s * B, width, 1.0 / width if per_sample_mean else 1.0, None, None))
                continue
            weight = cols[:, :width].astype(dtype)
            if per_sample_mean:
                weight /= np.maximum(counts, 1)[:, None]
            active = counts > 0
            steps.append(Step(s * B, width, weight[:, :, None], counts, None if active.all() else active))
        return steps

    def order(self) -> np.ndarray:
        """(R, S*B) rows of X in this epoch's order (padded with each replica's first row).

        Replica r's order sorts its rows by keys rng_r.random(n_r).
        """
        if not self.uneven and not self.shuffle:
            return self._fixed
        if not self.uneven:
            keys = np.stack([rng.random(len(rows)) for rows, rng in zip(self.index, self.rngs)])
            return np.take_along_axis(self._stacked, keys.argsort(axis=1), axis=1)
        order = np.empty((len(self.index), self.n_steps * self.batch_size), dtype=np.intp)
        for r, (rows, rng) in enumerate(zip(self.index, self.rngs)):
            n = len(rows)
            order[r, :n] = rows[rng.random(n).argsort()] if self.shuffle else rows
            order[r, n:] = rows[0]
        return order

    def epoch(self) -> Iterator[tuple[np.ndarray, Step]]:
        """(rows (R, width), step) for every step of one epoch."""
        order = self.order()
        for step in self.steps:
            yield order[:, step.start : step.start + step.width], step
