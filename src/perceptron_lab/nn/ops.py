"""What a layer runs: an Op holds one layer's buffers for batches of a fixed width.

A BatchPass (backprop.py) builds one Op per layer. Every array is replica-stacked,
(R, rows, *shape). An Op's `forward(inputs, run)` takes the arrays its layer reads, with up to
`width` rows (R or 1 replicas: a leading 1 broadcasts shared inputs over the replicas at
inference) and returns its output, usually a view of its own buffer `out`. `backward(grad,
targets)` takes dL/d(output) (R, width, *shape), in a buffer the op may overwrite, and writes
dL/d(input k) into targets[k] = (buffer, accumulate) (accumulate: add instead of assigning,
where an output feeds several layers) or skips it when targets[k] is None; parameter
gradients go straight into the network's gradient buffer.

An Op whose layer `aliases_grad` (Dropout, Flatten, Reshape) may be told `aliased = True`:
its output's gradient buffer is then a view of its input's, and backward works in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int, ...]
Target = tuple[np.ndarray, bool] | None


@dataclass
class OpContext:
    """What a layer needs to build its Op: replicas R, batch `width`, dtype, whether the pass
    trains (dropout, batch statistics), the per-sample input/output shapes, its parameter
    views (R, *shape) by name (state included) and their gradient views, and whether it is
    the network's output layer (the loss then hands it dL/dz, past its activation)."""

    replicas: int
    width: int
    dtype: np.dtype
    training: bool
    input_shapes: list[Shape]
    output_shape: Shape
    params: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    is_output: bool = False

    def zeros(self, *shape: int) -> np.ndarray:
        return np.zeros(shape, self.dtype)


class Run:
    """One forward call's settings: training mode, per-replica generators for dropout (None:
    no dropout), counts (R,) real rows per replica (None: all), whether BatchNorm updates
    its running state, and an optional (R, n, out) array for the output layer's logits."""

    __slots__ = ("training", "rngs", "counts", "update_state", "logits")

    def __init__(self, training: bool = False, rngs=None, counts=None, update_state=False, logits=None):
        self.training = training
        self.rngs = rngs
        self.counts = counts
        self.update_state = update_state
        self.logits = logits


class Op:
    aliased = False
    out: Any = None

    def __init__(self, ctx: OpContext):
        self.replicas = ctx.replicas
        self.width = ctx.width
        self.single = ctx.replicas == 1
        self.is_output = ctx.is_output

    def rows(self, buffer: np.ndarray, n: int) -> np.ndarray:
        """The first n rows of an (R, width, ...) buffer (itself when n == width)."""
        return buffer if n == self.width else buffer[:, :n]

    def forward(self, inputs: list[np.ndarray], run: Run) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray, targets: list[Target]) -> None:
        raise NotImplementedError


def emit(target: Target, value: np.ndarray) -> None:
    """Write (or add) `value` into a gradient target."""
    if target is None:
        return
    buffer, accumulate = target
    if accumulate:
        buffer += value
    else:
        np.copyto(buffer, value)
