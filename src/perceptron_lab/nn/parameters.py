"""Parameters: every replica's weights in one (R, P) buffer, its gradient twin, and the state.

Row r of `values` holds replica r's trainable parameters, layer by layer in listed order and,
within a layer, in the order the layer declares them (Dense: kernel, then bias). `grads` has
the same layout. Non-trainable state (BatchNorm's moving mean and variance) lives in a second
buffer `state` (R, S), saved with the network and restored with the best weights, but never
touched by an optimizer. Every entry has named (R, *shape) views into these buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ParamSpec:
    """One array a layer declares: its name within the layer, its per-replica shape, whether
    the optimizer steps it (trainable) and whether weight decay / L1 act on it (decays)."""

    name: str
    shape: Shape
    trainable: bool = True
    decays: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Entry:
    """A declared array placed in a buffer: `layer` (its name), `spec`, and `columns` of
    `values`/`grads` (trainable) or of `state` (non-trainable)."""

    layer: str
    spec: ParamSpec
    columns: slice

    @property
    def name(self) -> str:
        return self.spec.name


class Parameters:
    """values (R, P), grads (R, P), state (R, S) and named (R, *shape) views into them.

    entries: the placed arrays in layout order; `views[layer][name]`, `grad_views[layer][name]`
    (trainable only) are (R, *shape) views. decay_columns: the column ranges of the kernels.
    """

    def __init__(self, layout: list[tuple[str, list[ParamSpec]]], replicas: int, dtype):
        self.replicas = int(replicas)
        self.dtype = np.dtype(dtype)
        trainable = [(layer, s) for layer, specs in layout for s in specs if s.trainable]
        state = [(layer, s) for layer, specs in layout for s in specs if not s.trainable]
        self.entries: list[Entry] = []
        self.state_entries: list[Entry] = []
        for placed, specs in ((self.entries, trainable), (self.state_entries, state)):
            offset = 0
            for layer, spec in specs:
                placed.append(Entry(layer, spec, slice(offset, offset + spec.size)))
                offset += spec.size
        R = self.replicas
        self.values = np.zeros((R, self.n_trainable), self.dtype)
        self.grads = np.zeros((R, self.n_trainable), self.dtype)
        self.state = np.zeros((R, self.n_state), self.dtype)
        self.views: dict[str, dict[str, np.ndarray]] = {layer: {} for layer, _ in layout}
        self.grad_views: dict[str, dict[str, np.ndarray]] = {layer: {} for layer, _ in layout}
        for entry in self.entries:
            self.views[entry.layer][entry.name] = self._view(self.values, entry)
            self.grad_views[entry.layer][entry.name] = self._view(self.grads, entry)
        for entry in self.state_entries:
            self.views[entry.layer][entry.name] = self._view(self.state, entry)

    def _view(self, buffer: np.ndarray, entry: Entry) -> np.ndarray:
        return buffer[:, entry.columns].reshape(self.replicas, *entry.spec.shape)

    @property
    def n_trainable(self) -> int:
        """Trainable parameters per replica (P)."""
        return sum(e.spec.size for e in self.entries)

    @property
    def n_state(self) -> int:
        """Non-trainable values per replica (S)."""
        return sum(e.spec.size for e in self.state_entries)

    @property
    def decay_columns(self) -> list[slice]:
        """Column ranges of `values` that weight decay and L1 act on (kernels, never biases)."""
        return [e.columns for e in self.entries if e.spec.decays]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (values, state)."""
        return self.values.copy(), self.state.copy()

    def restore(self, snapshot: tuple[np.ndarray, np.ndarray], rows=slice(None)) -> None:
        """Put back the given replica rows of a snapshot (values and state)."""
        values, state = snapshot
        self.values[rows] = values[rows]
        self.state[rows] = state[rows]

    def __repr__(self) -> str:
        return (
            f"Parameters(replicas={self.replicas}, trainable={self.n_trainable}, "
            f"state={self.n_state}, dtype={self.dtype})"
        )
