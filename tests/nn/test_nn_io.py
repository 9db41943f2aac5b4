"""save_network / load_network with every layer kind, BatchNorm state and malformed files."""

import json
import pickle

import numpy as np
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.nn import (
    AveragePooling2D,
    BatchNorm,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    load_network,
    save_network,
)
from perceptron_lab.train import EarlyStopping, Trainer


def _network():
    layers = [
        Conv2D(4, 3, padding="same", activation="relu", l2=0.01),
        MaxPool2D(2),
        BatchNorm(momentum=0.8),
        AveragePooling2D(2, 1, "same"),
        Flatten(name="flat"),
        Dropout(0.1),
        Dense(5, "tanh", name="hidden"),
        Concatenate(inputs=["flat", "hidden"]),
        Dense(3, "softmax"),
    ]
    return Network(layers, input_shape=(6, 6, 1), replicas=2, seed=3, dtype="float64")


def _trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6, 6, 1))
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    net = _network()
    Trainer(loss="categorical_crossentropy", optimizer="adam", epochs=2, batch_size=8).fit(net, X, Y)
    return net, X


def test_round_trip_with_batchnorm_state(tmp_path):
    net, X = _trained()
    assert not np.allclose(net.get_state()[1], 1.0)  # the moving variance moved
    expected = net.predict(X)
    save_network(net, tmp_path / "model")
    with np.load(tmp_path / "model.npz") as npz:
        assert {"kernel_0", "bias_0", "gamma_0", "beta_0", "moving_mean_0", "moving_variance_0"} <= set(
            npz.files
        )
    loaded = load_network(tmp_path / "model.json")
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert loaded.get_config() == net.get_config()
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.predict(X), expected)
    picked = net.select([1])
    np.testing.assert_array_equal(picked.predict(X)[0], expected[1])


def test_early_stopping_restores_batchnorm_state():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    Y = rng.normal(size=(40, 1))
    best = {}

    def remember(epoch, logs, active):
        best.setdefault("values", []).append((logs["validation"]["loss"][0], net.get_state()[0].copy()))

    net = Network([Dense(8, "tanh"), BatchNorm(momentum=0.5), Dense(1)], input_dim=3, seed=0, dtype="float64")
    trainer = Trainer(
        loss="mse",
        optimizer={"name": "sgd", "learning_rate": 0.2},  # large: the validation loss wanders
        epochs=60,
        batch_size=4,
        early_stopping=EarlyStopping("validation.loss", patience=2),
        callback=remember,
    )
    history = trainer.fit(net, X[:30], Y[:30], eval_sets={"validation": (X[30:], Y[30:], None)})
    assert history.status[0] == "early_stopped" and history.best_epoch[0] > 0
    values = best["values"]
    best_index = int(np.argmin([v for v, _ in values]))
    np.testing.assert_array_equal(net.get_state()[0], values[best_index][1])


def _saved(tmp_path):
    net = _network()
    save_network(net, tmp_path / "model")
    return json.loads((tmp_path / "model.json").read_text()), dict(np.load(tmp_path / "model.npz"))


def _write(tmp_path, description, arrays, **savez):
    (tmp_path / "model.json").write_text(json.dumps(description))
    np.savez(tmp_path / "model.npz", **arrays, **savez)


def test_declared_sizes_are_checked_before_allocation(tmp_path):
    description, arrays = _saved(tmp_path)
    description["config"]["layers"][-1]["units"] = 10**10
    _write(tmp_path, description, arrays)
    with pytest.raises(
        UserError,
        match=r"model.npz: array 'kernel_2' has shape \(2, 41, 3\), the .json declares \(2, 41, 10000000000\)",
    ):
        load_network(tmp_path / "model")


def test_malformed_files_get_one_line(tmp_path):
    description, arrays = _saved(tmp_path)
    missing = dict(arrays)
    del missing["moving_variance_0"]
    _write(tmp_path, description, missing)
    with pytest.raises(UserError, match="missing array 'moving_variance_0'"):
        load_network(tmp_path / "model")
    objects = dict(arrays)
    objects["gamma_0"] = np.array([{"a": 1}] * 8, dtype=object).reshape(2, 4)
    _write(tmp_path, description, objects)
    with pytest.raises(UserError, match="cannot read the arrays"):
        load_network(tmp_path / "model")
    ints = dict(arrays)
    ints["beta_0"] = np.zeros((2, 4), dtype=np.int64)
    _write(tmp_path, description, ints)
    with pytest.raises(UserError, match="'beta_0' has dtype int64"):
        load_network(tmp_path / "model")
    bad = json.loads(json.dumps(description))
    bad["config"]["layers"][0].update(kernel_size=[30, 30], padding="valid")
    _write(tmp_path, bad, arrays)
    with pytest.raises(UserError, match="kernel 30x30 is larger than its input 6x6x1"):
        load_network(tmp_path / "model")
    bad["config"]["layers"][0] = {"class": "Conv3D"}
    _write(tmp_path, bad, arrays)
    with pytest.raises(UserError, match="unknown layer class 'Conv3D'"):
        load_network(tmp_path / "model")
    (tmp_path / "model.npz").write_bytes(b"not a zip")
    (tmp_path / "model.json").write_text(json.dumps(description))
    with pytest.raises(UserError, match="cannot read the arrays"):
        load_network(tmp_path / "model")
