"""Predicting with a run's saved models: one replica, the best one, or all of them as an ensemble.

A run's replicas are an ensemble by construction (same config, different seeds and folds).
`mean` averages their class scores (classification) or their outputs in original units
(regression); `vote` takes each replica's predicted class and counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import UserError
from ..model import MODEL_FILE, Model, load_model
from .results_dir import is_run_dir

EnsembleMethod = Literal["mean", "vote"]
ReplicaChoice = int | Literal["all", "best"]

CHUNK_ROWS = 16384
"""Rows predicted at a time: every model sees one chunk before the next, so memory stays bounded."""


@dataclass
class Predictions:
    """What an ensemble predicts for n rows.

    values: (n, n_outputs) in original units (regression), or class scores (n, n_classes):
    the mean score (mean) or the fraction of votes (vote) per class. labels: (n,) class names
    (classification) else None. replicas: the manifest indices of the models used.
    """

    task: str
    values: np.ndarray
    labels: np.ndarray | None
    classes: list[str] | None
    replicas: list[int]

    def table(self, truth: np.ndarray | None = None) -> pd.DataFrame:
        """One row per input: predicted, then score_<class> or output_<j>, then the target(s)
        (target, or target_<j> for several) when given."""
        columns: dict[str, np.ndarray] = {}
        if self.classes is not None:
            columns["predicted"] = np.asarray(self.labels)
            columns.update({f"score_{name}": self.values[:, c] for c, name in enumerate(self.classes)})
            if truth is not None:
                columns["target"] = np.asarray(truth)
        else:
            columns["predicted"] = self.values[:, 0]
            columns.update({f"output_{j}": self.values[:, j] for j in range(self.values.shape[1])})
            if truth is not None:
                truth = np.asarray(truth).reshape(len(truth), -1)
                names = ["target"] if truth.shape[1] == 1 else [f"target_{j}" for j in range(truth.shape[1])]
                columns.update({name: truth[:, j] for j, name in enumerate(names)})
        return pd.DataFrame(columns)


def _network_inputs(models: list[Model], rows: np.ndarray) -> list[np.ndarray]:
    """Each model's network inputs for checked raw rows (b, f), scaled once per distinct scaler."""
    scaled: dict[tuple, np.ndarray] = {}
    out = []
    for model in models:
        key = (id(model.input_scaler), model.network.dtype)
        if key not in scaled:
            scaled[key] = model._scaled(rows)
        out.append(scaled[key])
    return out


def ensemble_predict(
    models: list[Model], X, ensemble: EnsembleMethod = "mean", chunk_rows: int = CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw X (n, f) -> (values, labels) of the ensemble of `models` (see Predictions).

    mean: values[i] = the mean over models of their scores (classification) or outputs in
    original units (regression) on row i; vote: the fraction of models predicting each class.
    """
    if not models:
        raise ValueError("ensemble_predict: no models")
    first = models[0]
    for model in models[1:]:
        if (model.task, model.classes, model.n_features) != (first.task, first.classes, first.n_features):
            raise UserError("ensemble: the models differ in task, classes or inputs")
    classification = first.task == "classification"
    if ensemble == "vote" and not classification:
        raise UserError(
            "ensemble 'vote' needs a classifier; a regression ensemble takes 'mean'", param="ensemble"
        )
    X = first.check_inputs(X)  # once for all the models
    n = len(X)
    width = len(first.classes or []) if classification else first.n_outputs
    values = np.empty((n, width), np.float64)
    for start in range(0, n, chunk_rows):
        rows = X[start : start + chunk_rows]
        pairs = list(zip(models, _network_inputs(models, rows)))
        if ensemble == "vote":
            votes = np.stack([m._index(inputs) for m, inputs in pairs])  # (R, b)
            counts = np.stack([(votes == c).sum(axis=0) for c in range(width)], axis=1)
            values[start : start + len(rows)] = counts / len(models)
        elif classification:
            values[start : start + len(rows)] = np.stack([m._scores(inputs) for m, inputs in pairs]).mean(
                axis=0
            )
        else:
            values[start : start + len(rows)] = np.stack([m._values(inputs) for m, inputs in pairs]).mean(
                axis=0
            )
    labels = None
    if classification:
        # Ties (equal votes or scores) go to the first class in the model's order.
        labels = np.asarray(first.classes, dtype=object)[values.argmax(axis=1)]
    return values, labels


# ---------------------------------------------------------------------------------------------
# Runs


def _manifest(run_dir: Path) -> dict:
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    if not is_run_dir(run_dir):
        raise UserError(f"{run_dir}: not a complete run directory (no manifest.json with status 'complete')")
    return json.loads((run_dir / "manifest.json").read_text())


def model_dir(run_dir: Path, replica: dict) -> Path:
    return Path(run_dir) / "models" / f"run{replica['run']}_fold{replica['fold']}"


def best_replica(run_dir: str | Path, task: str) -> int:
    """The replica with the best final metric in summary.csv, on the validation split, else
    test, else train: accuracy (classification), or MSE in original units (regression; the
    scaled loss of each replica is in its own scaler's units)."""
    from ..train.metric_registry import get_metric

    run_dir = Path(run_dir)
    summary = pd.read_csv(run_dir / "summary.csv")
    final = summary[(summary["kind"] == "final") & ~summary["run"].astype(str).isin(["mean", "std"])]
    candidates = ["accuracy"] if task == "classification" else ["mse_orig", "mse", "loss"]
    metric = next((m for m in candidates if m in final.columns), candidates[-1])
    higher = get_metric(metric).higher_is_better
    for split in ("validation", "test", "train"):
        rows = final[final["split"] == split].dropna(subset=[metric]) if metric in final else final[:0]
        if len(rows):
            best = rows[metric].idxmax() if higher else rows[metric].idxmin()
            run, fold = int(rows.loc[best, "run"]), int(rows.loc[best, "fold"])
            replicas = _manifest(run_dir)["replicas"]
            return next(r["replica"] for r in replicas if (r["run"], r["fold"]) == (run, fold))
    raise UserError(f"{run_dir}/summary.csv: no final '{metric}' to pick the best replica by")


def run_models(run_dir: str | Path, replica: ReplicaChoice = "all") -> tuple[list[Model], list[int]]:
    """The saved Models of a run: every replica ("all"), the best one ("best"), or replica k
    (its index in manifest.json's replicas); returns (models, replica indices). A single saved
    model's directory (Model.save, models/run<r>_fold<k>) is a run of one replica."""
    run_dir = Path(run_dir)
    if (run_dir / MODEL_FILE).is_file():
        if replica not in ("all", "best", 0):
            raise UserError(
                f"replica: {replica} is not a replica of the single model {run_dir} (0)", param="replica"
            )
        return [load_model(run_dir)], [0]
    replicas = _manifest(run_dir)["replicas"]
    if not (run_dir / "models").is_dir():
        raise UserError(f"{run_dir}: no models/ (the run was made with output.save_models false)")
    if replica == "all":
        chosen = [r["replica"] for r in replicas]
    elif replica == "best":
        first = load_model(model_dir(run_dir, replicas[0]))
        chosen = [best_replica(run_dir, first.task)]
    else:
        k = int(replica)
        if not 0 <= k < len(replicas):
            raise UserError(
                f"replica: {k} is not a replica of {run_dir} (0..{len(replicas) - 1})", param="replica"
            )
        chosen = [k]
    return [load_model(model_dir(run_dir, replicas[k])) for k in chosen], chosen


def predict_run(
    run_dir: str | Path, X, replica: ReplicaChoice = "all", ensemble: EnsembleMethod = "mean"
) -> Predictions:
    """Predict raw rows X (n, f) with a run's saved models (see run_models, ensemble_predict)."""
    models, chosen = run_models(run_dir, replica)
    return predict_with(models, X, ensemble, chosen)


def predict_with(
    models: list[Model], X, ensemble: EnsembleMethod = "mean", replicas: list[int] | None = None
) -> Predictions:
    """Predictions of the ensemble of `models` (replicas: their indices, for the record)."""
    values, labels = ensemble_predict(models, X, ensemble)
    chosen = list(range(len(models))) if replicas is None else list(replicas)
    return Predictions(models[0].task, values, labels, models[0].classes, chosen)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write `table` as CSV at `path`, whole or not at all (a temporary file renamed)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        table.to_csv(partial, index=False)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def prediction_metrics(predictions: Predictions, truth: np.ndarray) -> dict[str, float]:
    """Metrics of the predictions against true targets: accuracy and macro F1 (class names
    (n,)) or MSE, MAE and R^2 in original units (targets (n, out))."""
    from sklearn import metrics

    if predictions.classes is not None:
        return {
            "accuracy": float(metrics.accuracy_score(truth, predictions.labels)),
            "f1_macro": float(metrics.f1_score(truth, predictions.labels, average="macro", zero_division=0)),
        }
    values = predictions.values
    return {
        "mse": float(metrics.mean_squared_error(truth, values)),
        "mae": float(metrics.mean_absolute_error(truth, values)),
        "r2": float(metrics.r2_score(truth, values)) if len(truth) > 1 else float("nan"),
    }
