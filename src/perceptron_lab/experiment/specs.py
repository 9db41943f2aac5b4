"""What a config asks for, checked against the data: the network, the loss, the target coding
and the metrics of one experiment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from .. import layer_specs
from ..config import ExperimentConfig, Spec, layer_defaults
from ..data import Dataset, load_dataset
from ..errors import ConfigError
from ..nn import Dense, Dropout, Network, get_activation
from ..train.metric_registry import metrics_for
from .preparation import TargetCoding


def load_data(config: ExperimentConfig) -> tuple[Dataset, Dataset | None]:
    dataset = load_dataset(config.dataset.name, **config.dataset.params())
    test = None
    if config.test_dataset is not None:
        test = load_dataset(config.test_dataset.name, **config.test_dataset.params())
        if test.n_features != dataset.n_features or test.task != dataset.task:
            raise ConfigError(
                f"test_dataset: '{config.test_dataset.name}' has {test.n_features} features ({test.task}), "
                f"the dataset has {dataset.n_features} ({dataset.task})"
            )
    return dataset, test


def _layer_option(config: ExperimentConfig, i: int, key: str, default):
    if config.layers is not None:
        value = getattr(config.layers[i], key)
        if value is not None:
            return value
    return default


def _mlp_layers(config: ExperimentConfig) -> list:
    """Dense (and Dropout) layers of the MLP shorthand `architecture: [in, hidden..., out]`."""
    sizes = cast(list[int], config.architecture)
    n_layers = len(sizes) - 1
    layers: list = []
    for i, units in enumerate(sizes[1:]):
        is_output = i == n_layers - 1
        default_activation = (
            config.output_activation if is_output and config.output_activation else config.activation
        )
        dropout = _layer_option(config, i, "dropout", config.regularization.dropout if i > 0 else 0.0)
        if dropout:
            layers.append(Dropout(dropout))
        layers.append(
            Dense(
                units,
                activation=_layer_option(config, i, "activation", default_activation),
                kernel_initializer=_layer_option(config, i, "initializer", config.initializer.spec()),
                l1=_layer_option(config, i, "l1", config.regularization.l1),
                l2=_layer_option(config, i, "l2", config.regularization.l2),
            )
        )
    return layers


@dataclass
class NetworkPlan:
    """The configured network checked against the data: its nn layers, the per-sample input
    shape, every layer's output shape and the width of the output."""

    layers: list
    input_shape: tuple[int, ...]
    shapes: list[tuple[int, ...]]

    @property
    def output_units(self) -> int:
        return self.shapes[-1][0]


def network_plan(config: ExperimentConfig, dataset: Dataset) -> NetworkPlan:
    """The network `config` describes for inputs of `dataset`; ConfigError naming the layer (and
    its line) when a shape does not fit."""
    if not config.is_layer_list:
        sizes = cast(list[int], config.architecture)
        if sizes[0] != dataset.n_features:
            raise ConfigError(
                f"architecture: input size {sizes[0]} does not match dataset '{config.dataset.name}' "
                f"with {dataset.n_features} features"
            )
        layers = _mlp_layers(config)
        return NetworkPlan(layers, (sizes[0],), [(n,) for n in sizes[1:]])
    try:
        specs = layer_specs.parse_layer_list(config.architecture)
        layers = layer_specs.build_layers(specs, layer_defaults(config))
        image = layer_specs.image_input_shape(dataset.meta.get("image_shape"))
        input_shape = layer_specs.resolve_input_shape(specs, dataset.n_features, image)
        assert input_shape is not None  # n_features is known
        shapes = layer_specs.check_shapes(specs, layers, input_shape)
        last = layer_specs.layer_specs(specs)[-1]
        if len(shapes[-1]) != 1:
            raise layer_specs.LayerListError(
                ("architecture", str(last.index)),
                f"{last.label}: the network's output must be flat, got {'x'.join(map(str, shapes[-1]))}; "
                "end the list with flatten",
            )
    except layer_specs.LayerListError as error:
        raise config.layer_error(error) from None
    return NetworkPlan(layers, input_shape, shapes)


def static_input_shape(config: ExperimentConfig) -> tuple[int, ...] | None:
    """The per-sample input shape when the config alone gives it (MLP sizes, an `input` entry, an
    image dataset, a dataset whose params give its features); None when it comes from the data."""
    if not config.is_layer_list:
        return (cast(int, config.architecture[0]),)
    from ..data import DATASETS
    from ..data.registry import static_features

    entry = DATASETS[config.dataset.name]
    image = layer_specs.image_input_shape(entry.image_shape)
    n_features = static_features(config.dataset.name, config.dataset.params())
    return layer_specs.resolve_input_shape(
        layer_specs.parse_layer_list(config.architecture), n_features, image
    )


def network_summary(config: ExperimentConfig, input_shape: tuple[int, ...]):
    """The Keras-like summary (nn Summary: rows, totals, str()) of one replica of the network."""
    if config.is_layer_list:
        layers = layer_specs.build_layers(
            layer_specs.parse_layer_list(config.architecture), layer_defaults(config)
        )
    else:
        layers = _mlp_layers(config)
    network = Network(layers, input_shape=input_shape, seed=config.seed, dtype=config.dtype)
    return network.summary()


def output_activation(config: ExperimentConfig) -> Spec:
    """The activation of the network's output."""
    if not config.is_layer_list:
        return config.output_activation or config.activation
    specs = layer_specs.parse_layer_list(config.architecture)
    return layer_specs.output_activation(specs, layer_defaults(config))


def build_network(config: ExperimentConfig, seeds: list[tuple[int, int]], dataset: Dataset) -> Network:
    """The configured network for `dataset`'s inputs with one replica per seed entropy."""
    plan = network_plan(config, dataset)
    if not config.is_layer_list:
        return Network(plan.layers, input_dim=plan.input_shape[0], seeds=seeds, dtype=config.dtype)
    return Network(plan.layers, input_shape=plan.input_shape, seeds=seeds, dtype=config.dtype)


def experiment_task(config: ExperimentConfig, dataset: Dataset) -> str:
    """The task the network learns: reconstruction when the config asks for it, else the dataset's."""
    return "reconstruction" if config.task == "reconstruction" else dataset.task


def resolve_loss(config: ExperimentConfig) -> str:
    """'auto' is MSE for a reconstruction, categorical cross-entropy under a softmax output, else
    SSE (the course's loss)."""
    if config.loss != "auto":
        return config.loss
    if config.task == "reconstruction":
        return "mse"
    output = output_activation(config)
    name = output if isinstance(output, str) else output.get("name")
    return "categorical_crossentropy" if name == "softmax" else "sse"


def target_coding(config: ExperimentConfig, dataset: Dataset) -> TargetCoding | None:
    """How labels map to output units; checks the architecture fits the dataset."""
    units = network_plan(config, dataset).output_units
    if config.task == "reconstruction":
        if units != dataset.n_features:
            raise ConfigError(
                f"architecture: output size {units} does not match the {dataset.n_features} inputs "
                "a reconstruction task rebuilds"
            )
        if config.preprocessing.targets != "none":
            raise ConfigError(
                "preprocessing.targets: a reconstruction's targets are its clean inputs, scaled as the "
                "inputs are; leave targets 'none'"
            )
        return None
    if dataset.task == "regression":
        if units != dataset.n_outputs:
            raise ConfigError(
                f"architecture: output size {units} does not match the {dataset.n_outputs} regression target(s)"
            )
        return None
    n_classes = dataset.n_outputs
    if units != n_classes and not (units == 1 and n_classes == 2):
        raise ConfigError(
            f"architecture: output size {units} does not fit {n_classes} classes "
            f"(use {n_classes} units{', or 1 for two classes' if n_classes == 2 else ''})"
        )
    low, high = get_activation(output_activation(config)).output_range
    return TargetCoding(n_classes, units, low, high)


def task_metrics(config: ExperimentConfig, task: str) -> list[str]:
    """The metrics recorded per epoch; a reconstruction is scored as a regression of the inputs."""
    if config.task == "reconstruction":
        task = "regression"
    available = metrics_for(task)
    if config.metrics is None:
        return list(available)
    unknown = [m for m in config.metrics if m not in available]
    if unknown:
        raise ConfigError(
            f"metrics: {unknown[0]!r} is not a {task} metric; choose from {', '.join(available)}"
        )
    return list(dict.fromkeys(["loss", *config.metrics]))
