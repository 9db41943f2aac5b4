"""The tables of a results directory (epochs, summary, confusion, predictions) as DataFrames.

Column layouts are the contract in docs/results-format.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..train.metrics import confusion_matrices
from .splits import ReplicaSplit

KEYS = ["run", "fold", "seed"]


def _replica_keys(replicas: list[ReplicaSplit]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": [r.run for r in replicas],
            "fold": [r.fold for r in replicas],
            "seed": [r.seed for r in replicas],
        }
    )


def epochs_table(replicas: list[ReplicaSplit], history) -> pd.DataFrame:
    """One row per (replica, evaluated epoch, split) up to the replica's stopped epoch (its
    last evaluation, kept even when every value is NaN, as when it diverged)."""
    epochs = np.asarray(history.epochs)
    n_epochs, n_replicas = len(epochs), len(replicas)
    keys = _replica_keys(replicas)
    trained = (epochs[:, None] <= np.asarray(history.stopped_epoch)[None, :]).reshape(-1)  # (E * R,)
    frames = []
    for split, logs in history.logs.items():
        names = list(logs)
        values = np.stack([np.asarray(logs[m], dtype=float) for m in names], axis=-1)  # (E, R, M)
        frame = pd.DataFrame(values.reshape(n_epochs * n_replicas, len(names)), columns=names)
        frame.insert(0, "split", split)
        frame.insert(0, "epoch", np.repeat(epochs, n_replicas))
        replica = np.tile(np.arange(n_replicas), n_epochs)
        for i, key in enumerate(KEYS):
            frame.insert(i, key, keys[key].to_numpy()[replica])
        frames.append(frame[trained])
    table = pd.concat(frames, ignore_index=True)
    split_order = {name: i for i, name in enumerate(history.logs)}
    order = np.lexsort((table["split"].map(split_order), table["epoch"], table["fold"], table["run"]))
    return table.iloc[order].reset_index(drop=True)


def replica_marks(replicas: list[ReplicaSplit], histories: list) -> pd.DataFrame:
    """run, fold, status, final, best per replica, read from the histories: "final" is the
    epoch whose weights were kept (see History.kept_epoch), "best" the best monitored epoch."""

    def stacked(attribute: str) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(h, attribute)) for h in histories])

    marks = _replica_keys(replicas)[["run", "fold"]]
    return marks.assign(
        status=stacked("status").astype(object),
        final=stacked("kept_epoch").astype(int),
        best=stacked("best_epoch").astype(int),
    )


def summary_table(epochs: pd.DataFrame, replicas: list[ReplicaSplit], histories: list) -> pd.DataFrame:
    """Final (kept weights) and best epoch per replica and split, then mean and std (ddof=0) rows.

    The epochs come from the histories, never recomputed from the metrics.
    """
    metrics = [c for c in epochs.columns if c not in (*KEYS, "epoch", "split")]
    marks = replica_marks(replicas, histories)
    rows = []
    for kind in ("final", "best"):
        chosen = epochs.merge(marks[["run", "fold", kind, "status"]], on=["run", "fold"])
        chosen = chosen[chosen["epoch"] == chosen[kind]].drop(columns=[kind])
        chosen.insert(4, "kind", kind)
        rows.append(chosen)
    table = pd.concat(rows, ignore_index=True)
    table = table[[*KEYS, "split", "kind", "epoch", "status", *metrics]]
    table = table.sort_values(["run", "fold", "split", "kind"], kind="stable")
    grouped = table.groupby(["split", "kind"], sort=False)[["epoch", *metrics]]
    aggregates = []
    for label, frame in (("mean", grouped.mean()), ("std", grouped.std(ddof=0))):
        frame = frame.reset_index()
        frame.insert(0, "run", label)
        aggregates.append(frame)
    table = table.astype({"run": object})
    return pd.concat([table, *aggregates], ignore_index=True)[table.columns]


def _long_confusion(
    matrices: np.ndarray, replicas: list[ReplicaSplit], epochs: np.ndarray, split: str, classes: list[str]
) -> pd.DataFrame:
    """(R, C, C) -> rows run, fold, seed, epoch, split, true, predicted, count."""
    n_replicas, n_classes, _ = matrices.shape
    replica, true, predicted = np.indices(matrices.shape).reshape(3, -1)
    names = np.asarray(classes, dtype=object)
    keys = _replica_keys(replicas)
    return pd.DataFrame(
        {
            "run": keys["run"].to_numpy()[replica],
            "fold": keys["fold"].to_numpy()[replica],
            "seed": keys["seed"].to_numpy()[replica],
            "epoch": np.asarray(epochs)[replica],
            "split": split,
            "true": names[true],
            "predicted": names[predicted],
            "count": matrices.reshape(-1),
        }
    )


def _confusion_splits(splits) -> list[str]:
    tests = [name for name in splits if name.startswith("test")]
    return tests or ["train"]


def final_outputs(network, splits: dict, names: list[str]) -> dict[str, list[np.ndarray]]:
    """Final outputs of each replica on its own rows of each named split: name -> list of (m_r, out).

    Each replica predicts as the single-replica network its saved model holds, so a saved
    model given the same rows reproduces these outputs to the last bit.
    """
    singles = [network.select([r]) for r in range(network.replicas)]
    outputs = {}
    for name in names:
        split = splits[name]
        outputs[name] = [singles[r].predict(split.X[rows])[0] for r, rows in enumerate(split.index)]
    return outputs


def output_splits(splits: dict, n_features: int) -> list[str]:
    """The splits whose final outputs the tables need: every test split, and train when there is
    no test split or the inputs are small enough to plot (at most 3 features)."""
    tests = [name for name in splits if name.startswith("test")]
    return tests + ["train"] if not tests or n_features <= 3 else tests


def confusion_table(
    outcome, outputs: dict[str, list[np.ndarray]], coding, classes: list[str]
) -> pd.DataFrame:
    """Confusion matrices of the kept weights (labelled with their epoch) and at the recorded
    snapshot epochs."""
    frames = []
    final_epochs = np.asarray(outcome.history.kept_epoch)
    for split_name in _confusion_splits(outcome.splits):
        split = outcome.splits[split_name]
        final = np.stack(
            [
                confusion_matrices(
                    split.truth[rows][None],
                    coding.decode(out)[None],
                    np.ones((1, len(rows)), bool),
                    len(classes),
                )[0]
                for rows, out in zip(split.index, outputs[split_name])
            ]
        )
        for epoch, snapshot in sorted(outcome.snapshots.items()):
            if split_name in snapshot:
                frames.append(
                    _long_confusion(
                        snapshot[split_name],
                        outcome.replicas,
                        np.full(len(final), epoch),
                        split_name,
                        classes,
                    )
                )
        frames.append(_long_confusion(final, outcome.replicas, final_epochs, split_name, classes))
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates(subset=["run", "fold", "epoch", "split", "true", "predicted"], keep="last")


def predictions_table(
    outcome,
    outputs: dict[str, list[np.ndarray]],
    coding,
    classes: list[str] | None,
    n_features: int,
    reconstruction: bool = False,
) -> pd.DataFrame:
    """Final outputs on the clean test rows of every replica, and on its train rows when
    `outputs` holds them (see output_splits). A reconstruction keeps one column per sample
    instead of its many outputs: `mse`, the sample's reconstruction error in original units."""
    targets_prep = outcome.evaluator.prep.targets
    frames = []
    for split_name in ("train", "test"):
        if split_name not in outputs:
            continue
        split = outcome.splits[split_name]
        for r, (rows, out) in enumerate(zip(split.index, outputs[split_name])):
            rep = outcome.replicas[r]
            frame = pd.DataFrame(
                {
                    "run": rep.run,
                    "fold": rep.fold,
                    "seed": rep.seed,
                    "split": split_name,
                    "index": split.source[rows],
                }
            )
            if coding is not None:
                names = np.asarray(classes, dtype=object)
                frame["target"] = names[split.truth[rows]]
                frame["predicted"] = names[coding.decode(out)]
                scores = coding.scores(out)
                for c, name in enumerate(names):
                    frame[f"score_{name}"] = scores[:, c]
            elif reconstruction:
                original = targets_prep[r].inverse_transform(out) if targets_prep is not None else out
                frame["mse"] = np.mean((original - split.truth[rows]) ** 2, axis=1)
            else:
                original = targets_prep[r].inverse_transform(out) if targets_prep is not None else out
                frame["target"] = split.truth[rows][:, 0]
                frame["predicted"] = original[:, 0]
                for j in range(original.shape[1]):
                    frame[f"output_{j}"] = original[:, j]
            if n_features <= 3:
                for j in range(n_features):
                    frame[f"x{j}"] = split.X[rows, j]
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)
