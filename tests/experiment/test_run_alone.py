"""Run r of a stacked experiment is reproduced alone by `seed: seed + r, runs: 1`, noisy copies included."""

import pandas as pd
import pytest

from perceptron_lab.config import build_config
from perceptron_lab.experiment import execute_experiment

DIGITS = {
    "name": "digits_noise",
    "dataset": {"name": "digits5x7", "target": "digit"},
    "architecture": [35, 10, 10],
    "activation": "sigmoid",
    "learning_rate": 0.5,
    "epochs": 30,
    "batch_size": 1,
    "runs": 3,
    "test_dataset": {"name": "digits5x7", "target": "digit"},
    "noise": {"alpha": [0.3, 0.5], "copies": 20},
    "dtype": "float64",
    "output": {"plots": False},
}


@pytest.mark.parametrize("apply_to", ["test", "both"])
def test_each_run_alone_gives_the_stacked_numbers(apply_to):
    config = {**DIGITS, "noise": {**DIGITS["noise"], "apply_to": apply_to}}
    if apply_to == "both":
        config["noise"]["alpha"] = [0.3]
    stacked = execute_experiment(build_config(config)).epochs
    splits = set(stacked["split"])
    assert {"test_noise_0.3"} <= splits
    for run in range(config["runs"]):
        alone = execute_experiment(build_config({**config, "seed": run, "runs": 1})).epochs
        mine = stacked[stacked["run"] == run].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(alone.drop(columns="run"), mine, check_exact=False, rtol=1e-12)
