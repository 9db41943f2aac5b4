"""A loss that is NaN from the first evaluation is recorded as diverged, not a crash."""

import numpy as np
import pytest

from perceptron_lab.config import build_config
from perceptron_lab.experiment import load_results, run_experiment

HUGE_WEIGHTS = {
    "name": "nan0",
    "dataset": "iris",
    "architecture": [4, 5, 3],
    "activation": "tanh",
    "output_activation": "softmax",
    "initializer": {"name": "constant", "value": 1.0e39},
    "epochs": 5,
    "runs": 2,
    "output": {"plots": False},
}


@pytest.mark.parametrize(
    "extra",
    [{}, {"validation_split": 0.2, "early_stopping": {"patience": 2}}, {"kfolds": 3}],
    ids=["plain", "early_stopping", "kfolds"],
)
@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_nan_from_epoch_0_is_diverged(tmp_path, extra):
    results = load_results(run_experiment(build_config({**HUGE_WEIGHTS, **extra}), out_root=tmp_path))
    replicas = results.manifest["replicas"]
    assert {r["status"] for r in replicas} == {"diverged"}
    assert all(r["stopped_epoch"] == 0 == r["kept_epoch"] for r in replicas)
    train = results.epochs[results.epochs["split"] == "train"]
    assert len(train) == len(replicas) and train["loss"].isna().all()  # epoch 0 of every replica kept
    final = results.summary[(results.summary["kind"] == "final") & (results.summary["split"] == "train")]
    assert len(final) == len(replicas) + 2 and np.isnan(final["loss"].astype(float)).all()
