"""Early stopping's best and kept epochs are decided once (by the history) and every table agrees."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from perceptron_lab.config import build_config
from perceptron_lab.experiment import load_results, run_experiment
from perceptron_lab.experiment.sweep import final_metrics

IRIS_ES = {
    "name": "iris_es",
    "dataset": "iris",
    "architecture": [4, 8, 3],
    "activation": "tanh",
    "output_activation": "softmax",
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "epochs": 300,
    "batch_size": 16,
    "runs": 3,
    "validation_split": 0.2,
    "preprocessing": {"inputs": "standard"},
    "early_stopping": {"patience": 20, "min_delta": 0.02},
    "output": {"plots": False},
}


@pytest.fixture(scope="module")
def es_run(tmp_path_factory):
    return load_results(run_experiment(build_config(IRIS_ES), out_root=tmp_path_factory.mktemp("r")))


def _rows(summary: pd.DataFrame, kind: str, split: str) -> pd.DataFrame:
    rows = summary[(summary["kind"] == kind) & (summary["split"] == split)]
    return rows[~rows["run"].isin(["mean", "std"])].astype({"run": int, "fold": int})


def test_replicas_stop_early_with_a_best_epoch_plain_argmin_would_not_pick(es_run):
    replicas = es_run.manifest["replicas"]
    assert all(r["status"] == "early_stopped" for r in replicas)
    validation = es_run.epochs[es_run.epochs["split"] == "validation"]
    differs = 0
    for r in replicas:
        rows = validation[(validation["run"] == r["run"]) & (validation["fold"] == r["fold"])]
        argmin = int(rows.loc[rows["loss"].idxmin(), "epoch"])
        differs += argmin != r["best_epoch"]
        assert r["kept_epoch"] == r["best_epoch"] < r["stopped_epoch"]
    assert differs, "min_delta should make the history's best epoch differ from a plain argmin"


def test_summary_epochs_are_the_histories(es_run):
    by_replica = {(r["run"], r["fold"]): r for r in es_run.manifest["replicas"]}
    for kind, key in (("final", "kept_epoch"), ("best", "best_epoch")):
        for split in ("train", "validation", "test"):
            for _, row in _rows(es_run.summary, kind, split).iterrows():
                assert row["epoch"] == by_replica[(row["run"], row["fold"])][key]


def test_final_metrics_describe_the_saved_weights(es_run):
    final = _rows(es_run.summary, "final", "test")
    predictions = es_run.predictions[es_run.predictions["split"] == "test"]
    for _, row in final.iterrows():
        mine = predictions[(predictions["run"] == row["run"]) & (predictions["fold"] == row["fold"])]
        assert row["accuracy"] == pytest.approx(accuracy_score(mine["target"], mine["predicted"]))
        epochs = es_run.epochs
        logged = epochs[
            (epochs["run"] == row["run"]) & (epochs["fold"] == row["fold"]) & (epochs["split"] == "test")
        ]
        assert row["loss"] == pytest.approx(logged[logged["epoch"] == row["epoch"]]["loss"].iloc[0])


def test_sweep_row_reads_the_final_rows(es_run):
    metrics = final_metrics(es_run.summary)
    final = _rows(es_run.summary, "final", "test")
    assert metrics["test_accuracy_mean"] == pytest.approx(final["accuracy"].mean())
    assert metrics["test_loss_std"] == pytest.approx(np.std(final["loss"]))


def test_printed_table_reads_the_final_rows(es_run, capsys):
    from perceptron_lab.cli import _print_summary

    _print_summary(es_run.path, as_json=False)
    out = capsys.readouterr().out
    mean = _rows(es_run.summary, "final", "test")["accuracy"].mean()
    assert f"{mean:.3g}" in out
