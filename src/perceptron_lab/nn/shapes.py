"""The layer graph: names, inputs and per-sample shapes, checked before anything is allocated.

A network is a list of layers run in listed order. Layer i reads the outputs of the layers
named in its `inputs` (names of earlier layers, or "input" for the network input); without
`inputs` it reads the previous layer (layer 0 reads the network input). A layer without a
name gets its kind, numbered from the second one on ("dense", "dense_1", ...), as Keras does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layers import Layer

Shape = tuple[int, ...]
INPUT = "input"


class LayerShapeError(ValueError):
    """A layer list that cannot be built; `layer_index` is the 0-based index of the layer at fault."""

    def __init__(self, message: str, layer_index: int):
        super().__init__(message)
        self.layer_index = layer_index


def describe(shape: Shape) -> str:
    """'28x28x1' for (28, 28, 1); '784' for (784,)."""
    return "x".join(str(s) for s in shape) if shape else "a scalar"


def layer_names(layers: Sequence[Layer]) -> list[str]:
    """Every layer's name: its own, or its kind numbered like Keras ("conv2d", "conv2d_1", ...)."""
    taken = {layer.name for layer in layers if layer.name is not None}
    counts: dict[str, int] = {}
    names = []
    for index, layer in enumerate(layers):
        if layer.name is not None:
            if layer.name in names or layer.name == INPUT:
                raise LayerShapeError(
                    f"layer {index} ({layer.name}): the name {layer.name!r} is taken", index
                )
            names.append(layer.name)
            continue
        while True:
            k = counts.get(layer.kind, 0)
            counts[layer.kind] = k + 1
            name = layer.kind if k == 0 else f"{layer.kind}_{k}"
            if name not in taken:
                break
        names.append(name)
    return names


def layer_inputs(layers: Sequence[Layer], names: Sequence[str] | None = None) -> list[list[int]]:
    """For each layer, the nodes it reads: 0 is the network input, j + 1 the output of layer j."""
    names = layer_names(layers) if names is None else names
    graph = []
    for index, layer in enumerate(layers):
        if layer.inputs is None:
            graph.append([index])  # node `index` is the previous layer's output (or the input)
            continue
        nodes = []
        for source in layer.inputs:
            if source == INPUT:
                nodes.append(0)
            elif source in names[:index]:
                nodes.append(names.index(source) + 1)
            else:
                known = ", ".join([INPUT, *names[:index]])
                raise LayerShapeError(
                    f"layer {index} ({names[index]}): input {source!r} is not an earlier layer; "
                    f"earlier: {known}",
                    index,
                )
        graph.append(nodes)
    return graph


def infer_shapes(layers: Sequence[Layer], input_shape: Sequence[int]) -> list[Shape]:
    """Per-layer output shapes (per sample) for inputs of `input_shape`; allocates nothing.

    Raises LayerShapeError naming the first layer whose input does not fit.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or any(s < 1 for s in input_shape):
        raise LayerShapeError(f"the input shape must be positive sizes, got {input_shape}", 0)
    names = layer_names(layers)
    graph = layer_inputs(layers, names)
    shapes: list[Shape] = [input_shape]
    for index, (layer, nodes) in enumerate(zip(layers, graph)):
        try:
            shape = tuple(int(s) for s in layer.output_shape([shapes[n] for n in nodes]))
        except LayerShapeError:
            raise
        except ValueError as error:
            raise LayerShapeError(f"layer {index} ({names[index]}): {error}", index) from None
        if any(s < 1 for s in shape):
            raise LayerShapeError(f"layer {index} ({names[index]}): its output {shape} would be empty", index)
        shapes.append(shape)
    return shapes[1:]


def size(shape: Shape) -> int:
    return math.prod(shape)


def declared_arrays(layers: Sequence[Layer], input_shape: Sequence[int]) -> list[tuple[str, list]]:
    """(layer name, its ParamSpecs) per layer, from shapes alone (allocates nothing)."""
    shapes = [tuple(int(s) for s in input_shape), *infer_shapes(layers, input_shape)]
    names = layer_names(layers)
    graph = layer_inputs(layers, names)
    return [
        (name, layer.param_specs([shapes[n] for n in nodes]))
        for name, layer, nodes in zip(names, layers, graph)
    ]
