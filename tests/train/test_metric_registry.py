"""The metrics registry: every computed metric has an entry whose direction and bounds are true."""

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score

from perceptron_lab.config import build_config
from perceptron_lab.errors import ConfigError
from perceptron_lab.experiment.specs import task_metrics
from perceptron_lab.train.metric_registry import METRICS, get_metric, metric_bounds, metrics_for
from perceptron_lab.train.metrics import classification_metrics, confusion_matrices, regression_metrics

BASE = {"dataset": "iris", "architecture": [4, 5, 3]}


def test_every_metric_the_code_computes_has_an_entry_for_its_task():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=(2, 20))
    cm = confusion_matrices(y, rng.integers(0, 3, size=(2, 20)), np.ones((2, 20), bool), 3)
    assert set(classification_metrics(cm)) <= set(metrics_for("classification"))
    Y = rng.normal(size=(2, 20, 1))
    assert set(regression_metrics(Y, Y + 0.1, np.ones((2, 20), bool))) - {"sse"} <= set(
        metrics_for("regression")
    )
    assert "loss" in metrics_for("classification") and "loss" in metrics_for("regression")


def test_bounds_hold_and_direction_points_to_the_perfect_prediction():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, size=200)
    noisy = np.where(rng.random(200) < 0.5, truth, rng.integers(0, 3, size=200))
    for name, score in (("accuracy", accuracy_score), ("f1", lambda a, b: f1_score(a, b, average="macro"))):
        entry = get_metric(name)
        perfect, worse = score(truth, truth), score(truth, noisy)
        assert entry.bounds[0] <= worse <= perfect <= entry.bounds[1]
        assert entry.direction == "max" and perfect == entry.bounds[1]
    y = rng.normal(size=200)
    bad = y + rng.normal(scale=5.0, size=200)
    assert r2_score(y, bad) < 0 and get_metric("r2").bounds == (-math.inf, 1.0)
    assert get_metric("r2").direction == "max" and r2_score(y, y) == get_metric("r2").bounds[1]
    assert get_metric("mse").direction == "min" and mean_squared_error(y, y) == get_metric("mse").bounds[0]
    assert get_metric("loss").bounds == (0.0, math.inf)


def test_original_units_variants_share_the_entry_and_unknown_names_are_unbounded():
    assert (
        get_metric("mse_orig").direction == "min" and get_metric("mse_orig").label == "MSE (original units)"
    )
    assert get_metric("r2_orig").bounds == get_metric("r2").bounds
    assert metric_bounds("no_such_metric") == (-math.inf, math.inf)
    with pytest.raises(KeyError):
        get_metric("no_such_metric")
    assert get_metric("loss").task == "any" and get_metric("r2").task == "regression"


def test_clip_keeps_a_std_band_inside_the_bounds():
    assert get_metric("accuracy").clip(np.array([-0.1, 0.5, 1.2])).tolist() == [0.0, 0.5, 1.0]
    assert get_metric("loss").clip(np.array([-3.0, 7.0])).tolist() == [0.0, 7.0]


def test_early_stopping_mode_defaults_to_the_monitored_metrics_direction():
    on_accuracy = build_config({**BASE, "early_stopping": {"monitor": "validation.accuracy"}})
    on_loss = build_config({**BASE, "early_stopping": {}})
    explicit = build_config({**BASE, "early_stopping": {"monitor": "validation.accuracy", "mode": "min"}})
    assert on_accuracy.early_stopping.mode == "max"
    assert on_loss.early_stopping.mode == "min"
    assert explicit.early_stopping.mode == "min"


def test_unknown_metric_names_are_config_errors_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"metrics.*unknown metric 'acuracy' \(did you mean 'accuracy'"):
        build_config({**BASE, "metrics": ["acuracy"]})
    with pytest.raises(ConfigError, match=r"early_stopping.monitor.*did you mean 'accuracy'"):
        build_config({**BASE, "early_stopping": {"monitor": "validation.accurcy"}})


def test_task_metrics_come_from_the_registry():
    cfg = build_config(BASE)
    assert task_metrics(cfg, "regression") == list(metrics_for("regression"))
    with pytest.raises(ConfigError, match="'r2' is not a classification metric"):
        task_metrics(build_config({**BASE, "metrics": ["r2"]}), "classification")
    assert set(METRICS) == set(metrics_for("classification")) | set(metrics_for("regression"))


def test_the_library_early_stopping_rule_takes_its_mode_from_the_registry():
    from perceptron_lab.train import EarlyStopping

    assert EarlyStopping("validation.accuracy").mode == "max"
    assert EarlyStopping("train.r2_orig").mode == "max"
    assert EarlyStopping("validation.loss").mode == "min"
    assert EarlyStopping("validation.accuracy", mode="min").mode == "min"
