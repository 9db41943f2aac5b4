"""Small results directories written per docs/results-format.md, for the report tests.

Each run is computed here with NumPy from a seeded generator: a one-layer network trained by
mini-batch gradient descent on the sum of squared errors, on every run x fold of Gaussian
blobs (classification) or a noisy plane (regression). Metrics come from scikit-learn on the
network's outputs, so the files hold realistic, mutually consistent numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)
from sklearn.model_selection import KFold, StratifiedKFold

ACTIVATIONS = {
    # name: (function, derivative from the output, output range)
    "tanh": (np.tanh, lambda out: 1 - out**2, (-1.0, 1.0)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda out: out * (1 - out), (0.0, 1.0)),
    "identity": (lambda z: z, lambda out: np.ones_like(out), (-np.inf, np.inf)),
}


@dataclass
class Spec:
    """What one fake run looks like (a subset of the resolved config)."""

    name: str
    task: str = "classification"
    n_features: int = 2
    classes: list[str] = field(default_factory=lambda: ["0", "1"])
    units: int = 1
    activation: str = "tanh"
    runs: int = 2
    kfolds: int = 2
    epochs: int = 20
    learning_rate: float = 0.05
    batch_size: int | str = 8
    optimizer: str = "sgd"
    validation_split: float = 0.0
    noise_alpha: list[float] = field(default_factory=list)
    record_weights: bool = False
    record_epochs: list[int] | None = None
    samples_per_class: int = 20
    center_scale: float = 1.6
    seed: int = 0

    def config(self) -> dict:
        """The resolved config as config.yaml stores it."""
        return {
            "name": self.name,
            "seed": self.seed,
            "dataset": {"name": "blobs" if self.task == "classification" else "plane"},
            "test_dataset": None,
            "architecture": [self.n_features, self.units],
            "activation": self.activation,
            "output_activation": None,
            "layers": None,
            "loss": "sse",
            "optimizer": {"name": self.optimizer, "learning_rate": self.learning_rate, "momentum": None},
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "shuffle": True,
            "runs": self.runs,
            "kfolds": self.kfolds,
            "split": {
                "test_size": 0.25,
                "stratify": True,
                "shuffle": True,
                "validation_split": self.validation_split,
            },
            "noise": {"alpha": list(self.noise_alpha), "copies": 1, "apply_to": "test"},
            "eval_every": 1,
            "record": {"weights": self.record_weights, "epochs": self.record_epochs},
            "output": {"dir": "results", "save_models": True, "dill": False, "plots": False},
            "sweep": None,
        }


def make_data(spec: Spec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """X (n, f); y (n,) int labels (blobs around the corners of a simplex) or (n,) targets."""
    if spec.task == "classification":
        centers = rng.normal(0.0, spec.center_scale, size=(len(spec.classes), spec.n_features))
        X = np.concatenate(
            [c + rng.normal(0.0, 0.8, size=(spec.samples_per_class, spec.n_features)) for c in centers]
        )
        y = np.repeat(np.arange(len(spec.classes)), spec.samples_per_class)
        return X, y
    X = rng.uniform(-1.0, 1.0, size=(3 * spec.samples_per_class, spec.n_features))
    y = X @ np.linspace(1.5, -0.7, spec.n_features) + 0.3 + rng.normal(0.0, 0.1, len(X))
    return X, y


def encode(spec: Spec, y: np.ndarray) -> np.ndarray:
    """Targets (n, units) in the output activation's range."""
    if spec.task == "regression":
        return y.reshape(-1, 1)
    low, high = ACTIVATIONS[spec.activation][2]
    if spec.units == 1:
        return np.where(y == 1, high, low).reshape(-1, 1)
    targets = np.full((len(y), spec.units), low)
    targets[np.arange(len(y)), y] = high
    return targets


def decode(spec: Spec, outputs: np.ndarray) -> np.ndarray:
    if spec.units == 1:
        low, high = ACTIVATIONS[spec.activation][2]
        return (outputs[:, 0] > (low + high) / 2).astype(int)
    return outputs.argmax(axis=1)


def scores(spec: Spec, outputs: np.ndarray) -> np.ndarray:
    """(n, C) class scores: one unit's range mapped to the positive class's (0, 1) score."""
    if spec.units > 1:
        return outputs
    low, high = ACTIVATIONS[spec.activation][2]
    positive = (outputs[:, 0] - low) / (high - low)
    return np.column_stack([1 - positive, positive])


def train(
    spec: Spec, X: np.ndarray, T: np.ndarray, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mini-batch gradient descent on 1/2 sum (out - t)^2; (W (f, u), b (1, u)) after each epoch 0..E."""
    act, dact, _ = ACTIVATIONS[spec.activation]
    W = rng.normal(0.0, 0.5, size=(X.shape[1], spec.units))
    b = np.zeros((1, spec.units))
    batch = len(X) if spec.batch_size == "full" else int(spec.batch_size)
    states = [(W.copy(), b.copy())]
    for _ in range(spec.epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start : start + batch]
            out = act(X[rows] @ W + b)
            delta = (out - T[rows]) * dact(out)  # dE/dz
            W -= spec.learning_rate * X[rows].T @ delta
            b -= spec.learning_rate * delta.sum(axis=0, keepdims=True)
        states.append((W.copy(), b.copy()))
    return states


def forward(spec: Spec, X: np.ndarray, state) -> np.ndarray:
    W, b = state
    return ACTIVATIONS[spec.activation][0](X @ W + b)


def metrics(spec: Spec, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """The metric columns of epochs.csv for one replica, split and epoch."""
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):  # many small calls
        return _metrics(spec, y, outputs)


def _metrics(spec: Spec, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    T = encode(spec, y)
    sse = float(((outputs - T) ** 2).sum())
    if spec.task == "regression":
        predicted = outputs[:, 0]
        return {
            "loss": sse / 2,
            "mse": mean_squared_error(y, predicted),
            "sse": sse,
            "mae": mean_absolute_error(y, predicted),
            "r2": r2_score(y, predicted),
        }
    predicted = decode(spec, outputs)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, labels=np.arange(len(spec.classes)), average="macro", zero_division=0
    )
    return {
        "loss": sse / 2,
        "accuracy": accuracy_score(y, predicted),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "sse": sse,
    }


def replica_splits(spec: Spec, y: np.ndarray) -> list[dict]:
    """run x fold rows: train (less validation), validation, test (the held-out fold)."""
    replicas = []
    for run in range(spec.runs):
        seed = spec.seed + run
        if spec.task == "classification":
            folds = StratifiedKFold(spec.kfolds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
        else:
            folds = KFold(spec.kfolds, shuffle=True, random_state=seed).split(np.zeros(len(y)))
        for fold, (train_rows, test_rows) in enumerate(folds):
            rng = np.random.default_rng([seed, fold])
            n_val = int(round(spec.validation_split * len(train_rows)))
            shuffled = rng.permutation(train_rows)
            replicas.append(
                {
                    "run": run,
                    "fold": fold,
                    "seed": seed,
                    "train": np.sort(shuffled[n_val:]),
                    "validation": np.sort(shuffled[:n_val]),
                    "test": np.sort(test_rows),
                }
            )
    return replicas


def summary_rows(epochs: pd.DataFrame, monitor_split: str) -> pd.DataFrame:
    """summary.csv: final and best (lowest monitored loss) epoch per replica, then mean and std."""
    metric_cols = [c for c in epochs.columns if c not in ("run", "fold", "seed", "epoch", "split")]
    rows = []
    for (run, fold), group in epochs.groupby(["run", "fold"]):
        monitored = group[group["split"] == monitor_split]
        best = int(monitored.loc[monitored["loss"].idxmin(), "epoch"])
        final = int(group["epoch"].max())
        for kind, epoch in (("final", final), ("best", best)):
            chosen = group[group["epoch"] == epoch]
            for _, row in chosen.iterrows():
                rows.append(
                    {
                        "run": run,
                        "fold": fold,
                        "seed": row["seed"],
                        "split": row["split"],
                        "kind": kind,
                        "epoch": epoch,
                        "status": "ok",
                        **{m: row[m] for m in metric_cols},
                    }
                )
    table = pd.DataFrame(rows)
    aggregates = []
    for stat in ("mean", "std"):
        grouped = table.groupby(["split", "kind"], sort=False)[["epoch", *metric_cols]]
        frame = (grouped.mean() if stat == "mean" else grouped.std(ddof=0)).reset_index()
        frame.insert(0, "run", stat)
        aggregates.append(frame)
    return pd.concat([table.astype({"run": object}), *aggregates], ignore_index=True)[table.columns]


def save_network(stem: Path, W: np.ndarray, b: np.ndarray, spec: Spec) -> None:
    """<stem>.json + .npz: the one-layer network with kernel W (f, u) and bias b (1, u)."""
    from perceptron_lab.nn import Dense, Network

    network = Network(
        [Dense(spec.units, activation=spec.activation)], input_dim=spec.n_features, seed=0, dtype="float64"
    )
    network.set_weights([W[None], b[None]])
    stem.parent.mkdir(parents=True, exist_ok=True)
    network.save(stem)


def write_run(directory: Path, spec: Spec) -> Path:
    """Compute `spec` and write its complete results directory at `directory`."""
    directory = Path(directory)
    rng = np.random.default_rng(spec.seed)
    X, y = make_data(spec, rng)
    replicas = replica_splits(spec, y)
    noise = {f"test_noise_{a:g}": X + a * rng.normal(size=X.shape) for a in spec.noise_alpha}
    epoch_rows, confusion_rows, prediction_rows = [], [], []
    kernels, biases, manifest_replicas = [], [], []
    for r, rep in enumerate(replicas):
        T = encode(spec, y[rep["train"]])
        states = train(spec, X[rep["train"]], T, np.random.default_rng([spec.seed, r, 7]))
        split_data = {
            "train": (X, rep["train"]),
            "validation": (X, rep["validation"]),
            "test": (X, rep["test"]),
        }
        split_data.update({name: (noisy, rep["test"]) for name, noisy in noise.items()})
        keys = {"run": rep["run"], "fold": rep["fold"], "seed": rep["seed"]}
        for epoch, state in enumerate(states):
            for split, (data, rows) in split_data.items():
                if len(rows) == 0:
                    continue
                outputs = forward(spec, data[rows], state)
                epoch_rows.append({**keys, "epoch": epoch, "split": split, **metrics(spec, y[rows], outputs)})
                confusion_epochs = set(spec.record_epochs or []) | {spec.epochs}
                if spec.task == "classification" and split.startswith("test") and epoch in confusion_epochs:
                    matrix = confusion_matrix(
                        y[rows], decode(spec, outputs), labels=np.arange(len(spec.classes))
                    )
                    for t, p in np.ndindex(matrix.shape):
                        confusion_rows.append(
                            {
                                **keys,
                                "epoch": epoch,
                                "split": split,
                                "true": spec.classes[t],
                                "predicted": spec.classes[p],
                                "count": int(matrix[t, p]),
                            }
                        )
        final = states[-1]
        for split in ("train", "test"):
            rows = rep[split]
            outputs = forward(spec, X[rows], final)
            frame = pd.DataFrame({**keys, "split": split, "index": rows})
            if spec.task == "classification":
                names = np.asarray(spec.classes, dtype=object)
                frame["target"] = names[y[rows]]
                frame["predicted"] = names[decode(spec, outputs)]
                for c, name in enumerate(spec.classes):
                    frame[f"score_{name}"] = scores(spec, outputs)[:, c]
            else:
                frame["target"] = y[rows]
                frame["predicted"] = outputs[:, 0]
                frame["output_0"] = outputs[:, 0]
            if spec.n_features <= 3:
                for j in range(spec.n_features):
                    frame[f"x{j}"] = X[rows, j]
            prediction_rows.append(frame)
        recorded = spec.record_epochs if spec.record_epochs is not None else range(spec.epochs + 1)
        kernels.append(np.stack([states[e][0] for e in recorded]))
        biases.append(np.stack([states[e][1] for e in recorded]))
        save_network(directory / "models" / f"run{rep['run']}_fold{rep['fold']}" / "network", *final, spec)
        manifest_replicas.append(
            {
                "replica": r,
                **keys,
                "n_train": len(rep["train"]),
                "n_validation": len(rep["validation"]),
                "n_test": len(rep["test"]),
                "status": "ok",
                "stopped_epoch": spec.epochs,
                "best_epoch": spec.epochs,
                "wall_time_s": round(0.01 * (1 + r), 4),
            }
        )

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(spec.config(), sort_keys=False))
    epochs = pd.DataFrame(epoch_rows)
    epochs.to_csv(directory / "epochs.csv", index=False)
    monitor = "validation" if spec.validation_split else "train"
    summary_rows(epochs, monitor).to_csv(directory / "summary.csv", index=False)
    if confusion_rows:
        pd.DataFrame(confusion_rows).to_csv(directory / "confusion.csv", index=False)
    pd.concat(prediction_rows, ignore_index=True).to_csv(directory / "predictions.csv", index=False)
    if spec.record_weights or spec.record_epochs:
        (directory / "history").mkdir(exist_ok=True)
        np.savez_compressed(
            directory / "history" / "weights.npz",
            epochs=np.asarray(list(recorded)),
            kernel_0=np.stack(kernels, axis=1),
            bias_0=np.stack(biases, axis=1),
        )
    manifest = {
        "name": spec.name,
        "status": "complete",
        "created": "2024-05-01T12:00:00+00:00",
        "started": "2024-05-01T11:59:58+00:00",
        "finished": "2024-05-01T12:00:00+00:00",
        "wall_time_s": round(0.05 * len(replicas), 4),
        "train_time_s": round(0.04 * len(replicas), 4),
        "command": f"lab run {spec.name}.yaml",
        "versions": {"perceptron_lab": "0.1.0"},
        "config_hash": "0" * 64,
        "task": spec.task,
        "loss": "sse",
        "classes": spec.classes if spec.task == "classification" else None,
        "n_features": spec.n_features,
        "n_outputs": spec.units,
        "splits": [s for s in ("train", "validation", "test", *noise) if s in set(epochs["split"])],
        "dataset": {"name": spec.config()["dataset"]["name"], "n_samples": len(X)},
        "replicas": manifest_replicas,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return directory


def write_sweep(directory: Path, base: Spec, grid: dict[str, list], failed: int | None = None) -> Path:
    """A sweep directory (docs/results-format.md): sweep.json, config.yaml, sweep.csv, one run per point.

    grid keys are Spec fields under their dotted config names (optimizer.learning_rate,
    batch_size, epochs); point index `failed` is recorded as a failed point without a directory.
    """
    import itertools

    fields = {"optimizer.learning_rate": "learning_rate", "batch_size": "batch_size", "epochs": "epochs"}
    directory = Path(directory)
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(base.config(), sort_keys=False))
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    names = ["__".join(f"{k}-{v!r}" for k, v in point.items()) for point in points]
    plan = {
        "name": base.name,
        "status": "complete",
        "created": "2024-05-01T12:00:00+00:00",
        "grid": grid,
        "points": [{"name": n, "params": p, "config_hash": "0" * 64} for n, p in zip(names, points)],
        "config": base.config(),
    }
    (directory / "sweep.json").write_text(json.dumps(plan, indent=2))
    rows = []
    for i, (point, name) in enumerate(zip(points, names)):
        row = {"point": name, **point}
        if i == failed:
            rows.append({**row, "status": "failed", "wall_time_s": None, "error": "ValueError: bad point"})
            continue
        spec = Spec(**{**base.__dict__, **{fields[k]: v for k, v in point.items()}})
        run_dir = write_run(directory / name, spec)
        row.update(
            {
                "status": "ok",
                "wall_time_s": json.loads((run_dir / "manifest.json").read_text())["wall_time_s"],
                "error": "",
            }
        )
        summary = pd.read_csv(run_dir / "summary.csv")
        final = summary[(summary["kind"] == "final") & summary["run"].isin(["mean", "std"])]
        for _, line in final.iterrows():
            for metric in ("loss", "accuracy", "precision", "recall", "f1", "sse"):
                row[f"{line['split']}_{metric}_{line['run']}"] = line[metric]
        rows.append(row)
    pd.DataFrame(rows).to_csv(directory / "sweep.csv", index=False)
    return directory
