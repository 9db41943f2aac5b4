"""Saved models: from raw inputs to the answers predictions.csv recorded, and nothing silently different."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from perceptron_lab import UserError, load_config, load_model, run_experiment
from perceptron_lab.experiment.specs import load_data
from perceptron_lab.model import Model, TargetCoding
from perceptron_lab.nn import Dense, Network

SHORT = ["epochs=3", "eval_every=1", "record.epochs=null", "output.plots=false"]
OFFLINE_DATASETS = {"gates", "digits5x7", "iris", "digits", "ej2_regression"}
"""Datasets that ship with the package or with scikit-learn: no download."""
SMALLER = {"runs=1", "kfolds=2", "noise.copies=2"}
"""Applied where the config has the key set above 1, to keep each run short."""


def _offline_configs() -> list[str]:
    """Every shipped config in configs/ whose data is offline."""
    names = []
    for path in sorted(Path("configs").glob("*.yaml")):
        config = load_config(path)
        datasets = [config.dataset, config.test_dataset]
        if all(d is None or d.name in OFFLINE_DATASETS for d in datasets):
            names.append(path.name)
    return names


def _short_run(name: str, tmp_path) -> tuple:
    config = load_config(f"configs/{name}", SHORT)
    smaller = [o for o in SMALLER if (getattr(config, o.split("=")[0], None) or 0) > 1]
    if config.noise.copies > 2:
        smaller.append("noise.copies=2")
    config = load_config(f"configs/{name}", [*SHORT, *smaller])
    return config, run_experiment(config, out_root=tmp_path)


def test_every_offline_config_is_covered():
    names = _offline_configs()
    for name in (
        "ej1_and_step.yaml",
        "ej3_digits.yaml",
        "iris.yaml",
        "optdigits.yaml",
        "ej2_linear_vs_nonlinear.yaml",
    ):
        assert name in names
    assert not any(name.startswith(("mnist", "cifar", "fashion")) for name in names)


@pytest.mark.parametrize("name", _offline_configs())
def test_models_on_raw_inputs_reproduce_predictions_csv(name, tmp_path):
    config, run_dir = _short_run(name, tmp_path)
    predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"target": object, "predicted": object})
    dataset, test_dataset = load_data(config)
    noisy_training = config.noise.alpha and config.noise.apply_to in ("train", "both")
    checked = 0
    for (run, fold, split), rows in predictions.groupby(["run", "fold", "split"]):
        if split == "train" and noisy_training:
            continue  # the network saw noisy copies of these rows, not the rows themselves
        model = load_model(run_dir / "models" / f"run{run}_fold{fold}")
        source = test_dataset if split == "test" and test_dataset is not None else dataset
        X_raw = source.X[rows["index"].to_numpy()]
        if model.task == "classification":
            columns = [f"score_{c}" for c in model.classes]
            expected = rows[columns].to_numpy()
            np.testing.assert_array_equal(model.predict_labels(X_raw), rows["predicted"].astype(str))
            got = model.predict_proba(X_raw)
        elif "mse" in rows:  # a reconstruction: each row's error against its clean inputs
            expected = rows[["mse"]].to_numpy()
            clean = X_raw.astype(config.dtype)
            got = np.mean((model.predict(X_raw) - clean) ** 2, axis=1, keepdims=True)
        else:
            expected = rows[[c for c in rows if c.startswith("output_")]].to_numpy()
            got = model.predict(X_raw)
        # predictions.csv holds the float32 outputs written in full: the same float32 numbers.
        np.testing.assert_array_equal(got.astype(np.float32), expected.astype(np.float32))
        checked += len(rows)
    assert checked > 0


def test_the_regression_model_undoes_the_target_scaling(tmp_path):
    config = load_config("configs/ej2_linear_vs_nonlinear.yaml", [*SHORT, "runs=1", "kfolds=2"])
    run_dir = run_experiment(config, out_root=tmp_path)
    model = load_model(run_dir / "models" / "run0_fold0")
    assert isinstance(model.target_scaler, MinMaxScaler) and isinstance(model.input_scaler, MinMaxScaler)
    dataset, _ = load_data(config)
    scaled = model.outputs(dataset.X)
    # minmax targets to [-1, 1]: original = (scaled - min_) / scale_, by hand
    by_hand = (scaled - model.target_scaler.min_) / model.target_scaler.scale_
    np.testing.assert_allclose(model.predict(dataset.X), by_hand, rtol=1e-6)
    assert model.target_names == ["y"] and model.feature_names == ["x1", "x2", "x3"]


def _small_classifier(tmp_path, units=3, coding=None):
    network = Network([Dense(units, "softmax")], input_dim=2, seed=3, dtype="float64")
    scaler = StandardScaler().fit(np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]]))
    model = Model(
        network=network,
        task="classification",
        n_features=2,
        classes=["a", "b", "c"][:units] if units > 1 else ["no", "yes"],
        coding=coding or TargetCoding(units, units, 0.0, 1.0),
        input_scaler=scaler,
        feature_names=["u", "v"],
        input_dtype="float64",
    )
    return model, model.save(tmp_path / "m")


def test_a_saved_model_round_trips_and_applies_its_scaler(tmp_path):
    model, directory = _small_classifier(tmp_path)
    loaded = load_model(directory)
    X = np.array([[1.0, 15.0], [3.0, 25.0], [-2.0, 40.0]])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # The scaler is in play: the network sees (X - mean) / std of the fitted rows.
    scaled = (X - [2.0, 20.0]) / np.sqrt([8 / 3, 200 / 3])
    np.testing.assert_allclose(loaded.predict_proba(X), model.network.predict(scaled)[0], rtol=1e-12)
    assert list(loaded.predict_labels(X)) == list(np.array(["a", "b", "c"])[model.predict_proba(X).argmax(1)])
    assert loaded.feature_names == ["u", "v"] and loaded.classes == ["a", "b", "c"]


def test_one_unit_scores_map_its_range_to_probabilities(tmp_path):
    network = Network([Dense(1, "tanh")], input_dim=2, seed=0)
    coding = TargetCoding(2, 1, -1.0, 1.0)
    model = Model(network, "classification", 2, classes=["no", "yes"], coding=coding)
    X = np.array([[0.5, -1.0], [2.0, 1.0]], dtype=np.float32)
    out = network.predict(X)[0][:, 0]
    np.testing.assert_allclose(model.predict_proba(X), np.column_stack([(1 - out) / 2, (1 + out) / 2]))
    assert list(model.predict_labels(X)) == [("yes" if o > 0 else "no") for o in out]


def test_a_network_saved_by_an_older_version_is_refused(tmp_path):
    network = Network([Dense(3, "softmax")], input_dim=2, seed=0)
    network.save(tmp_path / "run0_fold0")  # the old layout: models/run0_fold0.json + .npz
    with pytest.raises(UserError, match="older perceptron_lab"):
        load_model(tmp_path / "run0_fold0")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "preprocessing.npz").unlink(), "missing preprocessing.npz"),
        (lambda d: (d / "model.json").unlink(), "not a saved model"),
        (lambda d: (d / "network.npz").unlink(), "no such model file"),
        (lambda d: _edit(d, format_version=99), "format version 99"),
        (lambda d: _edit(d, format="something"), "not a saved model"),
        (lambda d: _edit(d, inputs=None), "incomplete model description"),
        (lambda d: (d / "model.json").write_text("{"), "not valid JSON"),
        (lambda d: np.savez(d / "preprocessing.npz", **{"inputs.mean_": np.zeros(3)}), "inputs scaler"),
    ],
)
def test_a_model_with_missing_or_unknown_parts_is_one_clear_error(tmp_path, damage, message):
    _, directory = _small_classifier(tmp_path)
    damage(directory)
    with pytest.raises(UserError, match=message) as error:
        load_model(directory)
    assert "\n" not in str(error.value)


def _edit(directory, **changes):
    path = directory / "model.json"
    description = json.loads(path.read_text())
    description.update(changes)
    path.write_text(json.dumps(description))


def test_wrong_inputs_and_classes_of_a_regressor_are_user_errors(tmp_path):
    model, directory = _small_classifier(tmp_path)
    with pytest.raises(UserError, match=r"expected \(n, 2\)"):
        model.predict(np.zeros((4, 3)))
    with pytest.raises(UserError, match="not numeric"):
        model.predict(np.array([["1", "x"]]))
    with pytest.raises(UserError, match="row 1, 'v': nan is not a finite number"):
        model.predict_proba(np.array([[1.0, 2.0], [3.0, np.nan]]))
    assert model.predict_proba(np.zeros((0, 2))).shape == (0, 3)
    regressor = Model(Network([Dense(1)], input_dim=2, seed=0), "regression", 2)
    with pytest.raises(UserError, match="regressor"):
        regressor.predict_labels(np.zeros((1, 2)))


def test_a_copied_model_directory_predicts_the_same(tmp_path):
    model, directory = _small_classifier(tmp_path)
    copy = shutil.copytree(directory, tmp_path / "elsewhere" / "model")
    X = np.random.default_rng(0).normal(size=(20, 2))
    np.testing.assert_array_equal(load_model(copy).predict_proba(X), model.predict_proba(X))


def test_dill_pickles_the_whole_model_and_stays_optional(tmp_path, monkeypatch):
    dill = pytest.importorskip("dill")
    model, _ = _small_classifier(tmp_path)
    directory = model.save(tmp_path / "with_dill", dill=True)
    with open(directory / "model.dill", "rb") as handle:
        restored = dill.load(handle)
    X = np.array([[1.0, 2.0], [3.0, 40.0]])
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    monkeypatch.setitem(sys.modules, "dill", None)  # as if not installed
    with pytest.raises(UserError, match="needs the optional 'dill' extra"):
        model.save(tmp_path / "no_dill", dill=True)


def test_a_conv_batchnorm_model_keeps_its_state_and_image_shape(tmp_path):
    from perceptron_lab.data.transforms import make_scaler
    from perceptron_lab.nn import BatchNorm, Conv2D, Flatten

    rng = np.random.default_rng(0)
    X = rng.random((40, 6 * 6 * 2), dtype=np.float32)  # flat rows of 6x6 images, 2 channels
    scaler = make_scaler("mean_image").fit(X)
    layers = [Conv2D(3, 3, activation="relu"), BatchNorm(), Flatten(), Dense(2, "softmax")]
    network = Network(layers, input_shape=(6, 6, 2), seed=0)
    # BatchNorm's moving statistics as training leaves them: not the initial 0 and 1.
    network.set_state([rng.normal(size=s.shape).astype(np.float32) ** 2 for s in network.get_state()])
    coding = TargetCoding(2, 2, 0.0, 1.0)
    model = Model(
        network, "classification", X.shape[1], ["even", "odd"], coding, scaler, image_shape=[6, 6, 2]
    )
    loaded = load_model(model.save(tmp_path / "conv"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for saved, kept in zip(loaded.network.get_state(), network.get_state()):
        np.testing.assert_array_equal(saved, kept)
    assert loaded.image_shape == [6, 6, 2]
    np.testing.assert_allclose(loaded.predict_proba(X), network.predict(X - scaler.mean_)[0], rtol=1e-6)
