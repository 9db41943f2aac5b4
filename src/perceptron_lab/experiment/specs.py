"""What a config asks for, checked against the data: the network, the loss, the target coding
and the metrics of one experiment."""

from __future__ import annotations

from ..config import ExperimentConfig
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


def build_network(config: ExperimentConfig, seeds: list[tuple[int, int]]) -> Network:
    """The configured network with one replica per seed entropy."""
    sizes = config.architecture
    n_layers = len(sizes) - 1
    layers = []
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
    return Network(layers, input_dim=sizes[0], seeds=seeds, dtype=config.dtype)


def resolve_loss(config: ExperimentConfig) -> str:
    """'auto' is categorical cross-entropy under a softmax output, else SSE (the course's loss)."""
    if config.loss != "auto":
        return config.loss
    output = config.output_activation or config.activation
    name = output if isinstance(output, str) else output.get("name")
    return "categorical_crossentropy" if name == "softmax" else "sse"


def target_coding(config: ExperimentConfig, dataset: Dataset) -> TargetCoding | None:
    """How labels map to output units; checks the architecture fits the dataset."""
    sizes = config.architecture
    if sizes[0] != dataset.n_features:
        raise ConfigError(
            f"architecture: input size {sizes[0]} does not match dataset '{config.dataset.name}' "
            f"with {dataset.n_features} features"
        )
    units = sizes[-1]
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
    output = config.output_activation or config.activation
    low, high = get_activation(output).output_range
    return TargetCoding(n_classes, units, low, high)


def task_metrics(config: ExperimentConfig, task: str) -> list[str]:
    available = metrics_for(task)
    if config.metrics is None:
        return list(available)
    unknown = [m for m in config.metrics if m not in available]
    if unknown:
        raise ConfigError(
            f"metrics: {unknown[0]!r} is not a {task} metric; choose from {', '.join(available)}"
        )
    return list(dict.fromkeys(["loss", *config.metrics]))
