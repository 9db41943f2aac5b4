"""The logged `loss` is a per-sample mean for every loss, sse included (as Keras logs it)."""

import numpy as np

from perceptron_lab.nn import Dense, Network
from perceptron_lab.train import Trainer


def test_sse_loss_is_logged_per_sample_on_splits_of_any_size():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    big_X = np.repeat(X, 100, axis=0)  # the same rows 100 times: the same per-sample loss
    big_Y = np.repeat(Y, 100, axis=0)
    net = Network([Dense(2, "identity")], input_dim=3, replicas=2, seed=1, dtype="float64")
    history = Trainer(loss="sse", epochs=3, batch_size=5).fit(
        net, X, Y, eval_sets={"small": (X, Y, None), "big": (big_X, big_Y, None)}
    )
    for split in ("train", "small", "big"):
        np.testing.assert_allclose(history.logs[split]["loss"][-1], history.logs["small"]["loss"][-1])
    outputs = net.predict(X)  # (R, 10, 2)
    by_hand = 0.5 * ((outputs - Y) ** 2).sum(axis=2).mean(axis=1)
    np.testing.assert_allclose(history.logs["train"]["loss"][-1], by_hand, rtol=1e-10)


def test_masked_rows_count_only_the_replicas_own_rows():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    index = [np.arange(4), np.arange(12)]
    net = Network([Dense(1, "identity")], input_dim=3, replicas=2, seed=2, dtype="float64")
    history = Trainer(loss="sse", epochs=1, batch_size=4).fit(net, X, Y, eval_sets={"v": (X, Y, index)})
    outputs = net.predict(X)
    for r, rows in enumerate(index):
        by_hand = 0.5 * ((outputs[r, rows] - Y[rows]) ** 2).sum(axis=1).mean()
        np.testing.assert_allclose(history.logs["v"]["loss"][-1, r], by_hand, rtol=1e-10)
