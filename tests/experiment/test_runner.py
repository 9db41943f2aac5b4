"""run_experiment: stacked replicas, metrics against scikit-learn, preprocessing, atomic writes."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from perceptron_lab.config import build_config
from perceptron_lab.errors import UserError
from perceptron_lab.experiment import execute_experiment, load_results, run_experiment
from perceptron_lab.experiment.preparation import SplitBuilder
from perceptron_lab.experiment.specs import load_data, target_coding
from perceptron_lab.experiment.splits import make_splits
from perceptron_lab.nn import load_network

IRIS = {
    "name": "iris_t",
    "dataset": "iris",
    "architecture": [4, 6, 3],
    "activation": "tanh",
    "output_activation": "softmax",
    "optimizer": {"name": "adam", "learning_rate": 0.05},
    "epochs": 15,
    "batch_size": 8,
    "runs": 2,
    "kfolds": 3,
    "preprocessing": {"inputs": "standard"},
    "output": {"plots": False},
}


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    return load_results(run_experiment(build_config(IRIS), out_root=out))


def test_final_metrics_equal_sklearn_on_the_written_predictions(iris_run):
    predictions = iris_run.predictions
    summary = iris_run.summary
    final = summary[
        (summary["kind"] == "final") & (summary["split"] == "test") & ~summary["run"].isin(["mean", "std"])
    ]
    for _, row in final.iterrows():
        rows = predictions[
            (predictions["run"] == int(row["run"]))
            & (predictions["fold"] == int(row["fold"]))
            & (predictions["split"] == "test")
        ]
        y, p = rows["target"], rows["predicted"]
        assert row["accuracy"] == pytest.approx(accuracy_score(y, p))
        assert row["f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
        assert row["precision"] == pytest.approx(precision_score(y, p, average="macro", zero_division=0))
        assert row["recall"] == pytest.approx(recall_score(y, p, average="macro", zero_division=0))


def test_summary_mean_and_std_aggregate_the_replicas(iris_run):
    summary = iris_run.summary
    per_replica = summary[
        ~summary["run"].isin(["mean", "std"]) & (summary["kind"] == "final") & (summary["split"] == "test")
    ]
    mean = summary[
        (summary["run"] == "mean") & (summary["kind"] == "final") & (summary["split"] == "test")
    ].iloc[0]
    std = summary[
        (summary["run"] == "std") & (summary["kind"] == "final") & (summary["split"] == "test")
    ].iloc[0]
    assert len(per_replica) == 6
    assert mean["accuracy"] == pytest.approx(per_replica["accuracy"].mean())
    assert std["loss"] == pytest.approx(per_replica["loss"].std(ddof=0))


def test_confusion_counts_match_fold_sizes(iris_run):
    confusion = iris_run.confusion
    final = confusion[confusion["epoch"] == iris_run.manifest["replicas"][0]["stopped_epoch"]]
    sizes = final.groupby(["run", "fold"])["count"].sum()
    assert sorted(sizes.tolist()) == [50] * 6  # 150 iris rows in 3 folds, every run


def test_saved_models_reproduce_the_predictions(iris_run):
    model = load_network(iris_run.path / "models" / "run1_fold2" / "network")
    rows = iris_run.predictions.query("run == 1 and fold == 2 and split == 'test'")
    config = build_config(iris_run.config)
    dataset, _ = load_data(config)
    split = [
        s
        for s in make_splits(
            dataset.y, classification=True, runs=2, kfolds=3, seed=0, test_size=0.25, validation_split=0.0
        )
    ][5]
    splits, _ = SplitBuilder(config, dataset, None, target_coding(config, dataset)).build([split])
    outputs = model.predict(splits["test"].X[splits["test"].index[0]])[0]
    score_columns = [c for c in rows.columns if c.startswith("score_")]
    np.testing.assert_allclose(outputs, rows[score_columns].to_numpy(), rtol=1e-5, atol=1e-6)


def test_standardization_is_fitted_on_each_replicas_training_rows_only():
    config = build_config(IRIS)
    dataset, _ = load_data(config)
    replicas = make_splits(
        dataset.y, classification=True, runs=1, kfolds=3, seed=0, test_size=0.25, validation_split=0.0
    )
    splits, prep = SplitBuilder(config, dataset, None, target_coding(config, dataset)).build(replicas)
    for r, rep in enumerate(replicas):
        train_inputs = splits["train"].X[splits["train"].index[r]]
        np.testing.assert_allclose(train_inputs.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(prep.inputs[r].mean_, dataset.X[rep.train].mean(axis=0), rtol=1e-5)
        test_inputs = splits["test"].X[splits["test"].index[r]]
        assert np.abs(test_inputs.mean(axis=0)).max() > 1e-3


def test_regression_metrics_in_original_units_undo_target_scaling():
    config = build_config(
        {
            "dataset": {"name": "logistic_map", "n_samples": 60},
            "architecture": [1, 4, 1],
            "activation": "tanh",
            "output_activation": "identity",
            "epochs": 5,
            "batch_size": 4,
            "runs": 2,
            "preprocessing": {"targets": "minmax"},
            "output": {"plots": False},
        }
    )
    result = execute_experiment(config)
    epochs = result.epochs
    test = epochs[epochs["split"] == "test"]
    dataset, _ = load_data(config)
    for (run, _fold), rows in test.groupby(["run", "fold"]):
        train = make_splits(
            dataset.y, classification=False, runs=2, kfolds=1, seed=0, test_size=0.25, validation_split=0.0
        )[run].train
        span = dataset.y[train].max() - dataset.y[train].min()
        # minmax to [-1, 1]: y_scaled = 2 (y - min) / span - 1, so errors scale by span / 2
        np.testing.assert_allclose(rows["mse_orig"], rows["mse"] * (span / 2) ** 2, rtol=1e-4)
        np.testing.assert_allclose(rows["mae_orig"], rows["mae"] * (span / 2), rtol=1e-4)


def test_noise_splits_hold_the_copies_of_every_test_sample():
    config = build_config(
        {
            "dataset": "digits5x7",
            "test_dataset": "digits5x7",
            "architecture": [35, 10],
            "activation": "sigmoid",
            "epochs": 2,
            "runs": 1,
            "noise": {"alpha": [0.3, 0.5], "copies": 7},
            "output": {"plots": False},
        }
    )
    result = execute_experiment(config)
    assert set(result.epochs["split"]) == {"train", "test", "test_noise_0.3", "test_noise_0.5"}
    confusion = result.confusion
    final = confusion[(confusion["split"] == "test_noise_0.5") & (confusion["epoch"] == 2)]
    assert final["count"].sum() == 70


def test_early_stopping_stops_replicas_independently():
    config = build_config(
        {
            **IRIS,
            "kfolds": 1,
            "validation_split": 0.2,
            "epochs": 400,
            "early_stopping": {"monitor": "validation.loss", "patience": 3},
        }
    )
    result = execute_experiment(config)
    stopped = [r["stopped_epoch"] for r in result.manifest["replicas"]]
    assert all(s < 400 for s in stopped)
    assert all(r["status"] == "early_stopped" for r in result.manifest["replicas"])
    last_epochs = result.epochs.groupby(["run", "fold"])["epoch"].max().tolist()
    assert last_epochs == stopped


def test_interrupted_write_leaves_no_directory(tmp_path, monkeypatch):
    from perceptron_lab.nn import Network

    def broken_save(self, stem):
        raise OSError("disk full")

    monkeypatch.setattr(Network, "save", broken_save)
    with pytest.raises(UserError, match=r"writing the results failed \(disk full\); nothing was written"):
        run_experiment(build_config({**IRIS, "epochs": 1}), out_root=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_max_replicas_chunks_give_the_same_numbers():
    whole = execute_experiment(build_config({**IRIS, "epochs": 4, "dtype": "float64"}))
    chunked = execute_experiment(build_config({**IRIS, "epochs": 4, "dtype": "float64", "max_replicas": 4}))
    pd.testing.assert_frame_equal(whole.epochs, chunked.epochs, rtol=1e-9)


def test_a_failing_figure_keeps_the_trained_results(tmp_path, monkeypatch):
    import perceptron_lab.report as report

    def broken_plot_run(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(report, "plot_run", broken_plot_run)
    with pytest.warns(UserWarning, match="no fonts"):
        run_dir = run_experiment(
            build_config({**IRIS, "epochs": 1, "output": {"plots": True}}), out_root=tmp_path
        )
    results = load_results(run_dir)
    assert results.manifest["plot_error"] == "RuntimeError: no fonts"
    assert len(results.epochs) > 0


def test_the_manifest_says_which_kernels_could_run(iris_run):
    from importlib.metadata import PackageNotFoundError, version

    from perceptron_lab.nn import kernels

    manifest = iris_run.manifest
    assert manifest["kernels"] == kernels.mode()
    try:
        assert manifest["versions"]["numba"] == version("numba")
    except PackageNotFoundError:
        assert "numba" not in manifest["versions"]
