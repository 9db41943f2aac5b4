"""The experiment config: one pydantic schema, shorthands, dotted overrides, errors with YAML lines.

A config is written by people, so the schema accepts the short forms the course uses
(`optimizer: adam`, `learning_rate: 0.1`, `noise_alpha: 0.3`) and resolves them into one canonical
nested form, which is what `config.yaml` in a results directory holds.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .errors import ConfigError, UserError
from .layer_specs import LayerListError

Spec = str | dict[str, Any]
"""A registry entry by name, or {"name": ..., **params}."""

# Top-level shorthands of the design card -> their canonical dotted path.
SHORTHANDS = {
    "learning_rate": "optimizer.learning_rate",
    "noise_alpha": "noise.alpha",
    "test_size": "split.test_size",
    "validation_split": "split.validation_split",
    "stratify": "split.stratify",
    "l1": "regularization.l1",
    "l2": "regularization.l2",
}
# Sections that may be written as a bare name: `optimizer: adam` == `optimizer: {name: adam}`.
NAMED_SECTIONS = ("dataset", "test_dataset", "optimizer", "initializer")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class NamedSpec(BaseModel):
    """{name: ..., **params}: params are checked by the registry the name points into."""

    model_config = ConfigDict(extra="allow")
    name: str

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}


class OptimizerConfig(Section):
    name: Literal["sgd", "momentum", "nesterov", "rmsprop", "adam"] = "sgd"
    learning_rate: float = Field(0.01, gt=0)
    momentum: float | None = Field(None, ge=0, lt=1, description="momentum / nesterov coefficient")
    rho: float | None = Field(None, gt=0, lt=1, description="rmsprop decay")
    beta1: float | None = Field(None, ge=0, lt=1)
    beta2: float | None = Field(None, ge=0, lt=1)
    eps: float | None = Field(None, gt=0)

    def spec(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class LayerOptions(Section):
    """Per-layer settings; one entry per non-input layer, each key overriding the global one."""

    activation: Spec | None = None
    dropout: float | None = Field(None, ge=0, lt=1, description="dropout rate applied to this layer's input")
    l1: float | None = Field(None, ge=0)
    l2: float | None = Field(None, ge=0)
    initializer: Spec | None = None


class RegularizationConfig(Section):
    l1: float = Field(0.0, ge=0, description="L1 penalty on every kernel")
    l2: float = Field(0.0, ge=0, description="L2 penalty on every kernel")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout rate on every hidden layer's input")


class NoiseConfig(Section):
    alpha: list[float] = Field(
        default_factory=list, description="Gaussian noise std; a list gives one noisy split each"
    )
    copies: int = Field(1, ge=1, description="noisy copies of each sample")
    apply_to: Literal["train", "test", "both"] = "test"

    @field_validator("alpha", mode="before")
    @classmethod
    def _scalar_to_list(cls, value):
        if value is None:
            return []
        return [value] if isinstance(value, (int, float)) else value

    @field_validator("alpha")
    @classmethod
    def _non_negative(cls, values: list[float]):
        if any(a < 0 for a in values):
            raise ValueError("noise alpha must be >= 0")
        return [a for a in values if a > 0]


class SplitConfig(Section):
    test_size: float = Field(
        0.25, ge=0, lt=1, description="holdout fraction when kfolds <= 1 and no test_dataset"
    )
    stratify: bool = Field(True, description="stratified holdout / folds for classification")
    shuffle: bool = True
    validation_split: float = Field(
        0.0, ge=0, lt=1, description="fraction of each training part held out for validation"
    )


class PreprocessingConfig(Section):
    inputs: Literal["none", "minmax", "minmax01", "standard", "mean_image"] = "none"
    targets: Literal["none", "minmax", "minmax01", "standard"] = "none"


class EarlyStoppingConfig(Section):
    monitor: str = Field("validation.loss", description="<split>.<metric>")
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True
    mode: Literal["min", "max"] = "min"


class RecordConfig(Section):
    weights: bool = Field(False, description="record weights per evaluated epoch (history/weights.npz)")
    epochs: list[int] | None = Field(
        None, description="epochs to snapshot weights and test confusion matrices"
    )


class OutputConfig(Section):
    dir: str = "results"
    save_models: bool = True
    dill: bool = False
    plots: bool = True


class ObjectiveConfig(Section):
    metric: str = Field("loss", description="the final metric a search optimizes (mean over replicas)")
    split: str | None = Field(None, description="default: validation if held out, else test, else train")
    direction: Literal["minimize", "maximize"] | None = Field(None, description="default: the metric's")


class SweepConfig(Section):
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted key -> values")
    points: list[dict[str, Any]] | None = Field(
        None, description="explicit points {dotted key: value, ...}, run as listed (not a product)"
    )
    space: dict[str, Any] | None = Field(
        None, description="dotted key -> {uniform|log_uniform|int: [low, high]} or a list of choices"
    )
    objective: ObjectiveConfig | None = None

    @model_serializer(mode="wrap")
    def _without_unset_search(self, handler):
        # A grid-only sweep block serializes (and hashes) as it did before search existed.
        data = handler(self)
        return {k: v for k, v in data.items() if not (k in ("points", "space", "objective") and v is None)}

    @model_validator(mode="after")
    def _grid_or_points(self):
        if self.points is not None and self.grid:
            raise ValueError("give sweep.grid or sweep.points, not both")
        return self


CLASSIFICATION_METRICS = ("loss", "accuracy", "precision", "recall", "f1", "sse")
REGRESSION_METRICS = ("loss", "mse", "sse", "mae", "r2")


class ExperimentConfig(Section):
    """A whole experiment. See README "Config reference" for each key."""

    name: str = "experiment"
    seed: int = 0
    dataset: NamedSpec
    test_dataset: NamedSpec | None = None
    task: Literal["auto", "reconstruction"] = Field(
        "auto", description="auto: the dataset's targets; reconstruction: the clean inputs (autoencoders)"
    )
    architecture: list[int] | list[str | dict[str, Any]] = Field(
        ..., min_length=1, description="layer sizes, input first, output last; or a typed layer list"
    )
    activation: Spec = "sigmoid"
    output_activation: Spec | None = None
    layers: list[LayerOptions] | None = None
    loss: Literal["auto", "sse", "mse", "binary_crossentropy", "categorical_crossentropy"] = "auto"
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    initializer: NamedSpec = Field(default_factory=lambda: NamedSpec(name="glorot_uniform"))
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    epochs: int = Field(100, ge=1)
    batch_size: int | Literal["full"] = 1
    shuffle: bool = True
    runs: int = Field(1, ge=1)
    kfolds: int = Field(1, ge=1, description="k > 1: k-fold cross-validation; 1: holdout")
    split: SplitConfig = Field(default_factory=SplitConfig)
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)
    early_stopping: EarlyStoppingConfig | None = None
    metrics: list[str] | None = Field(None, description="default: every metric of the task")
    eval_every: int = Field(1, ge=1)
    record: RecordConfig = Field(default_factory=RecordConfig)
    dtype: Literal["float32", "float64"] = "float32"
    max_replicas: int | None = Field(None, ge=1, description="train at most this many replicas at once")
    output: OutputConfig = Field(default_factory=OutputConfig)
    sweep: SweepConfig | None = None

    _source: str = PrivateAttr("<config>")
    _layer_lines: dict[int, int] = PrivateAttr(default_factory=dict)

    @field_validator("architecture")
    @classmethod
    def _positive_sizes(cls, sizes: list):
        if all(isinstance(s, int) for s in sizes):  # the MLP shorthand; layer lists: layer_specs
            if len(sizes) < 2:
                raise ValueError("the layer sizes need an input and an output size")
            if any(s < 1 for s in sizes):
                raise ValueError("every layer size must be >= 1")
        return sizes

    @field_validator("batch_size")
    @classmethod
    def _positive_batch(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("batch_size must be >= 1 or 'full'")
        return value

    @model_validator(mode="after")
    def _layers_match_architecture(self):
        if self.layers is not None and self.is_layer_list:
            raise ValueError("layers: a typed layer list takes its per-layer options in its entries")
        if self.layers is not None and len(self.layers) != len(self.architecture) - 1:
            raise ValueError(
                f"layers has {len(self.layers)} entries but architecture has "
                f"{len(self.architecture) - 1} non-input layers"
            )
        return self

    @property
    def is_layer_list(self) -> bool:
        """True when `architecture` is a typed layer list rather than MLP sizes."""
        return any(not isinstance(entry, int) for entry in self.architecture)

    def layer_error(self, error: LayerListError) -> ConfigError:
        """A layer list problem found after loading (e.g. against the data), with its YAML line."""
        path = error.path
        index = int(path[1]) if len(path) > 1 and path[0] == "architecture" and path[1].isdigit() else None
        line = self._layer_lines.get(index) if index is not None else None
        return ConfigError(f"{self._source}:{line}: {error}" if line else f"{self._source}: {error}")

    @property
    def n_replicas(self) -> int:
        return self.runs * self.kfolds

    def to_dict(self) -> dict[str, Any]:
        """The canonical, fully resolved config (what config.yaml stores)."""
        return json.loads(self.model_dump_json())

    def config_hash(self) -> str:
        """SHA-256 of the canonical config, independent of key order and output options."""
        data = self.to_dict()
        data.pop("output", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Raw dict handling: shorthands and dotted overrides.


def canonical_path(path: str) -> str:
    """Map a shorthand top-level key to its canonical dotted path (others unchanged)."""
    head, _, rest = path.partition(".")
    if head in SHORTHANDS and not rest:
        return SHORTHANDS[head]
    return path


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Resolve shorthands in a raw config dict into the canonical nested form (returns a copy)."""
    data = copy.deepcopy(raw)
    for section in NAMED_SECTIONS:
        if isinstance(data.get(section), str):
            data[section] = {"name": data[section]}
    for short in SHORTHANDS:
        if short in data:
            set_path(data, SHORTHANDS[short], data.pop(short))
    return data


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set data[a][b][c] = value for dotted 'a.b.c', creating sections as needed."""
    keys = dotted.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if isinstance(child, str) and key in NAMED_SECTIONS:
            child = {"name": child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted}: {'.'.join(keys[: i + 1])} is not a section")
        node[key] = child
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """'optimizer.learning_rate=0.1' -> ('optimizer.learning_rate', 0.1); values parse as YAML.

    The key comes back as written; apply_overrides resolves shorthands."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like key.path=value")
    return key, yaml.safe_load(value) if value.strip() else None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a normalized config with `key.path=value` overrides applied."""
    data = copy.deepcopy(data)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        set_path(data, canonical_path(key), value)
    return normalize(data)


# ---------------------------------------------------------------------------------------------
# Error messages: key path, closest valid key, YAML line.


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path (and list index) in a YAML document to its 1-based line number."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = path + (str(key_node.value),)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = path + (str(i),)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _section_in(annotation) -> type[Section] | None:
    """The Section model inside an annotation such as `X`, `X | None` or `list[X] | None`."""
    if (
        typing.get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, Section)
    ):
        return annotation
    return next(filter(None, map(_section_in, typing.get_args(annotation))), None)


def _model_for_path(path: tuple[str, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid at `path` (for 'did you mean' suggestions)."""
    model: type[BaseModel] | None = ExperimentConfig
    for key in (k for k in path if not k.isdigit()):
        field = model.model_fields.get(key)
        model = _section_in(field.annotation) if field is not None else None
        if model is None:
            return None
    return model


def _suggest(key: str, path: tuple[str, ...]) -> str:
    model = _model_for_path(path)
    valid = list(model.model_fields) if model is not None else []
    if not path:
        valid += list(SHORTHANDS)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return f" (did you mean '{'.'.join(path + (close[0],))}'?)" if close else ""


def _original_location(path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int | None:
    """Line of `path` in the YAML, following canonical paths back to their shorthands."""
    if path in lines:
        return lines[path]
    dotted = ".".join(path)
    for short, canonical in SHORTHANDS.items():
        if dotted == canonical and (short,) in lines:
            return lines[(short,)]
    for i in range(len(path) - 1, 0, -1):
        if path[:i] in lines:
            return lines[path[:i]]
    return None


def format_validation_error(
    errors: list[dict], source: str, text: str | None, prefix: tuple[str, ...] = ()
) -> str:
    """One line per pydantic error (`ValidationError.errors()`): `file:line: key.path: message`.

    prefix: the location of the validated model inside the config (e.g. ("dataset",)).
    """
    lines = _line_index(text) if text else {}
    messages = []
    for item in errors:
        path = prefix + tuple(str(p) for p in item["loc"] if not str(p).startswith("function-after"))
        # Union members add their type name to the location; drop those parts.
        path = tuple(p for p in path if p not in {"str", "dict[str,any]", "int", "literal['full']"})
        dotted = ".".join(path) or "<root>"
        if item["type"] == "extra_forbidden":
            message = f"unknown key '{dotted}'{_suggest(path[-1], path[:-1])}"
        elif item["type"] == "missing":
            message = f"missing required key '{dotted}'"
        else:
            value = item.get("input")
            shown = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
            message = f"{dotted}: {item['msg']}{shown}"
        line = _original_location(path, lines)
        messages.append(f"{source}:{line}: {message}" if line else f"{source}: {message}")
    return "; ".join(dict.fromkeys(messages))


def build_config(
    raw: dict[str, Any],
    overrides: list[str] | dict[str, Any] | None = None,
    source: str = "<config>",
    text: str | None = None,
) -> ExperimentConfig:
    """Validate a raw config dict (+ overrides) into an ExperimentConfig, or raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values")
    data = apply_overrides(normalize(raw), overrides or [])
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error.errors(), source, text)) from None
    _check_registry_names(config, source, text)
    if config.is_layer_list:
        _check_layer_list(config, source, text)
    return config


def _layer_list_message(error: LayerListError) -> str:
    """The text of a layer list error; pydantic problems name the key path, with a suggestion."""
    if not error.errors:
        return str(error)
    from .layer_specs import LAYER_KINDS

    item = error.errors[0]
    path = error.path + tuple(str(p) for p in item["loc"])
    dotted = ".".join(path)
    if item["type"] == "extra_forbidden":
        fields = list(LAYER_KINDS[error.path[-1]].params.model_fields)
        close = difflib.get_close_matches(path[-1], fields, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; {error.path[-1]} takes {', '.join(fields)}"
        return f"unknown key '{dotted}'{hint}"
    if item["type"] == "missing":
        return f"missing required key '{dotted}'"
    value = item.get("input")
    shown = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
    return f"{dotted}: {item['msg']}{shown}"


def _check_layer_list(config: ExperimentConfig, source: str, text: str | None) -> None:
    """Parse a typed layer list with the layer registry, store it in canonical form, remember its
    entries' lines, and check its shapes now when the input shape is known without the data."""
    import math

    from . import layer_specs
    from .data import DATASETS

    lines = _line_index(text) if text else {}
    config._source = source
    config._layer_lines = {
        i: line
        for i in range(len(config.architecture))
        if (line := _original_location(("architecture", str(i)), lines)) is not None
    }
    try:
        specs = layer_specs.parse_layer_list(config.architecture)
        if config.regularization.dropout:
            raise LayerListError(
                ("regularization", "dropout"),
                "regularization.dropout: a typed layer list takes dropout as `- {dropout: rate}` entries",
            )
        layers = layer_specs.build_layers(specs, layer_defaults(config))
        image = layer_specs.image_input_shape(DATASETS[config.dataset.name].image_shape)
        n_features = math.prod(image) if image is not None else None
        shape = layer_specs.resolve_input_shape(specs, n_features, image)
        if shape is not None:
            layer_specs.check_shapes(specs, layers, shape)
    except LayerListError as error:
        line = _original_location(error.path, lines)
        message = _layer_list_message(error)
        raise ConfigError(f"{source}:{line}: {message}" if line else f"{source}: {message}") from None
    config.architecture = [spec.canonical() for spec in specs]


def layer_defaults(config: ExperimentConfig):
    """The globals a layer list's dense and conv2d entries fall back on."""
    from .layer_specs import LayerDefaults

    return LayerDefaults(
        activation=config.activation,
        output_activation=config.output_activation,
        initializer=config.initializer.spec(),
        l1=config.regularization.l1,
        l2=config.regularization.l2,
    )


def _check_registry_names(config: ExperimentConfig, source: str, text: str | None) -> None:
    """Check the names and params that point into registries (datasets, activations, initializers)."""
    from .data import DATASETS
    from .nn import ACTIVATIONS, INITIALIZERS, get_activation, get_initializer

    lines = _line_index(text) if text else {}

    def fail(path: tuple[str, ...], message: str) -> None:
        line = _original_location(path, lines)
        raise ConfigError(
            f"{source}:{line}: {'.'.join(path)}: {message}"
            if line
            else f"{source}: {'.'.join(path)}: {message}"
        )

    def check_name(path: tuple[str, ...], name: str, known) -> None:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(sorted(known))}"
            fail(path, f"unknown name '{name}'{hint}")

    for key in ("dataset", "test_dataset"):
        spec = getattr(config, key)
        if spec is None:
            continue
        check_name((key, "name"), spec.name, DATASETS)
        try:
            DATASETS[spec.name].params(**spec.params())
        except ValidationError as error:
            raise ConfigError(format_validation_error(error.errors(), source, text, prefix=(key,))) from None

    specs = [
        (("activation",), config.activation, ACTIVATIONS, get_activation),
        (("output_activation",), config.output_activation, ACTIVATIONS, get_activation),
        (("initializer",), config.initializer.spec(), INITIALIZERS, get_initializer),
    ]
    for i, layer in enumerate(config.layers or []):
        specs += [
            (("layers", str(i), "activation"), layer.activation, ACTIVATIONS, get_activation),
            (("layers", str(i), "initializer"), layer.initializer, INITIALIZERS, get_initializer),
        ]
    for path, spec, known, resolve in specs:
        if spec is None:
            continue
        check_name(path, spec if isinstance(spec, str) else spec.get("name", ""), known)
        try:
            resolve(spec)
        except UserError as error:  # bad params of a known name
            fail(path, str(error))


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read and validate a YAML config file (with its `extends` bases, see config_files).

    Errors name the file, line and key."""
    from .config_files import read_config_file

    raw, text = read_config_file(path)
    return build_config(raw, overrides, source=str(path), text=text)
