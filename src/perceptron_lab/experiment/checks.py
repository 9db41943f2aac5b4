"""Everything a run checks about a config against its data before training, in one place.

`lab run` (through execute_experiment) and `lab validate` both call `check_experiment`, so a
config that validates is one a run accepts: the architecture fits the data, the metrics exist
for the task, the splits can be made, the early-stopping monitor names a recorded split and
metric, and the memory the experiment needs is available.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import layer_specs
from ..config import ExperimentConfig, layer_defaults
from ..data import Dataset
from ..data.download import DownloadNeeded, no_downloads
from ..errors import ConfigError, DataError
from ..nn.shapes import declared_arrays, infer_shapes
from .budget import Estimate, check_memory, human_bytes
from .preparation import TargetCoding
from .specs import load_data, network_plan, static_input_shape, target_coding, task_metrics
from .splits import make_splits


@dataclass(frozen=True)
class CheckedExperiment:
    """What the checks established: the target coding, metrics, split names and memory estimate."""

    coding: TargetCoding | None
    metrics: list[str]
    splits: list[str]
    memory: Estimate
    input_shape: tuple[int, ...]


def split_names(config: ExperimentConfig, dataset: Dataset, test_dataset: Dataset | None) -> list[str]:
    """The splits a run records (train, validation, test, test_noise_<alpha>), found by making
    run 0's splits: each run uses the same splitter with its own seed, so run 0 stands for all.

    Raises ConfigError when the splits cannot be made (too few samples for kfolds, a class too
    small to stratify).
    """
    first = make_splits(
        dataset.y,
        classification=dataset.task == "classification",
        runs=1,
        kfolds=config.kfolds,
        seed=config.seed,
        test_size=config.split.test_size,
        validation_split=config.split.validation_split,
        stratify=config.split.stratify,
        shuffle=config.split.shuffle,
        separate_test=test_dataset is not None,
    )
    names = ["train"]
    if any(len(rep.train) == 0 for rep in first):
        raise ConfigError("split: a replica would train on no samples; lower test_size or validation_split")
    if any(len(rep.validation) for rep in first):
        names.append("validation")
    if test_dataset is not None or any(len(rep.test) for rep in first):
        names.append("test")
        if config.noise.apply_to in ("test", "both"):
            names += [f"test_noise_{alpha:g}" for alpha in config.noise.alpha]
    return names


def network_counts(layers: list, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(parameters, activations per sample) of one replica of `layers`, from shapes alone."""
    parameters = sum(spec.size for _, specs in declared_arrays(layers, input_shape) for spec in specs)
    units = sum(math.prod(shape) for shape in infer_shapes(layers, input_shape))
    return parameters, units


def _static_counts(config: ExperimentConfig) -> tuple[int | None, int | None, int]:
    """(parameters, units, input features) when the config alone gives the input shape (no data);
    (None, None, 0) otherwise."""
    shape = static_input_shape(config)
    if shape is None:
        return None, None, 0
    if not config.is_layer_list:
        return None, None, shape[0]  # layer sizes: the estimate counts them itself
    layers = layer_specs.build_layers(
        layer_specs.parse_layer_list(config.architecture), layer_defaults(config)
    )
    return (*network_counts(layers, shape), math.prod(shape))


def _check_monitor(config: ExperimentConfig, splits: list[str], metrics: list[str]) -> None:
    es = config.early_stopping
    if es is None:
        return
    split, _, metric = es.monitor.rpartition(".")
    if split not in splits or metric not in metrics:
        raise ConfigError(
            f"early_stopping.monitor: '{es.monitor}' is not recorded; splits: {', '.join(splits)}; "
            f"metrics: {', '.join(metrics)}"
        )


def check_experiment(
    config: ExperimentConfig, dataset: Dataset, test_dataset: Dataset | None = None
) -> CheckedExperiment:
    """Check `config` against its loaded data; raises ConfigError/DataError with one line."""
    if dataset.task == "classification" and dataset.n_outputs < 2 and config.task != "reconstruction":
        classes = ", ".join(map(str, dataset.classes or []))
        raise DataError(
            f"dataset: '{config.dataset.name}' has {dataset.n_outputs} class ({classes}); "
            "classification needs at least two"
        )
    coding = target_coding(config, dataset)
    metrics = task_metrics(config, dataset.task)
    plan = network_plan(config, dataset)
    parameters, units = network_counts(plan.layers, plan.input_shape)
    memory = check_memory(config, dataset.n_samples, dataset.n_features, parameters=parameters, units=units)
    splits = split_names(config, dataset, test_dataset)
    _check_monitor(config, splits, metrics)
    return CheckedExperiment(coding, metrics, splits, memory, plan.input_shape)


@dataclass(frozen=True)
class Validation:
    """What `validate_experiment` found: the checks, or the files a run would download first."""

    shape: tuple[int, ...] | None
    checked: CheckedExperiment | None
    memory: Estimate
    downloads: list[str]
    input_shape: tuple[int, ...] | None
    """The network's per-sample input shape, when the data or the config gives it."""

    def summary(self) -> str:
        """One line: replicas, dataset shape, estimated memory, pending downloads."""
        parts = [f"{self.memory.replicas} replicas"]
        if self.shape is not None:
            parts.append(f"dataset {self.shape}")
        parts.append(f"needs about {human_bytes(self.memory.total_bytes)}")
        if self.downloads:
            parts.append("; ".join(self.downloads) + "; the checks that need the data were skipped")
        return ", ".join(parts)


def validate_experiment(config: ExperimentConfig) -> Validation:
    """Every check a run makes before training, without downloading anything.

    Datasets whose files are missing are reported as downloads a run would make; the checks that
    need their data are skipped, the others (schema, names, memory of the parameters) still run.
    """
    with no_downloads():
        try:
            dataset, test_dataset = load_data(config)
        except DownloadNeeded as needed:
            parameters, units, n_features = _static_counts(config)
            memory = check_memory(config, 0, n_features, parameters=parameters, units=units)
            return Validation(None, None, memory, [str(needed)], static_input_shape(config))
    checked = check_experiment(config, dataset, test_dataset)
    return Validation(tuple(dataset.X.shape), checked, checked.memory, [], checked.input_shape)
