"""Everything a run checks about a config against its data before training, in one place.

`lab run` (through execute_experiment) and `lab validate` both call `check_experiment`, so a
config that validates is one a run accepts: the architecture fits the data, the metrics exist
for the task, the splits can be made, the early-stopping monitor names a recorded split and
metric, and the memory the experiment needs is available.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ExperimentConfig
from ..data import Dataset
from ..data.download import DownloadNeeded, no_downloads
from ..errors import ConfigError, DataError
from .budget import Estimate, check_memory, human_bytes
from .preparation import TargetCoding
from .specs import load_data, target_coding, task_metrics
from .splits import make_splits


@dataclass(frozen=True)
class CheckedExperiment:
    """What the checks established: the target coding, metrics, split names and memory estimate."""

    coding: TargetCoding | None
    metrics: list[str]
    splits: list[str]
    memory: Estimate


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
    if dataset.task == "classification" and dataset.n_outputs < 2:
        classes = ", ".join(map(str, dataset.classes or []))
        raise DataError(
            f"dataset: '{config.dataset.name}' has {dataset.n_outputs} class ({classes}); "
            "classification needs at least two"
        )
    coding = target_coding(config, dataset)
    metrics = task_metrics(config, dataset.task)
    memory = check_memory(config, dataset.n_samples, dataset.n_features)
    splits = split_names(config, dataset, test_dataset)
    _check_monitor(config, splits, metrics)
    return CheckedExperiment(coding, metrics, splits, memory)


@dataclass(frozen=True)
class Validation:
    """What `validate_experiment` found: the checks, or the files a run would download first."""

    shape: tuple[int, ...] | None
    checked: CheckedExperiment | None
    memory: Estimate
    downloads: list[str]

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
            first = config.architecture[0]
            memory = check_memory(config, 0, first if isinstance(first, int) else 0)
            return Validation(None, None, memory, [str(needed)])
    checked = check_experiment(config, dataset, test_dataset)
    return Validation(tuple(dataset.X.shape), checked, checked.memory, [])
