"""A Keras-like summary of a layer list: each layer, its output shape and parameter counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .layers import Layer
from .shapes import declared_arrays, infer_shapes


@dataclass
class Summary:
    """rows: (name, kind, output_shape, n_params) per layer; total = trainable + non_trainable
    (per replica; BatchNorm's moving statistics are the non-trainable ones, as Keras counts)."""

    input_shape: tuple[int, ...]
    rows: list[tuple[str, str, tuple[int, ...], int]]
    total: int
    trainable: int
    non_trainable: int

    def __str__(self) -> str:
        width = 64
        lines = [
            f"{'Layer (kind)':<30}{'Output shape':<20}{'Param #':>14}",
            "=" * width,
            f"{'input (input)':<30}{str((None, *self.input_shape)):<20}{0:>14,}",
        ]
        for name, kind, shape, n in self.rows:
            label = f"{name} ({kind})"
            if len(label) > 29:
                label = label[:28] + "~"
            lines.append(f"{label:<30}{str((None, *shape)):<20}{n:>14,}")
        lines += [
            "=" * width,
            f"Total params: {self.total:,}",
            f"Trainable params: {self.trainable:,}",
            f"Non-trainable params: {self.non_trainable:,}",
        ]
        return "\n".join(lines)


def summarize(layers: Sequence[Layer], input_shape: Sequence[int]) -> Summary:
    """The Summary of `layers` on inputs of `input_shape` (allocates nothing)."""
    input_shape = tuple(int(s) for s in input_shape)
    shapes = infer_shapes(layers, input_shape)
    rows = []
    trainable = non_trainable = 0
    for layer, shape, (name, specs) in zip(layers, shapes, declared_arrays(layers, input_shape)):
        t = sum(s.size for s in specs if s.trainable)
        f = sum(s.size for s in specs if not s.trainable)
        trainable += t
        non_trainable += f
        rows.append((name, layer.kind, shape, t + f))
    return Summary(input_shape, rows, trainable + non_trainable, trainable, non_trainable)
