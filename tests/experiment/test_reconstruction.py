"""The reconstruction task: clean inputs as targets, noisy training copies, MSE per epoch,
the reconstruction figures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perceptron_lab import load_model
from perceptron_lab.config import build_config, load_config
from perceptron_lab.data import load_dataset
from perceptron_lab.errors import ConfigError
from perceptron_lab.experiment import run_experiment
from perceptron_lab.experiment.preparation import SplitBuilder
from perceptron_lab.experiment.specs import target_coding
from perceptron_lab.experiment.splits import make_splits
from perceptron_lab.report import build_report

CONFIG = Path(__file__).parents[2] / "configs" / "digits_denoise.yaml"


def _digits_config(**overrides):
    raw = {
        "dataset": "digits",
        "task": "reconstruction",
        "architecture": [64, 8, 64],
        "preprocessing": {"inputs": "minmax01"},
        "noise": {"alpha": 3.0, "copies": 2, "apply_to": "both"},
        "runs": 2,
        **overrides,
    }
    return build_config(raw)


def test_targets_are_the_clean_inputs_scaled_like_the_inputs():
    config = _digits_config()
    data = load_dataset("digits")
    replicas = make_splits(
        data.y, classification=True, runs=2, kfolds=1, seed=0, test_size=0.25, validation_split=0.0
    )
    splits, prep = SplitBuilder(config, data, None, None).build(replicas)
    assert prep.targets is prep.inputs
    train = splits["train"]
    for r, rows in enumerate(train.index):
        clean = data.X[train.source[rows]]
        np.testing.assert_allclose(train.Y[rows], prep.inputs[r].transform(clean), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(train.truth[rows], clean)
        # The inputs are the noisy copies: noise of std 3 in pixel units.
        noise = prep.inputs[r].inverse_transform(train.X[rows]) - clean
        assert 2.9 < noise.std() < 3.1
    noisy = splits["test_noise_3"]
    np.testing.assert_array_equal(noisy.truth, data.X[noisy.source])


def test_train_alpha_trains_on_one_level_and_tests_on_several():
    config = _digits_config(noise={"train_alpha": 3.0, "alpha": [1.0, 5.0], "copies": 2})
    data = load_dataset("digits")
    replicas = make_splits(
        data.y, classification=True, runs=1, kfolds=1, seed=0, test_size=0.25, validation_split=0.0
    )
    splits, prep = SplitBuilder(config, data, None, None).build(replicas)
    assert set(splits) == {"train", "test", "test_noise_1", "test_noise_5"}
    train = splits["train"]
    rows = train.index[0]
    noise = prep.inputs[0].inverse_transform(train.X[rows]) - data.X[train.source[rows]]
    assert 2.9 < noise.std() < 3.1 and len(rows) == 2 * len(replicas[0].train)
    with pytest.raises(ConfigError, match="train_alpha"):
        _digits_config(noise={"train_alpha": 3.0, "alpha": 1.0, "apply_to": "both"})


def test_output_size_must_match_the_inputs():
    config = _digits_config(architecture=[64, 8, 10])
    with pytest.raises(ConfigError, match="output size 10 does not match the 64 inputs"):
        target_coding(config, load_dataset("digits"))


def test_target_preprocessing_is_refused():
    config = _digits_config(preprocessing={"inputs": "minmax01", "targets": "standard"})
    with pytest.raises(ConfigError, match="preprocessing.targets"):
        target_coding(config, load_dataset("digits"))


def test_denoising_autoencoder_end_to_end(tmp_path):
    config = load_config(
        CONFIG,
        [
            "epochs=15",
            "runs=2",
            "architecture=[64,32,2,32,64]",
            "layers=[{}, {activation: identity}, {}, {}]",
        ],
    )
    run_dir = run_experiment(config, out_root=tmp_path)
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert {"loss", "mse", "mse_orig"} <= set(epochs.columns)
    for split in ("train", "test", "test_noise_1.5", "test_noise_3", "test_noise_6"):
        mse = epochs[epochs["split"] == split].groupby("epoch")["mse"].mean()
        assert mse.iloc[-1] < 0.8 * mse.iloc[0], split

    # predictions.csv: one reconstruction error per test sample, averaging to the epoch metric.
    predictions = pd.read_csv(run_dir / "predictions.csv")
    summary = pd.read_csv(run_dir / "summary.csv")
    final = summary[(summary["kind"] == "final") & (summary["split"] == "test") & (summary["run"] == "0")]
    mine = predictions[(predictions["run"] == 0) & (predictions["split"] == "test")]
    assert mine["mse"].mean() == pytest.approx(final["mse_orig"].iloc[0], rel=1e-4)
    # The saved model rebuilds raw images in pixel units: the same per-sample errors.
    clean = load_dataset("digits").X[mine["index"].to_numpy()]
    rebuilt = load_model(run_dir / "models" / "run0_fold0").predict(clean)
    np.testing.assert_allclose(((rebuilt - clean) ** 2).mean(axis=1), mine["mse"], rtol=1e-4)

    with np.load(run_dir / "reconstructions.npz") as arrays:
        assert list(arrays["splits"]) == ["test", "test_noise_1.5", "test_noise_3", "test_noise_6"]
        assert arrays["noisy"].shape == arrays["clean"].shape == arrays["reconstructed"].shape == (4, 8, 64)
        np.testing.assert_allclose(arrays["noisy"][0], arrays["clean"][0], atol=1e-4)  # clean test rows
        assert not np.allclose(arrays["noisy"][1], arrays["clean"][1])
        np.testing.assert_array_equal(arrays["clean"][0], arrays["clean"][3])  # same samples
        # More noise, further from the clean images.
        distance = ((arrays["noisy"] - arrays["clean"]) ** 2).mean(axis=(1, 2))
        assert distance[1] < distance[2] < distance[3]
        assert arrays["codes"].shape[1] == 2 and len(arrays["codes"]) == len(arrays["code_labels"])
    assert (run_dir / "plots" / "reconstructions.png").stat().st_size > 0
    assert (run_dir / "plots" / "codes.png").stat().st_size > 0
    build_report([run_dir], out_dir=tmp_path / "report")
    assert {"reconstructions.png", "codes.png"} <= {p.name for p in (tmp_path / "report").iterdir()}


def test_conv_autoencoder_from_a_layer_list(tmp_path):
    config = _digits_config(
        architecture=[
            {"conv2d": {"filters": 4, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool2d": 2},
            "flatten",
            {"dense": {"units": 2, "name": "code"}},
            {"dense": {"units": 64, "activation": "sigmoid"}},
        ],
        epochs=3,
        batch_size=32,
        optimizer={"name": "adam", "learning_rate": 0.003},
        output={"plots": False},
    )
    run_dir = run_experiment(config, out_root=tmp_path)
    with np.load(run_dir / "reconstructions.npz") as arrays:
        assert arrays["codes"].shape[1] == 2
        assert list(arrays["image_shape"]) == [8, 8]


def test_the_encoder_keeps_trained_parameters_and_batchnorm_state():
    from perceptron_lab.experiment.reconstruction import encoder
    from perceptron_lab.nn import BatchNorm, Dense, Network
    from perceptron_lab.train import Trainer

    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(64, 6))
    layers = [Dense(5, "tanh"), BatchNorm(momentum=0.5), Dense(2), Dense(6)]
    network = Network(layers, input_dim=6, replicas=2, seed=0, dtype="float64")
    Trainer(loss="mse", optimizer={"name": "adam", "learning_rate": 0.01}, epochs=3, batch_size=16).fit(
        network, X, X
    )
    fresh = Network(layers, input_dim=6, replicas=2, seed=0, dtype="float64")
    assert not np.allclose(network.parameters.state, fresh.parameters.state)  # the running statistics moved
    whole = encoder(network, len(layers) - 1)
    np.testing.assert_array_equal(whole.predict(X), network.predict(X))
    codes = encoder(network, 2).predict(X)
    assert codes.shape == (2, 64, 2)
