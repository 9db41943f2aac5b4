"""The reconstruction task: clean inputs as targets, noisy training copies, MSE per epoch,
the reconstruction figures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perceptron_lab.config import build_config, load_config
from perceptron_lab.data import load_dataset
from perceptron_lab.errors import ConfigError
from perceptron_lab.experiment import run_experiment
from perceptron_lab.experiment.preparation import SplitBuilder
from perceptron_lab.experiment.specs import target_coding
from perceptron_lab.experiment.splits import make_splits

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
    for split in ("train", "test", "test_noise_3"):
        mse = epochs[epochs["split"] == split].groupby("epoch")["mse"].mean()
        assert mse.iloc[-1] < 0.8 * mse.iloc[0], split

    # predictions.csv: one reconstruction error per test sample, averaging to the epoch metric.
    predictions = pd.read_csv(run_dir / "predictions.csv")
    summary = pd.read_csv(run_dir / "summary.csv")
    final = summary[(summary["kind"] == "final") & (summary["split"] == "test") & (summary["run"] == "0")]
    mine = predictions[(predictions["run"] == 0) & (predictions["split"] == "test")]
    assert mine["mse"].mean() == pytest.approx(final["mse_orig"].iloc[0], rel=1e-4)

    with np.load(run_dir / "reconstructions.npz") as arrays:
        assert list(arrays["splits"]) == ["test", "test_noise_3"]
        assert arrays["noisy"].shape == arrays["clean"].shape == arrays["reconstructed"].shape == (2, 8, 64)
        np.testing.assert_allclose(arrays["noisy"][0], arrays["clean"][0], atol=1e-4)  # clean test rows
        assert not np.allclose(arrays["noisy"][1], arrays["clean"][1])
        np.testing.assert_array_equal(arrays["clean"][0], arrays["clean"][1])  # same samples
        assert arrays["codes"].shape[1] == 2 and len(arrays["codes"]) == len(arrays["code_labels"])
    assert (run_dir / "plots" / "reconstructions.png").stat().st_size > 0
    assert (run_dir / "plots" / "codes.png").stat().st_size > 0
