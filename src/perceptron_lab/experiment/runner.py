"""Run one experiment: load data, split runs x folds, train them as one stacked ensemble.

`execute_experiment(config)` returns an `ExperimentResult` (plain data, picklable, no files);
`run_experiment(config)` also writes it into a new results directory.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..config import ExperimentConfig
from ..data import Dataset
from ..errors import ConfigError
from ..extras import require
from ..model import Model
from ..nn import Network, kernels
from ..progress import Progress, report
from ..train import EarlyStopping, History, Trainer
from .checks import check_experiment
from .evaluation import Evaluator
from .preparation import SplitBuilder, SplitData
from .reconstruction import reconstruction_arrays
from .specs import (
    build_network,
    experiment_task,
    load_data,
    output_activation,
    resolve_loss,
)
from .splits import ReplicaSplit, make_splits
from .tables import (
    confusion_table,
    epochs_table,
    final_outputs,
    output_splits,
    predictions_table,
    summary_table,
)

PROGRESS_METRICS = ("loss", "accuracy")
"""Shown while training: the latest evaluated value on the train split, mean over replicas."""
EpochHook = Callable[[int, dict, np.ndarray], None]
"""epoch_hook(epoch, logs, active) after each evaluation: logs[split][metric] (R,), as Trainer's
callback. It may raise to stop the experiment (a search pruning a trial)."""


@dataclass
class ExperimentResult:
    """Everything an experiment produced, as data.

    models: one Model (single-replica network, its fitted preprocessing and class coding) per
    replica, in manifest["replicas"] order.
    weights_history: {"epochs": (E,), "kernel_<i>": (E, R, fan_in, fan_out), "bias_<i>": ...}
    or None when the config records no weights.
    """

    config: ExperimentConfig
    manifest: dict
    epochs: pd.DataFrame
    summary: pd.DataFrame
    confusion: pd.DataFrame | None
    predictions: pd.DataFrame
    models: list[Model] = field(repr=False)
    weights_history: dict[str, np.ndarray] | None = field(default=None, repr=False)
    reconstructions: dict[str, np.ndarray] | None = field(default=None, repr=False)
    """A reconstruction task's test images and codes (see experiment/reconstruction.py)."""

    @property
    def status(self) -> str:
        """ "diverged" when any replica diverged, else "ok"."""
        statuses = {r["status"] for r in self.manifest["replicas"]}
        return "diverged" if "diverged" in statuses else "ok"

    @property
    def wall_time_s(self) -> float:
        return self.manifest["wall_time_s"]


# ---------------------------------------------------------------------------------------------
# Building blocks


def _early_stopping(
    config: ExperimentConfig, splits: dict[str, SplitData], metrics: list[str]
) -> EarlyStopping | None:
    es = config.early_stopping
    if es is None:
        return None
    split, _, metric = es.monitor.rpartition(".")
    if split not in splits or metric not in metrics:
        raise ConfigError(
            f"early_stopping.monitor: '{es.monitor}' is not recorded; splits: {', '.join(splits)}; "
            f"metrics: {', '.join(metrics)}"
        )
    return EarlyStopping(es.monitor, es.patience, es.min_delta, es.restore_best, es.mode)


def _chunks(items: list, size: int | None) -> list[list]:
    size = size or len(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _recorded_epochs(config: ExperimentConfig) -> bool | list[int]:
    if config.record.epochs is not None:
        return sorted(set(config.record.epochs))
    return bool(config.record.weights)


# ---------------------------------------------------------------------------------------------
# The experiment


@dataclass
class ChunkOutcome:
    replicas: list[ReplicaSplit]
    history: History
    network: Network
    splits: dict[str, SplitData]
    evaluator: Evaluator
    snapshots: dict[int, dict[str, np.ndarray]]
    wall_time_s: float


def _train_chunk(
    config, replicas, dataset, test_dataset, coding, metrics, progress, chunk, chunks, epoch_hook=None
) -> ChunkOutcome:
    builder = SplitBuilder(config, dataset, test_dataset, coding)
    splits, prep = builder.build(replicas)
    evaluator = Evaluator(splits, coding, prep, metrics)
    record = _recorded_epochs(config)
    snapshot_epochs = set(config.record.epochs or [])
    snapshots: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch(epoch: int, logs, active) -> None:
        if epoch in snapshot_epochs:
            snapshots[epoch] = {k: v.copy() for k, v in evaluator.last_confusion.items()}
        if progress is not None:
            latest = {
                m: float(np.nanmean(logs["train"][m])) for m in PROGRESS_METRICS if m in logs.get("train", {})
            }
            report(
                progress,
                "train",
                chunk * config.epochs + epoch,
                chunks * config.epochs,
                epoch=epoch,
                epochs=config.epochs,
                chunk=chunk + 1,
                chunks=chunks,
                replicas=len(replicas),
                **latest,
            )
        if epoch_hook is not None:
            epoch_hook(epoch, logs, active)

    trainer = Trainer(
        loss=resolve_loss(config),
        optimizer=config.optimizer.spec(),
        epochs=config.epochs,
        batch_size=None if config.batch_size == "full" else config.batch_size,
        shuffle=config.shuffle,
        early_stopping=_early_stopping(config, splits, metrics),
        eval_every=config.eval_every,
        record_weights=record,
        evaluator=evaluator,
        callback=on_epoch,
    )
    network = build_network(config, [(rep.seed, rep.fold) for rep in replicas], dataset)
    eval_sets = {name: split.trainer_set() for name, split in splits.items() if name != "train"}
    train = splits["train"]
    started = time.perf_counter()
    history = trainer.fit(network, train.X, train.Y, train_index=train.index, eval_sets=eval_sets)
    return ChunkOutcome(
        replicas, history, network, splits, evaluator, snapshots, time.perf_counter() - started
    )


def _package_versions() -> dict[str, str]:
    """Versions from the installed distributions' metadata, without importing the packages
    (numba's too when it is installed: large enough ops then run on its kernels)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {
        "perceptron_lab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        **{name: version(name) for name in ("scikit-learn", "pydantic", "matplotlib")},
    }
    try:
        versions["numba"] = version("numba")
    except PackageNotFoundError:
        pass
    return versions


def _weights_history(outcomes: list[ChunkOutcome]) -> dict[str, np.ndarray] | None:
    if not outcomes[0].history.weights_epochs:
        return None
    epochs = outcomes[0].history.weights_epochs
    stacked: dict[str, np.ndarray] = {"epochs": np.asarray(epochs)}
    n_params = len(outcomes[0].history.weights[0])
    for p in range(n_params):
        kind, layer = ("kernel", "bias")[p % 2], p // 2
        # Per chunk: (E, R_chunk, ...) -> concatenate replicas along axis 1.
        stacked[f"{kind}_{layer}"] = np.concatenate(
            [np.stack([w[p] for w in outcome.history.weights]) for outcome in outcomes], axis=1
        )
    return stacked


def execute_experiment(
    config: ExperimentConfig,
    progress: Progress | None = None,
    epoch_hook: EpochHook | None = None,
    datasets: tuple[Dataset, Dataset | None] | None = None,
) -> ExperimentResult:
    """Train every run x fold of `config` and collect the results (no files written).

    progress: a listener for the load and train phases; training events come after each
    evaluation (every `eval_every` epochs) with the train split's mean loss and accuracy.
    epoch_hook sees the first chunk of replicas only (all of them unless max_replicas is set).
    datasets: (dataset, test_dataset) as specs.load_data(config) returns them, when the caller
    has loaded them already; None loads them here.
    """
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    report(progress, "load", 0, None, dataset=config.dataset.name)
    dataset, test_dataset = datasets if datasets is not None else load_data(config)
    checked = check_experiment(config, dataset, test_dataset)
    coding, metrics = checked.coding, checked.metrics
    classification = dataset.task == "classification"
    replicas = make_splits(
        dataset.y,
        classification=classification,
        runs=config.runs,
        kfolds=config.kfolds,
        seed=config.seed,
        test_size=config.split.test_size,
        validation_split=config.split.validation_split,
        stratify=config.split.stratify,
        shuffle=config.split.shuffle,
        separate_test=test_dataset is not None,
    )
    chunks = _chunks(replicas, config.max_replicas)
    report(
        progress, "load", 0, None, dataset=f"{config.dataset.name}: splits, preprocessing, first evaluation"
    )
    outcomes = [
        _train_chunk(
            config,
            chunk,
            dataset,
            test_dataset,
            coding,
            metrics,
            progress,
            i,
            len(chunks),
            epoch_hook if i == 0 else None,
        )
        for i, chunk in enumerate(chunks)
    ]
    report(progress, "write", 0, None, step="building the tables")

    task = experiment_task(config, dataset)
    classes = dataset.classes if coding is not None else None
    epochs = pd.concat([epochs_table(o.replicas, o.history) for o in outcomes], ignore_index=True)
    summary = summary_table(epochs, [r for o in outcomes for r in o.replicas], [o.history for o in outcomes])
    outputs = [
        final_outputs(o.network, o.splits, output_splits(o.splits, dataset.n_features)) for o in outcomes
    ]
    confusion = None
    if coding is not None:
        assert classes is not None  # a classification dataset always names its classes
        confusion = pd.concat(
            [confusion_table(o, out, coding, classes) for o, out in zip(outcomes, outputs)], ignore_index=True
        )
    predictions = pd.concat(
        [
            predictions_table(
                o, out, coding, classes, dataset.n_features, reconstruction=task == "reconstruction"
            )
            for o, out in zip(outcomes, outputs)
        ],
        ignore_index=True,
    )
    reconstructions = None
    if task == "reconstruction" and "test" in outcomes[0].splits:
        first = outcomes[0]
        scaler = first.evaluator.prep.inputs[0] if first.evaluator.prep.inputs is not None else None
        reconstructions = reconstruction_arrays(first.network, first.splits, scaler, test_dataset or dataset)
    models = [m for o in outcomes for m in _replica_models(o, config, dataset, coding)]

    replica_rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        h = outcome.history
        assert h.kept_epoch is not None  # History.__post_init__ fills it
        for r, rep in enumerate(outcome.replicas):
            replica_rows.append(
                {
                    "replica": len(replica_rows),
                    "run": rep.run,
                    "fold": rep.fold,
                    "seed": rep.seed,
                    "n_train": int(len(outcome.splits["train"].index[r])),
                    "n_validation": int(len(outcome.splits["validation"].index[r]))
                    if "validation" in outcome.splits
                    else 0,
                    "n_test": int(len(outcome.splits["test"].index[r])) if "test" in outcome.splits else 0,
                    "status": str(h.status[r]),
                    "stopped_epoch": int(h.stopped_epoch[r]),
                    "best_epoch": int(h.best_epoch[r]),
                    "kept_epoch": int(h.kept_epoch[r]),
                    "wall_time_s": outcome.wall_time_s / len(outcome.replicas),
                }
            )
    finished_at = datetime.now(timezone.utc)
    manifest = {
        "name": config.name,
        "started": started_at.isoformat(timespec="seconds"),
        "finished": finished_at.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 4),
        "train_time_s": round(sum(o.wall_time_s for o in outcomes), 4),
        "versions": _package_versions(),
        "kernels": kernels.mode(),
        "config_hash": config.config_hash(),
        "task": task,
        "loss": resolve_loss(config),
        "classes": classes,
        "n_features": dataset.n_features,
        "n_outputs": int(outcomes[0].network.output_dim),
        "splits": list(outcomes[0].splits),
        "dataset": {"name": config.dataset.name, "n_samples": dataset.n_samples, **_jsonable(dataset.meta)},
        "replicas": replica_rows,
    }
    return ExperimentResult(
        config=config,
        manifest=manifest,
        epochs=epochs,
        summary=summary,
        confusion=confusion,
        predictions=predictions,
        models=models,
        weights_history=_weights_history(outcomes),
        reconstructions=reconstructions,
    )


def _replica_models(outcome: ChunkOutcome, config: ExperimentConfig, dataset, coding) -> list[Model]:
    """One Model per replica of a chunk: its network, its own fitted scalers, the class coding.

    A reconstruction is a regression of the inputs: its targets are scaled by the input scaler."""
    prep = outcome.evaluator.prep
    reconstruction = config.task == "reconstruction"
    image_shape = dataset.meta.get("image_shape")
    target = None if reconstruction else dataset.meta.get("target")
    target_names = [target] if isinstance(target, str) else target if isinstance(target, list) else None
    target_scalers = prep.inputs if reconstruction else prep.targets
    models = []
    for r, rep in enumerate(outcome.replicas):
        models.append(
            Model(
                network=outcome.network.select([r]),
                task="regression" if reconstruction else dataset.task,
                n_features=dataset.n_features,
                classes=dataset.classes if coding is not None else None,
                coding=coding,
                input_scaler=prep.inputs[r] if prep.inputs is not None else None,
                target_scaler=target_scalers[r] if target_scalers is not None else None,
                feature_names=dataset.feature_names,
                input_dtype=str(dataset.X.dtype),
                image_shape=list(image_shape) if image_shape is not None else None,
                target_names=target_names,
                loss=resolve_loss(config),
                output_activation=output_activation(config),
                info={
                    "name": config.name,
                    "experiment_task": experiment_task(config, dataset),
                    "config_hash": config.config_hash(),
                    "perceptron_lab": __version__,
                    "run": rep.run,
                    "fold": rep.fold,
                    "seed": rep.seed,
                },
            )
        )
    return models


def _jsonable(meta: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
            out[key] = list(value)
        else:
            out[key] = str(value)
    return out


def run_experiment(
    config: ExperimentConfig,
    out_root: str | Path | None = None,
    progress: Progress | None = None,
    command: str | None = None,
    plots: bool | None = None,
    dill: bool | None = None,
    datasets: tuple[Dataset, Dataset | None] | None = None,
) -> Path:
    """Execute `config` and write results/<name>/<timestamp>-<hash>/ atomically; returns that path.

    progress: a listener for the load, train, write and plot phases (progress.ProgressEvent).
    datasets: the config's data, already loaded (as for execute_experiment).
    When figures are drawn, a helper process loads matplotlib during training and draws them
    (report/background.py).
    """
    from ..report.background import figures_in_background
    from .results import check_writable, new_run_dir, write_run_dir

    root = Path(out_root or config.output.dir)
    check_writable(root, config.name)
    if config.output.dill if dill is None else dill:
        require("dill", "output.dill (dill)", param="dill")  # before training, not after
    with figures_in_background(config.output.plots if plots is None else plots):
        result = execute_experiment(config, progress, datasets=datasets)
        directory = new_run_dir(root, config)
        return write_run_dir(
            result,
            directory,
            command=command,
            plots=plots,
            dill=dill,
            progress=progress,
            rename_if_taken=True,
        )
