"""Trainer: minibatch training of every replica of a Network at once.

Each step gathers every replica's batch into one (R, b, f) array, runs one stacked forward
and backward pass and one optimizer update. Replica r shuffles its own rows with
np.random.default_rng(SeedSequence(entropy_r, spawn_key=(1,))) (child 1 of its seed, so the
order is independent of the initial weights, drawn from the seed itself), where entropy_r is
`seeds[r]` given to fit(), else the network's seed of replica r. Replicas stop independently
(early stopping, divergence) and then stay frozen while the others go on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UserError
from ..nn.losses import Loss, get_loss
from ..nn.network import Network, stream
from ..nn.optimizers import get_optimizer
from ..nn.threads import SMALL_PRODUCT, BlasThreads
from .batches import BatchSchedule
from .early_stopping import EarlyStopping
from .history import History

Evaluator = Callable[[str, np.ndarray, np.ndarray, np.ndarray], dict]
Callback = Callable[[int, dict, np.ndarray], None]


@dataclass
class _Split:
    """An evaluation split: X (n, f), Y (n, out), per-replica rows `index` (R, m) padded with
    row 0 and `mask` (R, m) marking the real ones. identity: every replica uses all rows in
    order; shared: forward every row once for all replicas, then pick each replica's rows."""

    X: np.ndarray
    Y: np.ndarray
    index: np.ndarray
    mask: np.ndarray
    shared: bool
    identity: bool

    def targets(self) -> np.ndarray:
        """(R, m, out) targets of each replica's rows (a view when identity)."""
        if self.identity:
            if self._shared_targets is None:
                self._shared_targets = np.broadcast_to(self.Y, (*self.index.shape, self.Y.shape[1]))
            return self._shared_targets
        return self.Y[self.index]

    _shared_targets: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)


def _split(name: str, X, Y, index, network: Network) -> _Split:
    R = network.replicas
    X = np.asarray(X, dtype=network.dtype)
    Y = np.asarray(Y, dtype=network.dtype)
    X = _samples(name, X, network.input_shape)
    if Y.ndim != 2 or Y.shape != (X.shape[0], network.output_dim):
        raise ValueError(f"{name}: Y must be ({X.shape[0]}, {network.output_dim}), got {Y.shape}")
    n = X.shape[0]
    if index is None:
        rows = np.broadcast_to(np.arange(n), (R, n))
        return _Split(X, Y, rows, np.ones((R, n), bool), True, True)
    index = _index_list(name, index, R, n)
    width = max(len(rows) for rows in index)
    padded = np.zeros((R, width), dtype=np.intp)
    mask = np.zeros((R, width), dtype=bool)
    for r, rows in enumerate(index):
        padded[r, : len(rows)] = rows
        mask[r, : len(rows)] = True
    return _Split(X, Y, padded, mask, width * 2 >= n, False)


def _samples(name: str, X: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """X as (n, *shape); flat rows (n, prod(shape)) are reshaped."""
    if X.ndim == len(shape) + 1 and X.shape[1:] == shape:
        return X
    if X.ndim == 2 and X.shape[1] == int(np.prod(shape)):
        return X.reshape(X.shape[0], *shape)
    dims = ", ".join(str(s) for s in shape)
    raise ValueError(f"{name}: X must be (n, {dims}), got {X.shape}")


def _index_list(name: str, index, R: int, n: int) -> list[np.ndarray]:
    if len(index) != R:
        raise ValueError(f"{name}: {len(index)} index arrays for {R} replicas")
    out = []
    for r, rows in enumerate(index):
        rows = np.asarray(rows)
        if rows.ndim != 1 or (
            rows.size and (not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= n)
        ):
            raise ValueError(f"{name}: index of replica {r} must be 1-D ints in [0, {n})")
        out.append(rows.astype(np.intp, copy=False))
    return out


class Trainer:
    """Trains a Network (all its replicas) by minibatch gradient descent.

    loss / optimizer: registry specs (name, {"name": ..., **params} or instance).
    batch_size: int (1 = online), or None / "full" for the whole training set.
    early_stopping: EarlyStopping or None. eval_every: evaluate every N epochs (and at epoch 0
    and the last); None evaluates never (no logs, no divergence check: training alone, as
    scikit-learn's fit does it). record_weights: False, True (every evaluated epoch) or a list of epochs.
    evaluator(split, outputs (R, m, out), index (R, m), mask (R, m)) -> {metric: (R,)} adds
    metrics to the per-split "loss" the trainer computes, a per-sample mean for every loss
    (a summed loss such as sse is divided by the split's sample count). callback(epoch, logs,
    active) is called after every evaluation with logs[split][metric] (R,) and the (R,) still-training mask.
    """

    def __init__(
        self,
        loss="sse",
        optimizer="sgd",
        epochs: int = 100,
        batch_size: int | str | None = 32,
        shuffle: bool = True,
        early_stopping: EarlyStopping | None = None,
        eval_every: int | None = 1,
        record_weights: bool | Sequence[int] = False,
        evaluator: Evaluator | None = None,
        callback: Callback | None = None,
    ):
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Trainer: epochs must be an int >= 0, got {epochs!r}")
        if batch_size == "full":
            batch_size = None
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(
                f"Trainer: batch_size must be a positive int, None or 'full', got {batch_size!r}"
            )
        if eval_every is not None and eval_every < 1:
            raise ValueError(f"Trainer: eval_every must be >= 1 or None, got {eval_every!r}")
        if eval_every is None and early_stopping is not None:
            raise ValueError("Trainer: early stopping needs evaluations (eval_every=None)")
        self.loss: Loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        self.epochs = int(epochs)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.early_stopping = early_stopping
        self.eval_every = None if eval_every is None else int(eval_every)
        self.record_weights = (
            record_weights if isinstance(record_weights, bool) else sorted({int(e) for e in record_weights})
        )
        self.evaluator = evaluator
        self.callback = callback

    # -------------------------------------------------------------------------------------
    def fit(
        self,
        network: Network,
        X,
        Y,
        train_index=None,
        eval_sets: dict[str, tuple[Any, Any, Any]] | None = None,
        seeds: Sequence | None = None,
    ) -> History:
        """Train `network` in place and return its History.

        X (n, f), Y (n, out) encoded targets; train_index: R 1-D int arrays (rows of X each
        replica trains on; None = all rows for every replica); eval_sets: name -> (X, Y,
        R index arrays or None), evaluated every eval_every epochs besides "train"; seeds:
        per-replica entropies for batch order and dropout (default: the network's seeds).
        """
        started = time.perf_counter()
        R = network.replicas
        splits = {"train": _split("train", X, Y, train_index, network)}
        for name, spec in (eval_sets or {}).items():
            if name == "train":
                raise ValueError(
                    "eval_sets: 'train' is always evaluated on the training rows; use another name"
                )
            splits[name] = _split(name, *spec, network)
        train = splits["train"]
        index = (
            [np.arange(train.X.shape[0])] * R
            if train_index is None
            else _index_list("train", train_index, R, train.X.shape[0])
        )
        if any(len(rows) == 0 for rows in index):
            raise ValueError("train_index: every replica needs at least one training row")
        entropies = network.seeds if seeds is None else list(seeds)
        if len(entropies) != R:
            raise ValueError(f"seeds: {len(entropies)} entropies for {R} replicas")
        network.reset_noise(entropies)
        schedule = BatchSchedule(
            index,
            self.batch_size,
            self.shuffle,
            [stream(e, 1) for e in entropies],
            self.loss.per_sample_mean,
            network.dtype,
        )
        self.optimizer.prepare(network.parameters)
        run = _Run(self, network, splits, schedule)
        # Small training products run on one BLAS thread (see nn/threads.py); evaluation passes
        # whose products are large get the threads back.
        blas = BlasThreads()
        small_steps = network.largest_call(schedule.batch_size) < SMALL_PRODUCT
        eval_rows = min(network.chunk_rows(), max(split.index.shape[1] for split in splits.values()))
        if small_steps and network.largest_product(eval_rows) >= SMALL_PRODUCT:
            run.evaluation_threads = blas.restore
        with (
            np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"),
            blas.limit(1) if small_steps else contextlib.nullcontext(),
        ):
            run.train()
        network.release_buffers()
        history = run.history()
        history.wall_time_s = time.perf_counter() - started
        return history


class _Run:
    """The state of one fit(): epochs, per-replica status and the recorded logs."""

    def __init__(
        self, trainer: Trainer, network: Network, splits: dict[str, _Split], schedule: BatchSchedule
    ):
        R = network.replicas
        self.trainer = trainer
        self.network = network
        self.splits = splits
        self.schedule = schedule
        self.active = np.ones(R, dtype=bool)
        self.status = np.array(["ok"] * R, dtype="<U13")
        self.stopped_epoch = np.full(R, trainer.epochs, dtype=np.int64)
        self.epochs: list[int] = []
        self.logs: list[dict[str, dict[str, np.ndarray]]] = []
        self.weights_epochs: list[int] = []
        self.weights: list[list[np.ndarray]] = []
        rule = trainer.early_stopping
        if rule is not None and rule.split not in splits:
            raise UserError(
                f"early stopping monitor {rule.monitor!r}: no split {rule.split!r}; splits: {', '.join(splits)}"
            )
        self.tracker = rule.tracker(network.parameters) if rule is not None else None
        self.output_activation = network.output_activation
        self.needs_logits = trainer.loss.fuses(self.output_activation)
        self.evaluation_threads: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext

    # -- the loop --------------------------------------------------------------------------
    def train(self) -> None:
        trainer, network, schedule = self.trainer, self.network, self.schedule
        evaluates = trainer.eval_every is not None
        if evaluates:
            self.evaluate(0)
        X, Y = self.splits["train"].X, self.splits["train"].Y
        loss, optimizer = trainer.loss, trainer.optimizer
        params, grads = network.parameters.values, network.parameters.grads
        rngs = network._noise_rngs
        targets: dict[int, np.ndarray] = {}
        for epoch in range(1, trainer.epochs + 1):
            frozen = not self.active.all()
            for rows, step in schedule.epoch():
                width = step.width
                batch = network.batch_pass(width)
                if width not in targets:
                    targets[width] = np.empty((network.replicas, width, *Y.shape[1:]), network.dtype)
                target = Y.take(rows, axis=0, out=targets[width], mode="clip")
                batch.gather(X, rows)
                batch.forward(rngs, step.counts)
                batch.backward(target, step.scale, loss)
                active = step.active
                if frozen:
                    active = self.active if active is None else active & self.active
                optimizer.step(params, grads, active)
            last = epoch == trainer.epochs
            if trainer.eval_every is not None and (epoch % trainer.eval_every == 0 or last):
                self.evaluate(epoch)
            elif not isinstance(trainer.record_weights, bool) and epoch in trainer.record_weights:
                self._record(epoch)
            if not self.active.any():
                break

    def _records(self, epoch: int) -> bool:
        record = self.trainer.record_weights
        return record is True or (record is not False and epoch in record)

    def _record(self, epoch: int) -> None:
        self.weights_epochs.append(epoch)
        self.weights.append(self.network.get_weights())

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, epoch: int) -> None:
        trainer = self.trainer
        was_active = self.active.copy()
        logs = {}
        for name, split in self.splits.items():
            with self.evaluation_threads():
                outputs, logits = self._outputs(split)
            loss = trainer.loss.value(
                outputs,
                split.targets(),
                None if split.identity else split.mask,
                logits,
                self.output_activation,
            )
            # Logged per sample, as Keras does, so splits of any size compare.
            if not trainer.loss.per_sample_mean:
                loss = loss / np.maximum(split.mask.sum(axis=1), 1)
            values = {"loss": loss}
            if trainer.evaluator is not None:
                values.update(trainer.evaluator(name, outputs, split.index, split.mask))
            logs[name] = {
                k: np.where(was_active, np.asarray(v, dtype=np.float64), np.nan) for k, v in values.items()
            }
        self._check(epoch, logs)
        self.epochs.append(epoch)
        self.logs.append(logs)
        if self._records(epoch):
            self._record(epoch)
        if trainer.callback is not None:
            trainer.callback(epoch, logs, self.active.copy())

    def _outputs(self, split: _Split) -> tuple[np.ndarray, np.ndarray | None]:
        """Outputs and logits (R, m, values) of the split's rows (multi-axis outputs flattened)."""
        outputs, logits = self._network_outputs(split)
        R, m = outputs.shape[:2]
        return outputs.reshape(R, m, -1), None if logits is None else logits.reshape(R, m, -1)

    def _network_outputs(self, split: _Split) -> tuple[np.ndarray, np.ndarray | None]:
        network = self.network
        if split.shared:
            result = network.predict(split.X, return_logits=self.needs_logits)
            outputs, logits = result if self.needs_logits else (result, None)
            if split.identity:
                return outputs, logits
            pick = split.index[:, :, None]
            return (
                np.take_along_axis(outputs, pick, axis=1),
                None if logits is None else np.take_along_axis(logits, pick, axis=1),
            )
        R, m = split.index.shape
        chunk = network.chunk_rows()
        outputs = np.empty((R, m, *network.output_shape), network.dtype)
        logits = np.empty_like(outputs) if self.needs_logits else None
        for start in range(0, m, chunk):
            cols = slice(start, start + chunk)
            result = network.predict(
                split.X[split.index[:, cols]], batch_size=chunk, return_logits=self.needs_logits
            )
            if logits is not None:
                outputs[:, cols], logits[:, cols] = result
            else:
                outputs[:, cols] = result
        return outputs, logits

    def _check(self, epoch: int, logs: dict) -> None:
        """Divergence, then early stopping, for the replicas still training."""
        parameters = self.network.parameters
        params = parameters.values
        # A sum over a replica's parameters is finite only if every one of them is.
        finite = np.isfinite(logs["train"]["loss"]) & np.isfinite(np.add.reduce(params, axis=1))
        diverged = self.active & ~finite
        self._stop(diverged, epoch, "diverged")
        if self.tracker is not None:
            rule = self.tracker.rule
            if rule.metric not in logs[rule.split]:
                raise UserError(
                    f"early stopping monitor {rule.monitor!r}: no metric {rule.metric!r} in split "
                    f"{rule.split!r}; metrics: {', '.join(logs[rule.split])}"
                )
            stop = self.tracker.update(epoch, logs[rule.split][rule.metric], self.active, parameters)
            if epoch < self.trainer.epochs:  # at the last epoch a replica simply finishes
                self.tracker.restore(stop, parameters)
                self._stop(stop, epoch, "early_stopped")

    def _stop(self, which: np.ndarray, epoch: int, status: str) -> None:
        if which.any():
            self.active &= ~which
            self.status[which] = status
            self.stopped_epoch[which] = epoch

    # -- result ----------------------------------------------------------------------------
    def history(self) -> History:
        logs: dict[str, dict[str, np.ndarray]] = {}
        R = self.network.replicas
        for name in self.splits:
            metrics = list(dict.fromkeys(k for epoch_logs in self.logs for k in epoch_logs[name]))
            logs[name] = {
                metric: np.stack(
                    [epoch_logs[name].get(metric, np.full(R, np.nan)) for epoch_logs in self.logs]
                )
                for metric in metrics
            }
        last_epoch = self.epochs[-1] if self.epochs else self.trainer.epochs
        stopped = np.where(self.status == "ok", last_epoch, self.stopped_epoch)
        best = self._best_epoch(logs)
        rule = self.trainer.early_stopping
        restored = (self.status == "early_stopped") & (rule is not None and rule.restore_best)
        return History(
            epochs=list(self.epochs),
            logs=logs,
            stopped_epoch=stopped,
            best_epoch=best,
            kept_epoch=np.where(restored, best, stopped),
            status=self.status.copy(),
            weights_epochs=self.weights_epochs,
            weights=self.weights,
        )

    def _best_epoch(self, logs) -> np.ndarray:
        if self.tracker is not None:
            return self.tracker.best_epoch.copy()
        if not self.epochs:
            return np.full(self.network.replicas, self.trainer.epochs)
        split = "validation" if "validation" in logs else "train"
        values = logs[split]["loss"]
        filled = np.where(np.isnan(values), np.inf, values)
        return np.asarray(self.epochs)[np.argmin(filled, axis=0)]
