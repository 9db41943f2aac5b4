"""How much memory an experiment needs, estimated from its config before anything is allocated.

The estimate adds the arrays that grow with the config (itemsize s of the config's dtype):

    training state   R_chunk x P x s x (weights, gradients, scratch, optimizer states, best copy)
    activations      R_chunk x batch rows x units x s x 3 (pre-activations, outputs, deltas)
    scaled data      R_chunk x n x f x s when preprocessing fits one scaler per replica
    noisy copies     n x copies x (f x s + 8) per noisy split (training and each test alpha)
    kept models      replicas x P x s, plus recorded weight snapshots
    bookkeeping      replicas x (row indices of n samples + per-replica objects)

with P the parameter count, R_chunk the replicas trained at once (max_replicas) and n, f the
dataset's samples and features. It is a lower bound of the real footprint, so a config it
refuses cannot run; it is compared with the memory available now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adam": 2}
REPLICA_OVERHEAD_BYTES = 2048
"""Python objects per replica (its split, seeds, table rows), beyond its arrays."""


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def parameter_count(sizes: list[int]) -> int:
    """Weights and biases of dense layers `sizes` (input first): sum of (a + 1) * b."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


@dataclass(frozen=True)
class Estimate:
    total_bytes: int
    parameters: int
    replicas: int
    replicas_at_once: int
    itemsize: int

    def describe(self) -> str:
        return (
            f"about {human_bytes(self.total_bytes)} ({self.total_bytes:,} bytes) for "
            f"{self.parameters:,} parameters x {self.replicas:,} replicas "
            f"({self.replicas_at_once:,} trained at once, {self.itemsize}-byte floats)"
        )


def dense_shape(config) -> tuple[int, int]:
    """(parameters, units) of an architecture of layer sizes; (0, 0) for any other kind of
    architecture, whose network describes itself (pass its counts to estimate_memory)."""
    sizes = list(config.architecture)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        return 0, 0
    return parameter_count(sizes), sum(sizes[1:])


def estimate_memory(
    config, n_samples: int, n_features: int, parameters: int | None = None, units: int | None = None
) -> Estimate:
    """A lower bound of the bytes `config` needs on a dataset of n_samples x n_features.

    parameters, units: the network's parameter count and the activations one sample produces;
    by default those of the config's layer sizes (dense_shape).
    """
    itemsize = np.dtype(config.dtype).itemsize
    dense_parameters, dense_units = dense_shape(config)
    P = dense_parameters if parameters is None else parameters
    units = dense_units if units is None else units
    R = config.n_replicas
    chunk = min(config.max_replicas or R, R)
    es = config.early_stopping
    copies = 3 + OPTIMIZER_STATES.get(config.optimizer.name, 2) + int(es is not None and es.restore_best)
    batch = n_samples if config.batch_size == "full" else min(config.batch_size, n_samples)
    rows = max(batch, 1)
    training = chunk * (P * copies + rows * units * 3)
    scaled = chunk * n_samples * n_features if config.preprocessing.inputs != "none" else 0
    snapshots = len(set(config.record.epochs or []))
    if config.record.weights:
        snapshots = max(snapshots, config.epochs // config.eval_every + 1)
    kept = R * P * (1 + snapshots)
    bookkeeping = R * (n_samples * 8 + REPLICA_OVERHEAD_BYTES)
    noise = config.noise
    noisy_splits = len(noise.alpha) if noise.apply_to in ("test", "both") else 0
    noisy_splits += 1 if noise.apply_to in ("train", "both") and noise.alpha else 0
    noisy_splits += 1 if getattr(noise, "train_alpha", None) else 0
    noisy_rows = n_samples * noise.copies * noisy_splits
    total = (training + scaled + kept + noisy_rows * n_features) * itemsize + bookkeeping + noisy_rows * 8
    return Estimate(int(total), P, R, chunk, itemsize)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else physical memory), or None."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(
    config,
    n_samples: int,
    n_features: int,
    available: int | None = None,
    parameters: int | None = None,
    units: int | None = None,
) -> Estimate:
    """The estimate, or ConfigError (exit 2) when it exceeds the available memory."""
    estimate = estimate_memory(config, n_samples, n_features, parameters, units)
    available = available if available is not None else available_memory()
    if available is not None and estimate.total_bytes > available:
        hint = "smaller layers, fewer runs x kfolds"
        if estimate.replicas_at_once > 1:
            hint += ", or max_replicas to train fewer replicas at once"
        raise ConfigError(
            f"architecture/runs: the experiment needs {estimate.describe()}, more than the "
            f"{human_bytes(available)} of memory available; use {hint}"
        )
    return estimate
