"""The experiment config: one pydantic schema, shorthands, dotted overrides, errors with YAML lines.

A config is written by people, so the schema accepts the short forms the course uses
(`optimizer: adam`, `learning_rate: 0.1`, `noise_alpha: 0.3`) and resolves them into one canonical
nested form, which is what `config.yaml` in a results directory holds.

Every name a config can use points into a registry that describes its own parameters
(datasets, activations, initializers, optimizers, losses, scalers, metrics); `build_config`
checks names and parameters against them, so a config that validates is one a run accepts.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from .config_errors import Locator, did_you_mean, format_errors
from .config_registry import RegistryCheck
from .config_yaml import LineIndex, parse_yaml
from .errors import ConfigError
from .layer_specs import LayerListError
from .paths import unsafe_component_reason
from .plain_numbers import PlainNumbersModel
from .train.metric_registry import METRICS, find_metric, get_metric

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
SEED_MAX = 2**32 - 1
"""Seeds reach scikit-learn's splitters, which take 32-bit seeds (run r uses seed + r)."""


class Section(PlainNumbersModel):
    """A config section: see PlainNumbersModel for what it refuses; assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class NamedSpec(BaseModel):
    """{name: ..., **params}: params are checked by the registry the name points into."""

    model_config = ConfigDict(extra="allow")
    name: str

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}


class OptimizerConfig(Section):
    """{name, learning_rate, **params}; the optimizer registry checks the params of `name`."""

    model_config = ConfigDict(extra="allow")
    name: str = "sgd"
    learning_rate: float = Field(0.01, gt=0)

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
    train_alpha: float | None = Field(
        None, gt=0, description="train on noisy copies of this std while `alpha` lists the test noise levels"
    )

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

    @model_validator(mode="after")
    def _one_alpha_for_training(self):
        if self.apply_to in ("train", "both") and len(self.alpha) > 1:
            raise ValueError("training on noisy copies takes exactly one alpha")
        if self.train_alpha is not None and self.apply_to != "test":
            raise ValueError(
                "train_alpha sets the training noise; leave apply_to 'test' (alpha: test levels)"
            )
        return self

    @property
    def training_alpha(self) -> float | None:
        """The std of the training copies' noise, or None when training on clean rows."""
        if self.train_alpha is not None:
            return self.train_alpha
        return self.alpha[0] if self.alpha and self.apply_to in ("train", "both") else None


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
    inputs: str = Field("none", description="a scaler name (data.transforms.SCALERS)")
    targets: str = Field("none", description="a scaler name for regression targets")


class EarlyStoppingConfig(Section):
    monitor: str = Field("validation.loss", description="<split>.<metric>")
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True
    mode: Literal["min", "max"] | None = Field(
        None, description="default: the monitored metric's direction (metrics registry)"
    )

    @field_validator("monitor")
    @classmethod
    def _split_and_known_metric(cls, monitor: str):
        split, dot, metric = monitor.rpartition(".")
        if not dot or not split or not metric:
            raise ValueError("monitor must look like <split>.<metric>, e.g. validation.loss")
        if find_metric(metric) is None:
            raise ValueError(f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}")
        return monitor

    @model_validator(mode="after")
    def _mode_from_metric(self):
        if self.mode is None:
            self.mode = get_metric(self.monitor.rpartition(".")[2]).direction
        return self


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


class ExperimentConfig(Section):
    """A whole experiment. See README "Config reference" for each key."""

    name: str = "experiment"
    seed: int = Field(0, ge=0, le=SEED_MAX)
    dataset: NamedSpec
    test_dataset: NamedSpec | None = None
    task: Literal["auto", "reconstruction"] = Field(
        "auto", description="auto: the dataset's targets; reconstruction: the clean inputs (autoencoders)"
    )
    architecture: list[int | str | dict[str, Any]] = Field(
        ..., min_length=1, description="layer sizes, input first, output last; or a typed layer list"
    )
    activation: Spec = "sigmoid"
    output_activation: Spec | None = None
    layers: list[LayerOptions] | None = None
    loss: str = Field("auto", description="'auto' or a loss name (nn.LOSSES)")
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

    _locate: Locator | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _one_directory_name(cls, name: str):
        reason = unsafe_component_reason(name)
        if reason is not None:
            raise ValueError(f"the name becomes results/<name>/ and {reason}")
        return name

    @field_validator("architecture")
    @classmethod
    def _positive_sizes(cls, sizes: list):
        if any(isinstance(s, int) for s in sizes) and not all(isinstance(s, int) for s in sizes):
            raise ValueError("either layer sizes [in, hidden..., out] or a list of layers, not both")
        if all(isinstance(s, int) for s in sizes):  # the MLP shorthand; layer lists: layer_specs
            if len(sizes) < 2:
                raise ValueError("the layer sizes need an input and an output size")
            if any(s < 1 for s in sizes):
                raise ValueError("every layer size must be >= 1")
        return sizes

    @field_validator("layers")
    @classmethod
    def _one_entry_per_layer(cls, layers: list[LayerOptions] | None, info: ValidationInfo):
        sizes = info.data.get("architecture")
        typed = sizes is not None and any(not isinstance(entry, int) for entry in sizes)
        if layers is not None and sizes is not None and not typed and len(layers) != len(sizes) - 1:
            given = f"{len(layers)} entr{'y' if len(layers) == 1 else 'ies'}"
            raise ValueError(
                f"{given} given; architecture {sizes} has {len(sizes) - 1} non-input layers, one entry each"
            )
        return layers

    @field_validator("batch_size")
    @classmethod
    def _positive_batch(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("batch_size must be >= 1 or 'full'")
        return value

    @field_validator("runs")
    @classmethod
    def _seeds_fit(cls, runs: int, info: ValidationInfo):
        seed = info.data.get("seed")
        if seed is not None and seed + runs - 1 > SEED_MAX:
            raise ValueError(f"run seeds seed + run must stay <= {SEED_MAX}; seed is {seed}")
        return runs

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names: list[str] | None):
        for name in names or []:
            if name not in METRICS:
                raise ValueError(f"unknown metric '{name}'{did_you_mean(name, METRICS)}")
        return names

    @field_validator("record")
    @classmethod
    def _recorded_epochs_exist(cls, record: RecordConfig, info: ValidationInfo):
        epochs = info.data.get("epochs")
        for epoch in record.epochs or []:
            if epochs is not None and not 0 <= epoch <= epochs:
                raise ValueError(f"epochs: {epoch} is not an epoch of this run (0 to {epochs})")
        return record

    @model_validator(mode="after")
    def _layer_options_need_sizes(self):
        if self.layers is not None and self.is_layer_list:
            raise ValueError("layers: a typed layer list takes its per-layer options in its entries")
        return self

    @property
    def is_layer_list(self) -> bool:
        """True when `architecture` is a typed layer list rather than MLP sizes."""
        return any(not isinstance(entry, int) for entry in self.architecture)

    def layer_error(self, error: LayerListError) -> ConfigError:
        """A layer list problem found after loading (e.g. against the data), located in the file."""
        if self._locate is None:
            return ConfigError(str(error))
        return ConfigError(self._locate(error.path, str(error)))

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
    if not all(keys):
        raise ConfigError(
            f"{dotted!r} is not a key path: write names joined by single dots, e.g. split.test_size"
        )
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
    if not all(part.strip() for part in key.split(".")):
        raise ConfigError(
            f"override {key}: not a key path; write names joined by single dots, e.g. split.test_size"
        )
    return key, parse_yaml(value, f"override {key}", numbered=False).data if value.strip() else None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a normalized config with `key.path=value` overrides applied."""
    data = copy.deepcopy(data)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        set_path(data, canonical_path(key), value)
    return normalize(data)


# ---------------------------------------------------------------------------------------------
# Validation


def format_validation_error(
    errors: Sequence[Mapping[str, Any]],
    source: str,
    text: str | None = None,
    prefix: tuple[str, ...] = (),
    lines: LineIndex | None = None,
    model: type[BaseModel] = ExperimentConfig,
    locate: Locator | None = None,
) -> str:
    """One line for pydantic errors (`ValidationError.errors()`): `file:line: key.path: message`.

    prefix: the location of the validated `model` inside the config (e.g. ("dataset",) for a
    dataset's params). Several errors are joined with "; " (still one line).
    """
    if locate is None:
        lines = lines if lines is not None else parse_yaml(text, source).lines if text else {}
        locate = Locator(source, lines, SHORTHANDS)
    return format_errors(errors, locate, model, prefix)


def build_config(
    raw: dict[str, Any],
    overrides: list[str] | dict[str, Any] | None = None,
    source: str = "<config>",
    text: str | None = None,
    lines: LineIndex | None = None,
) -> ExperimentConfig:
    """Validate a raw config dict (+ overrides) into an ExperimentConfig, or raise ConfigError.

    text (the YAML the dict came from) or lines (its line index) let errors give line numbers.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values")
    if lines is None:
        lines = parse_yaml(text, source).lines if text else {}
    try:
        data = apply_overrides(normalize(raw), overrides or [])
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    locate = Locator(source, lines, SHORTHANDS, _override_labels(overrides or []))
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error.errors(), source, locate=locate)) from None
    RegistryCheck(locate).check(config)
    if config.is_layer_list:
        _check_layer_list(config, locate)
    return config


def _override_labels(overrides: list[str] | dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(canonical key, how the user wrote it) per override: 'override key' or a grid point's key."""
    if isinstance(overrides, dict):
        return tuple((canonical_path(key), key) for key in overrides)
    keys = [text.partition("=")[0].strip() for text in overrides]
    return tuple((canonical_path(key), f"override {key}") for key in keys)


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
        hint = (
            did_you_mean(path[-1], fields, list_known=False)
            or f"; {error.path[-1]} takes {', '.join(fields)}"
        )
        return f"unknown key '{dotted}'{hint}"
    if item["type"] == "missing":
        return f"missing required key '{dotted}'"
    value = item.get("input")
    shown = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
    return f"{dotted}: {item['msg']}{shown}"


def _check_layer_list(config: ExperimentConfig, locate: Locator) -> None:
    """Parse a typed layer list with the layer registry (layer_specs), store it in canonical
    form, and check its shapes now when the input shape is known without the data."""
    from . import layer_specs
    from .data import DATASETS
    from .data.registry import static_features

    config._locate = locate
    try:
        specs = layer_specs.parse_layer_list(config.architecture)
        if config.regularization.dropout:
            raise LayerListError(
                ("regularization", "dropout"),
                "regularization.dropout: a typed layer list takes dropout as `- {dropout: rate}` entries",
            )
        layers = layer_specs.build_layers(specs, layer_defaults(config))
        image = layer_specs.image_input_shape(DATASETS[config.dataset.name].image_shape)
        n_features = static_features(config.dataset.name, config.dataset.params())
        shape = layer_specs.resolve_input_shape(specs, n_features, image)
        if shape is not None:
            layer_specs.check_shapes(specs, layers, shape)
    except LayerListError as error:
        raise ConfigError(locate(error.path, _layer_list_message(error))) from None
    config.architecture = [spec.canonical() for spec in specs]  # type: ignore[assignment]


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


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read and validate a YAML config file (with its `extends` bases, see config_files).

    Errors name the file, line and key."""
    from .config_files import read_config_file

    raw, lines = read_config_file(path)
    return build_config(raw, overrides, source=str(path), lines=lines)
