"""The typed layer list of a config: one registry of layer kinds, each describing its parameters.

    architecture:
      - {input: [28, 28, 1]}                 # optional, see resolve_input_shape
      - {conv2d: {filters: 32, kernel: 3, padding: same, activation: relu}}
      - {maxpool2d: 2}                       # a bare value sets the kind's main parameter
      - batchnorm                            # a bare kind takes every default
      - flatten
      - {dense: {units: 10, activation: softmax}}

Every kind accepts `name` (for the summary and for later layers' `inputs`) and `inputs` (names of
earlier layers, or `input` for the network input; default: the previous layer), which is how a
skip connection is written: `{concatenate: {inputs: [input, hidden]}}`.

`LAYER_KINDS` is the one place the kinds and their parameters are described: config validation,
its error messages and the README table read it. Building nn layers and checking their shapes
live here too, so a config is checked before any data is loaded where the input shape is known.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from .errors import UserError
from .nn import (
    AveragePooling2D,
    BatchNorm,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    LayerShapeError,
    MaxPool2D,
    Reshape,
    infer_shapes,
)

Spec = str | dict[str, Any]
Pair = int | tuple[int, int]
Shape = tuple[int, ...]


class LayerParams(BaseModel):
    """Parameters every layer kind takes."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(
        None, min_length=1, description="the layer's name (summary, `inputs` of later layers)"
    )
    inputs: list[str] | None = Field(
        None,
        min_length=1,
        description="earlier layers it reads (`input`: the network input); default: the previous",
    )


class WeightedParams(LayerParams):
    """Parameters of the kinds with a kernel and a bias; unset ones take the config's globals."""

    activation: Spec | None = Field(
        None, description="default: `activation` (the last layer: `output_activation`, else `activation`)"
    )
    initializer: Spec | None = Field(None, description="kernel initializer; default: `initializer`")
    bias_initializer: Spec = Field("zeros", description="bias initializer")
    l1: float | None = Field(None, ge=0, description="L1 penalty on the kernel; default: `regularization.l1`")
    l2: float | None = Field(None, ge=0, description="L2 penalty on the kernel; default: `regularization.l2`")
    use_bias: bool = Field(True, description="add a bias")


class InputParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shape: list[PositiveInt] = Field(
        ..., min_length=1, description="per-sample shape, e.g. [28, 28, 1] (H, W, C), or n for flat rows"
    )

    @field_validator("shape", mode="before")
    @classmethod
    def _flat(cls, value):
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class DenseParams(WeightedParams):
    units: int = Field(..., ge=1, description="neurons")


class Conv2DParams(WeightedParams):
    filters: int = Field(..., ge=1, description="output channels")
    kernel: Pair = Field(..., description="kernel size: k or [kh, kw]")
    strides: Pair = Field(1, description="s or [sh, sw]")
    padding: Literal["valid", "same"] = Field("valid", description="same: output size = ceil(input / stride)")


class Pool2DParams(LayerParams):
    pool_size: Pair = Field(2, description="window: p or [ph, pw]")
    strides: Pair | None = Field(None, description="default: pool_size")
    padding: Literal["valid", "same"] = Field("valid", description="same: output size = ceil(input / stride)")


class DropoutParams(LayerParams):
    rate: float = Field(..., ge=0, lt=1, description="fraction of its inputs zeroed while training")


class GaussianNoiseParams(LayerParams):
    stddev: float = Field(..., ge=0, description="std of the noise added to its input while training")


class BatchNormParams(LayerParams):
    momentum: float = Field(0.99, ge=0, lt=1, description="of the running mean and variance (Keras)")
    epsilon: float = Field(1e-3, gt=0, description="added to the variance")


class FlattenParams(LayerParams):
    pass


class ReshapeParams(LayerParams):
    target_shape: list[PositiveInt] = Field(..., min_length=1, description="per-sample shape of the output")


class ConcatenateParams(LayerParams):
    inputs: list[str] = Field(..., min_length=2, description="the layers joined (`input`: the network input)")
    axis: int = Field(-1, description="axis of the per-sample shape they are joined along")


def _pair(value: Pair | None):
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class LayerDefaults:
    """The config's globals that weighted layers fall back on."""

    activation: Spec = "identity"
    output_activation: Spec | None = None
    initializer: Spec = "glorot_uniform"
    l1: float = 0.0
    l2: float = 0.0


def _weighted(params: WeightedParams, defaults: LayerDefaults, last: bool) -> dict[str, Any]:
    activation = defaults.output_activation if last and defaults.output_activation else defaults.activation
    return {
        "activation": params.activation if params.activation is not None else activation,
        "kernel_initializer": params.initializer if params.initializer is not None else defaults.initializer,
        "bias_initializer": params.bias_initializer,
        "l1": params.l1 if params.l1 is not None else defaults.l1,
        "l2": params.l2 if params.l2 is not None else defaults.l2,
        "use_bias": params.use_bias,
    }


def _build_dense(p: DenseParams, defaults: LayerDefaults, last: bool):
    return Dense(p.units, **_weighted(p, defaults, last), name=p.name, inputs=p.inputs)


def _build_conv2d(p: Conv2DParams, defaults: LayerDefaults, last: bool):
    return Conv2D(
        p.filters, _pair(p.kernel), _pair(p.strides), p.padding, **_weighted(p, defaults, last),
        name=p.name, inputs=p.inputs,
    )  # fmt: skip


def _build_maxpool2d(p: Pool2DParams, defaults: LayerDefaults, last: bool):
    return MaxPool2D(_pair(p.pool_size), _pair(p.strides), p.padding, name=p.name, inputs=p.inputs)


def _build_avgpool2d(p: Pool2DParams, defaults: LayerDefaults, last: bool):
    return AveragePooling2D(_pair(p.pool_size), _pair(p.strides), p.padding, name=p.name, inputs=p.inputs)


def _build_dropout(p: DropoutParams, defaults: LayerDefaults, last: bool):
    return Dropout(p.rate, name=p.name, inputs=p.inputs)


def _build_gaussian_noise(p: GaussianNoiseParams, defaults: LayerDefaults, last: bool):
    return GaussianNoise(p.stddev, name=p.name, inputs=p.inputs)


def _build_batchnorm(p: BatchNormParams, defaults: LayerDefaults, last: bool):
    return BatchNorm(p.momentum, p.epsilon, name=p.name, inputs=p.inputs)


def _build_flatten(p: FlattenParams, defaults: LayerDefaults, last: bool):
    return Flatten(name=p.name, inputs=p.inputs)


def _build_reshape(p: ReshapeParams, defaults: LayerDefaults, last: bool):
    return Reshape(p.target_shape, name=p.name, inputs=p.inputs)


def _build_concatenate(p: ConcatenateParams, defaults: LayerDefaults, last: bool):
    return Concatenate(p.axis, name=p.name, inputs=p.inputs)


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer a config can list.

    shorthand: the parameter a bare value sets (`{maxpool2d: 2}` is `{maxpool2d: {pool_size: 2}}`);
    build(params, defaults, last) -> the nn layer (None for `input`, which only states a shape);
    spatial: it needs (H, W, C) inputs.
    """

    name: str
    params: type[BaseModel]
    description: str
    shorthand: str | None = None
    build: Callable[[Any, LayerDefaults, bool], Any] | None = None
    spatial: bool = False


LAYER_KINDS: dict[str, LayerKind] = {
    kind.name: kind
    for kind in (
        LayerKind("input", InputParams, "the per-sample input shape (first entry only)", "shape"),
        LayerKind(
            "dense", DenseParams, "fully connected: activation(x @ kernel + bias)", "units", _build_dense
        ),
        LayerKind("conv2d", Conv2DParams, "2-D convolution of (H, W, C) images", None, _build_conv2d, True),
        LayerKind("maxpool2d", Pool2DParams, "maximum of each window", "pool_size", _build_maxpool2d, True),
        LayerKind("avgpool2d", Pool2DParams, "mean of each window", "pool_size", _build_avgpool2d, True),
        LayerKind(
            "batchnorm", BatchNormParams, "batch normalization of the last axis", None, _build_batchnorm
        ),
        LayerKind("dropout", DropoutParams, "inverted dropout while training", "rate", _build_dropout),
        LayerKind(
            "gaussian_noise",
            GaussianNoiseParams,
            "Gaussian noise added while training, fresh at every step (denoising)",
            "stddev",
            _build_gaussian_noise,
        ),
        LayerKind("flatten", FlattenParams, "(H, W, C) -> (H*W*C,)", None, _build_flatten),
        LayerKind(
            "reshape", ReshapeParams, "the same values in another shape", "target_shape", _build_reshape
        ),
        LayerKind(
            "concatenate", ConcatenateParams, "its inputs joined along an axis", "inputs", _build_concatenate
        ),
    )
}


def parameter_summary(kind: LayerKind) -> str:
    """'units (required), activation, ...; bare value: units' - a kind's parameters for listings."""
    fields = kind.params.model_fields
    shown = [n for n in fields if n != "name" and (n != "inputs" or fields[n].is_required())]
    names = [f"{n} (required)" for n in shown if fields[n].is_required()]
    names += [n for n in shown if not fields[n].is_required()]
    bare = f"; bare value: {kind.shorthand}" if kind.shorthand else ""
    return ", ".join(names) + bare


# ---------------------------------------------------------------------------------------------
# Parsing


class LayerListError(ValueError):
    """A layer list entry that cannot be used.

    path: where in the config, e.g. ("architecture", "3", "conv2d", "kernel");
    errors: pydantic's error list when the params failed validation (for its formatter).
    """

    def __init__(self, path: tuple[str, ...], message: str, errors: list | None = None):
        super().__init__(message)
        self.path = path
        self.errors = errors


@dataclass
class LayerSpec:
    """One parsed entry of a layer list: its position, kind and validated params."""

    index: int
    kind: str
    params: BaseModel

    @property
    def label(self) -> str:
        """'architecture.3 (conv2d)', or with its name: "architecture.3 (conv2d 'c2')"."""
        name = getattr(self.params, "name", None)
        return f"architecture.{self.index} ({self.kind}{f' {name!r}' if name else ''})"

    def canonical(self) -> dict[str, Any]:
        """{kind: {params as written, shorthands expanded}} (what config.yaml stores)."""
        return {self.kind: self.params.model_dump(exclude_unset=True)}


def _main_parameter(kind: LayerKind) -> str | None:
    """The parameter that names a layer best: its bare-value one, else its first required one."""
    required = [n for n, f in kind.params.model_fields.items() if f.is_required()]
    return kind.shorthand or (required[0] if required else None)


def describe_architecture(architecture: list) -> str:
    """'64-32-10' for MLP sizes; 'conv2d(16) maxpool2d(2) flatten dense(10)' for a canonical
    layer list (each kind with its main parameter)."""
    if not is_layer_list(architecture):
        return "-".join(str(size) for size in architecture)
    parts = []
    for entry in architecture:
        kind, params = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        main = _main_parameter(LAYER_KINDS[kind]) if kind in LAYER_KINDS else None
        value = params.get(main) if isinstance(params, dict) and main else None
        if isinstance(value, list):
            value = "x".join(map(str, value))
        parts.append(f"{kind}({value})" if value is not None else str(kind))
    return " ".join(parts)


def is_layer_list(architecture: list) -> bool:
    """True for a typed layer list; False for the MLP shorthand of sizes."""
    return any(not isinstance(entry, int) for entry in architecture)


def _suggest(kind: str) -> str:
    close = difflib.get_close_matches(kind, list(LAYER_KINDS), n=1, cutoff=0.4)
    return f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(LAYER_KINDS)}"


def parse_entry(index: int, entry: Any) -> LayerSpec:
    """One layer list entry (`kind`, or {kind: params | bare value}) -> LayerSpec; LayerListError."""
    path = ("architecture", str(index))
    where = f"architecture.{index}"
    if isinstance(entry, str):
        kind, value = entry, None
    elif isinstance(entry, dict) and len(entry) == 1:
        kind, value = next(iter(entry.items()))
    else:
        raise LayerListError(
            path, f"{where}: a layer is `kind` or {{kind: params}} with one kind, got {entry!r}"
        )
    if kind not in LAYER_KINDS:
        raise LayerListError(path, f"{where}: unknown layer kind '{kind}'{_suggest(str(kind))}")
    spec = LAYER_KINDS[kind]
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        if spec.shorthand is None:
            raise LayerListError(path + (kind,), f"{where} ({kind}) takes a mapping of params, got {value!r}")
        value = {spec.shorthand: value}
    try:
        params = spec.params.model_validate(value)
    except ValidationError as error:
        raise LayerListError(path + (kind,), str(error), errors=error.errors()) from None
    if kind == "input" and index != 0:
        raise LayerListError(path, f"{where}: input must be the first entry of the layer list")
    return LayerSpec(index, kind, params)


def parse_layer_list(architecture: list) -> list[LayerSpec]:
    """Every entry parsed; the list must hold at least one layer besides `input`."""
    specs = [parse_entry(i, entry) for i, entry in enumerate(architecture)]
    if not any(spec.kind != "input" for spec in specs):
        raise LayerListError(("architecture",), "architecture: the layer list has no layer besides input")
    return specs


def declared_input(specs: list[LayerSpec]) -> Shape | None:
    """The shape an `input` entry states, or None."""
    if specs and specs[0].kind == "input":
        return tuple(specs[0].params.shape)  # type: ignore[attr-defined]
    return None


def output_activation(specs: list[LayerSpec], defaults: LayerDefaults) -> Spec:
    """The activation of the list's output: its last entry's (identity unless dense or conv2d)."""
    last = specs[-1]
    if not isinstance(last.params, WeightedParams):
        return "identity"
    return _weighted(last.params, defaults, last=True)["activation"]


def layer_specs(specs: list[LayerSpec]) -> list[LayerSpec]:
    """The entries that become nn layers (all but `input`)."""
    return [spec for spec in specs if spec.kind != "input"]


# ---------------------------------------------------------------------------------------------
# Building and shape checks


def build_layers(specs: list[LayerSpec], defaults: LayerDefaults) -> list:
    """The nn layers of a parsed list; the last entry takes the output activation by default."""
    layers = layer_specs(specs)
    built = []
    for i, spec in enumerate(layers):
        try:
            built.append(LAYER_KINDS[spec.kind].build(spec.params, defaults, i == len(layers) - 1))  # type: ignore[misc]
        except (ValueError, UserError) as error:  # e.g. an unknown activation, a bad parameter
            raise LayerListError(
                ("architecture", str(spec.index), spec.kind), f"{spec.label}: {error}"
            ) from None
    return built


_NN_PREFIX = re.compile(r"^layer \d+ \([^)]*\): ")


def check_shapes(specs: list[LayerSpec], layers: list, input_shape: Shape) -> list[Shape]:
    """Per-layer output shapes of `layers` (built from `specs`) on `input_shape`, or
    LayerListError naming the entry whose input does not fit and the shapes involved."""
    entries = layer_specs(specs)
    first = entries[0]
    if len(input_shape) != 3 and LAYER_KINDS[first.kind].spatial and not first.params.inputs:  # type: ignore[attr-defined]
        raise LayerListError(
            ("architecture", str(first.index)),
            f"{first.label} needs (H, W, C) images but the input is {_describe(input_shape)}; "
            "state it first: `- {input: [H, W, C]}`",
        )
    try:
        return infer_shapes(layers, input_shape)
    except LayerShapeError as error:
        spec = entries[error.layer_index]
        reason = _NN_PREFIX.sub("", str(error))
        raise LayerListError(("architecture", str(spec.index)), f"{spec.label}: {reason}") from None


def _describe(shape: Shape) -> str:
    return "x".join(map(str, shape)) + (" (flat)" if len(shape) == 1 else "")


def image_input_shape(image_shape) -> Shape | None:
    """(H, W) -> (H, W, 1); (H, W, C) unchanged; None stays None."""
    if image_shape is None:
        return None
    shape = tuple(int(s) for s in image_shape)
    return (*shape, 1) if len(shape) == 2 else shape


def resolve_input_shape(
    specs: list[LayerSpec], n_features: int | None, image_shape: Shape | None
) -> Shape | None:
    """The network's per-sample input shape: the declared `input`; else the dataset's image
    shape when the first layer is spatial (conv2d, pooling); else its flat features (None when
    not known yet). A declared shape must hold the dataset's n_features values."""
    declared = declared_input(specs)
    if declared is not None:
        if n_features is not None and math.prod(declared) != n_features:
            raise LayerListError(
                ("architecture", "0"),
                f"architecture.0 (input): {_describe(declared)} holds {math.prod(declared)} values, "
                f"the dataset has {n_features} features",
            )
        return declared
    if image_shape is not None and LAYER_KINDS[layer_specs(specs)[0].kind].spatial:
        return image_shape
    return (n_features,) if n_features is not None else None
