"""`lab predict` and predict_run: saved models of a run on new rows, alone or as an ensemble."""

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from perceptron_lab import load_config, load_model, run_experiment
from perceptron_lab.cli import app
from perceptron_lab.data import load_dataset
from perceptron_lab.experiment.predict import best_replica, ensemble_predict, predict_run, run_models

runner = CliRunner()

IRIS = ["runs=1", "kfolds=3", "epochs=15", "eval_every=5", "output.plots=false"]
EJ2 = ["runs=1", "kfolds=3", "epochs=10", "eval_every=5", "output.plots=false"]


def lab(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    return run_experiment(load_config("configs/iris.yaml", IRIS), out_root=tmp_path_factory.mktemp("iris"))


@pytest.fixture(scope="module")
def ej2_run(tmp_path_factory):
    config = load_config("configs/ej2_linear_vs_nonlinear.yaml", EJ2)
    return run_experiment(config, out_root=tmp_path_factory.mktemp("ej2"))


def _final_test(run_dir, run, fold, metric):
    summary = pd.read_csv(run_dir / "summary.csv")
    row = summary[
        (summary["run"].astype(str) == str(run))
        & (summary["fold"] == fold)
        & (summary["split"] == "test")
        & (summary["kind"] == "final")
    ]
    return float(row[metric].iloc[0])


def _replica_test_rows(run_dir, replica: int) -> pd.DataFrame:
    predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"target": object, "predicted": object})
    # runs=1: replica k is run 0, fold k
    return predictions[
        (predictions["run"] == 0) & (predictions["fold"] == replica) & (predictions["split"] == "test")
    ]


def _printed(result, name: str) -> float:
    line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.stdout
    return float(line.split(f"{name} ")[1].split(",")[0])


def test_a_copied_run_predicts_its_replicas_test_rows_from_another_cwd(iris_run, tmp_path, monkeypatch):
    copy = shutil.copytree(iris_run, tmp_path / "moved" / "run")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = load_dataset("iris")
    for replica in range(3):
        rows = _replica_test_rows(iris_run, replica)
        frame = pd.DataFrame(data.X[rows["index"]], columns=data.feature_names)
        frame["target"] = rows["target"].to_numpy()
        frame.to_csv(f"rows{replica}.csv", index=False)
        result = lab("predict", copy, "--data", f"rows{replica}.csv", "--replica", replica, "--out", "p.csv")
        assert result.exit_code == 0, result.output
        written = pd.read_csv(elsewhere / "p.csv")
        np.testing.assert_array_equal(written["predicted"], rows["predicted"])
        scores = [c for c in rows if c.startswith("score_")]
        np.testing.assert_array_equal(written[scores].to_numpy(np.float32), rows[scores].to_numpy(np.float32))
        accuracy = _final_test(iris_run, 0, replica, "accuracy")
        assert _printed(result, "accuracy") == pytest.approx(accuracy, abs=1e-6)


def test_a_regression_run_reproduces_its_test_mse_in_original_units(ej2_run, tmp_path):
    data = load_dataset("ej2_regression")
    rows = _replica_test_rows(ej2_run, 1)
    frame = pd.DataFrame(data.X[rows["index"]], columns=data.feature_names)
    frame["y"] = data.y[rows["index"], 0]
    frame.to_csv(tmp_path / "rows.csv", index=False)
    result = lab(
        "predict", ej2_run, "--data", tmp_path / "rows.csv", "--replica", 1, "--out", tmp_path / "p.csv"
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(
        written["predicted"].to_numpy(np.float32), rows["predicted"].to_numpy(np.float32)
    )
    assert _printed(result, "mse") == pytest.approx(_final_test(ej2_run, 0, 1, "mse_orig"), rel=1e-5)


def test_the_ensemble_is_the_mean_of_its_models_outputs(iris_run, ej2_run):
    X = load_dataset("iris").X
    models, chosen = run_models(iris_run)
    assert chosen == [0, 1, 2]
    each = np.stack([m.predict_proba(X) for m in models])  # (R, n, C)
    predicted = predict_run(iris_run, X)
    np.testing.assert_array_equal(predicted.values, each.mean(axis=0))
    classes = np.asarray(models[0].classes, dtype=object)
    np.testing.assert_array_equal(predicted.labels, classes[each.mean(axis=0).argmax(axis=1)])
    # chunking changes nothing
    values, _ = ensemble_predict(models, X, chunk_rows=7)
    np.testing.assert_array_equal(values, predicted.values)

    X2 = load_dataset("ej2_regression").X
    regressors, _ = run_models(ej2_run)
    np.testing.assert_array_equal(
        predict_run(ej2_run, X2).values, np.stack([m.predict(X2) for m in regressors]).mean(axis=0)
    )


def test_vote_counts_each_replicas_class(iris_run):
    X = load_dataset("iris").X
    models, _ = run_models(iris_run)
    votes = np.stack([m.predict_index(X) for m in models])  # (R, n)
    predicted = predict_run(iris_run, X, ensemble="vote")
    for i in range(0, len(X), 10):
        counts = np.bincount(votes[:, i], minlength=3)
        np.testing.assert_array_equal(predicted.values[i], counts / 3)
        assert predicted.labels[i] == models[0].classes[counts.argmax()]


def test_best_replica_has_the_best_final_test_accuracy(iris_run):
    best = best_replica(iris_run, "classification")
    accuracies = [_final_test(iris_run, 0, fold, "accuracy") for fold in range(3)]
    assert accuracies[best] == max(accuracies)
    models, chosen = run_models(iris_run, "best")
    assert chosen == [best] and len(models) == 1


def test_dataset_spec_predicts_every_row_with_targets(iris_run):
    result = lab("predict", iris_run, "--dataset", "iris", "--replica", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "predicted,score_setosa,score_versicolor,score_virginica,target"
    assert len(lines) == 151
    assert "150 rows" in result.stderr and "accuracy" in result.stderr


def _write(tmp_path, text):
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return path


IRIS_HEADER = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            f"{IRIS_HEADER}\n5.1,3.5,1.4,0.2\n5.0,x,1.4,0.2\n",
            "rows.csv:3: column 'sepal width (cm)' has non-numeric",
        ),
        ("a,b,c,d\n1,2,3,4\n", "rows.csv:1: no column 'sepal length (cm)'"),
        (f"{IRIS_HEADER},colour\n5.1,3.5,1.4,0.2,red\n", "rows.csv:1: column 'colour' is neither a feature"),
        (
            f"{IRIS_HEADER},target\n5.1,3.5,1.4,0.2,setosa\n5.1,3.5,1.4,0.2,rose\n",
            "rows.csv:3: column 'target' has class 'rose'",
        ),
        (
            f"{IRIS_HEADER}\n5.1,3.5,1.4,0.2\n5.1,3.5,,0.2\n",
            "rows.csv:3: missing value in column 'petal length (cm)'",
        ),
        (
            f"{IRIS_HEADER}\n5.1,3.5,1.4,0.2\n5.1,inf,1.4,0.2\n",
            "rows.csv:3: column 'sepal width (cm)' has inf",
        ),
    ],
)
def test_bad_rows_exit_2_with_one_line_naming_file_row_and_column(iris_run, tmp_path, text, expected):
    result = lab("predict", iris_run, "--data", _write(tmp_path, text), "--out", tmp_path / "p.csv")
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--dataset", "digits"], "--dataset digits: 64 features, the model takes 4"),
        (["--dataset", "iris", "--replica", "7"], "--replica: 7 is not a replica"),
        (["--dataset", "iris", "--replica", "first"], "--replica: 'first'"),
        ([], "exactly one of --data"),
        (["--dataset", "iris,bogus"], "--dataset: 'bogus' is not key=value (in 'iris,bogus')"),
        (["--dataset", "iris", "--out", "/nonexistent-dir/p.csv"], "p.csv: cannot write"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(iris_run, args, expected):
    result = lab("predict", iris_run, *args)
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_vote_needs_a_classifier_and_a_run_needs_models(ej2_run, tmp_path):
    result = lab("predict", ej2_run, "--dataset", "ej2_regression", "--ensemble", "vote")
    assert result.exit_code == 2 and "needs a classifier" in result.stderr
    result = lab("predict", tmp_path, "--dataset", "iris")
    assert result.exit_code == 2 and "not a complete run directory" in result.stderr


def test_predictions_of_run_models_are_load_model_predictions(iris_run):
    X = load_dataset("iris").X[:9]
    model = load_model(iris_run / "models" / "run0_fold2")
    np.testing.assert_array_equal(predict_run(iris_run, X, replica=2).values, model.predict_proba(X))


def test_the_iris_example_predicts_the_same_from_the_cli_and_from_python(tmp_path):
    config = load_config("configs/iris_predict.yaml", ["epochs=20", "output.plots=false"])
    run_dir = run_experiment(config, out_root=tmp_path)
    rows = pd.read_csv("examples/iris_new_rows.csv")
    result = lab("predict", run_dir, "--data", "examples/iris_new_rows.csv", "--out", tmp_path / "cli.csv")
    assert result.exit_code == 0, result.output
    from_cli = pd.read_csv(tmp_path / "cli.csv")
    from_python = predict_run(run_dir, rows).table(rows["target"].to_numpy())
    pd.testing.assert_frame_equal(from_cli, from_python, check_exact=True)
    single = load_model(run_dir / "models" / "run0_fold0")
    solo = lab("predict", run_dir, "--data", "examples/iris_new_rows.csv", "--replica", "0")
    np.testing.assert_array_equal(
        pd.read_csv(io.StringIO(solo.stdout))[[f"score_{c}" for c in single.classes]].to_numpy(),
        single.predict_proba(rows).astype(np.float64),
    )


def test_a_model_without_feature_names_takes_columns_by_position(tmp_path):
    from perceptron_lab.errors import DataError
    from perceptron_lab.experiment.predict_inputs import read_rows_csv
    from perceptron_lab.model import Model
    from perceptron_lab.nn import Dense, Network

    model = Model(Network([Dense(1)], input_dim=2, seed=0), "regression", 2, target_names=["y"])
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,3\n4,5,6\n")
    rows = read_rows_csv(model, tmp_path / "ok.csv")
    np.testing.assert_array_equal(rows.X, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(rows.truth, [[3], [6]])
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"bad.csv:1: 3 feature columns \(a, b, c\), the model takes 2"):
        read_rows_csv(model, tmp_path / "bad.csv")


def test_best_regression_replica_has_the_lowest_test_mse_in_original_units(ej2_run):
    best = best_replica(ej2_run, "regression")
    errors = [_final_test(ej2_run, 0, fold, "mse_orig") for fold in range(3)]
    assert errors[best] == min(errors)


def test_a_dataset_spec_reproduces_the_test_accuracy_of_a_separate_test_set(tmp_path):
    overrides = ["epochs=30", "runs=2", "noise.copies=1", "record.epochs=null", "eval_every=10"]
    config = load_config("configs/ej3_digits.yaml", [*overrides, "output.plots=false"])
    run_dir = run_experiment(config, out_root=tmp_path)
    for replica in (0, 1):
        result = lab("predict", run_dir, "--dataset", "digits5x7,target=digit", "--replica", replica)
        assert result.exit_code == 0, result.output
        assert _printed(result, "accuracy") == pytest.approx(_final_test(run_dir, replica, 0, "accuracy"))


def test_a_run_saved_without_models_or_with_the_older_layout_is_one_line(tmp_path):
    config = load_config("configs/iris.yaml", [*IRIS, "output.save_models=false"])
    run_dir = run_experiment(config, out_root=tmp_path / "no_models")
    result = lab("predict", run_dir, "--dataset", "iris")
    assert result.exit_code == 2 and "no models/" in result.stderr
    older = run_experiment(load_config("configs/iris.yaml", IRIS), out_root=tmp_path / "older")
    for directory in [p for p in (older / "models").iterdir()]:
        shutil.rmtree(directory)
        # the older layout held the network alone, as <stem>.json + <stem>.npz
        (older / "models" / f"{directory.name}.json").write_text("{}")
    result = lab("predict", older, "--dataset", "iris")
    assert result.exit_code == 2 and "older perceptron_lab" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_autoencoder_run_predicts_reconstructions_and_their_error(tmp_path):
    overrides = ["epochs=3", "runs=1", "noise.copies=1", "output.plots=false"]
    run_dir = run_experiment(load_config("configs/digits_denoise.yaml", overrides), out_root=tmp_path)
    model = load_model(run_dir / "models" / "run0_fold0")
    assert model.reconstructs and model.task == "regression"
    data = load_dataset("digits")
    rows = pd.read_csv(run_dir / "predictions.csv").query("split == 'test'")
    X = data.X[rows["index"].to_numpy()]
    pd.DataFrame(X, columns=data.feature_names).to_csv(tmp_path / "rows.csv", index=False)
    result = lab("predict", run_dir, "--data", tmp_path / "rows.csv", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    # the mean of predictions.csv's per-row errors (original units) is the printed MSE
    assert _printed(result, "mse") == pytest.approx(rows["mse"].mean(), rel=1e-5)
    written = pd.read_csv(tmp_path / "p.csv")
    assert written.shape == (len(X), 1 + 64 + 64)  # predicted, output_<j>, target_<j>
    result = lab("predict", run_dir, "--dataset", "digits", "--replica", "0")
    assert result.exit_code == 0 and "mse" in result.stderr


def test_a_long_feature_list_is_shortened_in_the_error(tmp_path):
    from perceptron_lab.errors import DataError
    from perceptron_lab.experiment.predict_inputs import read_rows_csv
    from perceptron_lab.model import Model
    from perceptron_lab.nn import Dense, Network

    names = [f"pixel_{i}" for i in range(64)]
    model = Model(Network([Dense(1)], input_dim=64, seed=0), "regression", 64, feature_names=names)
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError) as error:
        read_rows_csv(model, tmp_path / "rows.csv")
    assert str(error.value).endswith("pixel_0, pixel_1, pixel_2, pixel_3, pixel_4, pixel_5, ... (64 in all)")


def test_one_saved_model_directory_predicts_like_a_run_of_one(tmp_path):
    from sklearn.datasets import load_iris

    from perceptron_lab.sklearn import LabClassifier

    X, y = load_iris(return_X_y=True)
    fitted = LabClassifier(hidden_sizes=(8,), epochs=30, learning_rate=0.05, replicas=2).fit(X, y)
    directory = fitted.models_[1].save(tmp_path / "model")
    frame = pd.DataFrame(X[:10], columns=["a", "b", "c", "d"])  # no feature names: by position
    frame["target"] = y[:10]
    frame.to_csv(tmp_path / "rows.csv", index=False)
    result = lab("predict", directory, "--data", tmp_path / "rows.csv", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(
        written[["score_0", "score_1", "score_2"]], fitted.models_[1].predict_proba(X[:10])
    )
    assert "accuracy" in result.stdout
    result = lab("predict", directory, "--data", tmp_path / "rows.csv", "--replica", "3")
    assert result.exit_code == 2 and "single model" in result.stderr
