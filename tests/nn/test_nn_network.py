import json
import pickle

import numpy as np
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.nn import Dense, Dropout, Network, get_loss, kernels, load_network
from perceptron_lab.nn.backprop import BatchPass
from perceptron_lab.nn.network import stream
from perceptron_lab.train import Trainer


def _flat_check(network, objective, grads, numgrad, relerr):
    """Central differences of objective() over every weight, compared with grads."""
    weights = network.get_weights()
    for i, analytic in enumerate(grads):

        def f():
            network.set_weights(weights)
            return objective()

        numeric = numgrad(f, weights[i])
        network.set_weights(weights)
        assert relerr(analytic, numeric) < 1e-6, f"weight {i}"


# -- the hand-computed example -------------------------------------------------------------

W = np.array([[-4.0, -0.2, 2.0], [-1.0, -0.5, -0.3]])
x = np.array([1.0, -3.1, 1.5])
HAND_DW = np.array([[0.196, -0.608, 0.294], [0.261, -0.809, 0.392]])


def test_hand_computed_sigmoid_example():
    """Loss = z1^2 + z2^2 with z = sigmoid(W x), no bias: the course's worked example.

    loss = 2 * sse against target 0, so dLoss/dW = 2 * dSSE/dkernel^T (kernel = W^T).
    """
    net = Network([Dense(2, "sigmoid", use_bias=False)], input_dim=3, dtype="float64", seed=0)
    net.set_weights([W.T, np.zeros((1, 2))])
    value, grads, dx = net.value_and_gradients(x[None], np.zeros((1, 2)), "sse", input_gradient=True)
    z = 1 / (1 + np.exp(-W @ x))
    np.testing.assert_allclose(2 * value, [np.sum(z**2)])
    dW = 2 * grads[0][0].T
    delta = 2 * z * z * (1 - z)  # dLoss/d(Wx), closed form
    np.testing.assert_allclose(dW, np.outer(delta, x), rtol=1e-12)
    # The course rounds delta to 3 decimals (0.196, 0.261) before multiplying by x:
    np.testing.assert_allclose(dW[:, 0], [0.196, 0.261], atol=1e-3)  # x_0 = 1, so this column is delta
    np.testing.assert_allclose(dW, HAND_DW, atol=1e-3 * np.abs(x).max())
    # dLoss/dx = W^T dLoss/dy, y = W x
    np.testing.assert_allclose(2 * dx[0, 0], W.T @ delta, rtol=1e-12)
    np.testing.assert_allclose(2 * dx[0, 0], W.T @ np.array([0.196, 0.261]), atol=2e-3)


# -- gradient checks -----------------------------------------------------------------------


def test_dense_with_l1_l2_gradient(numgrad, relerr):
    net = Network(
        [
            Dense(
                3,
                "tanh",
                kernel_initializer="he_normal",
                bias_initializer={"name": "normal", "std": 0.5},
                l1=0.03,
                l2=0.07,
            )
        ],
        input_dim=4,
        replicas=2,
        seed=5,
        dtype="float64",
    )
    X = np.random.default_rng(0).normal(size=(6, 4))
    Y = np.random.default_rng(1).normal(size=(6, 3))
    value, grads = net.value_and_gradients(X, Y, "mse")
    data_only = get_loss("mse").value(net.predict(X), np.broadcast_to(Y, (2, 6, 3)))
    np.testing.assert_allclose(value - data_only, net.penalty())
    assert (net.penalty() > 0).all()
    _flat_check(net, lambda: net.value_and_gradients(X, Y, "mse")[0].sum(), grads, numgrad, relerr)


@pytest.mark.parametrize(
    "hidden, output, loss",
    [
        ("sigmoid", "softmax", "categorical_crossentropy"),
        ("tanh", "sigmoid", "binary_crossentropy"),
        ({"name": "leaky_relu", "alpha": 0.1}, "identity", "mse"),
        ({"name": "tanh", "beta": 0.6}, "tanh", "sse"),
    ],
    ids=str,
)
def test_two_hidden_layer_network_three_uneven_replicas(hidden, output, loss, numgrad, relerr, kernel_mode):
    rng = np.random.default_rng(2)
    net = Network(
        [Dense(5, hidden, l2=0.01), Dense(4, hidden, l1=0.01), Dense(3, output)],
        input_dim=4,
        replicas=3,
        seed=1,
        dtype="float64",
    )
    X = rng.normal(size=(7, 4))
    Y = np.eye(3)[rng.integers(0, 3, size=7)] if output in ("softmax", "sigmoid") else rng.normal(size=(7, 3))
    weight = np.ones((3, 7))
    weight[1, 4:] = 0  # replica 1 trains on 4 rows, replica 2 on 2
    weight[2, 2:] = 0
    value, grads = net.value_and_gradients(X, Y, loss, weight=weight)
    _flat_check(
        net, lambda: net.value_and_gradients(X, Y, loss, weight=weight)[0].sum(), grads, numgrad, relerr
    )
    # Each replica's loss depends on its own rows only.
    Y2 = Y.copy()
    Y2[5] += 1.0  # a row only replica 0 uses
    changed = net.value_and_gradients(X, Y2, loss, weight=weight)[0]
    assert changed[0] != value[0] and (changed[1:] == value[1:]).all()


def test_gradient_through_dropout(numgrad, relerr, kernel_mode):
    """With the dropout masks held fixed, backprop through them is exact."""
    net = Network(
        [Dropout(0.3), Dense(6, "tanh"), Dropout(0.5), Dense(2, "sigmoid")],
        input_dim=3,
        replicas=2,
        seed=4,
        dtype="float64",
    )
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 5, 3))
    Y = rng.integers(0, 2, size=(2, 5, 2)).astype(float)
    loss = get_loss("binary_crossentropy")
    batch = BatchPass(net, 5, training=True)

    def run(backward=False):
        np.copyto(batch.x, X)
        out = batch.forward([stream((9, r), 2) for r in range(2)])  # same masks every call
        value = loss.value(out, Y).sum()
        if backward:
            net._grads[...] = 0
            batch.backward(Y, 1.0 / 5, loss)
        return value

    run(backward=True)
    masks = [d.mask.copy() for d in batch.ops if hasattr(d, "mask")]
    assert any((m == 0).any() for m in masks) and any(np.isclose(m, 1 / 0.7).any() for m in masks)
    grads = [g.copy() for pair in zip(net._grad_kernels, net._grad_biases) for g in pair]
    _flat_check(net, run, grads, numgrad, relerr)


# -- forward, replicas, seeds --------------------------------------------------------------


def test_forward_matches_plain_numpy(kernel_mode):
    net = Network(
        [Dense(4, "sigmoid", bias_initializer={"name": "normal", "std": 1.0}), Dense(3, "softmax")],
        input_dim=5,
        replicas=3,
        seed=0,
        dtype="float64",
    )
    k0, b0, k1, b1 = net.get_weights()
    X = np.random.default_rng(0).normal(size=(8, 5))
    out = net.predict(X)
    for r in range(3):
        h = 1 / (1 + np.exp(-(X @ k0[r] + b0[r])))
        z = h @ k1[r] + b1[r]
        np.testing.assert_allclose(out[r], np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(net.forward(np.broadcast_to(X, (3, 8, 5))), out)
    np.testing.assert_allclose(net.predict(X, batch_size=3), out)
    assert net.output_dim == 3 and out.shape == (3, 8, 3)


def test_replica_gets_same_weights_alone_or_stacked():
    layers = lambda: [Dense(6, "tanh"), Dense(2, "identity", kernel_initializer="orthogonal")]  # noqa: E731
    stacked = Network(layers(), input_dim=3, replicas=4, seed=11)
    assert stacked.seeds == [(11, r) for r in range(4)]
    for r in range(4):
        alone = Network(layers(), input_dim=3, seeds=[(11, r)])
        for w_stacked, w_alone in zip(stacked.get_weights(), alone.get_weights()):
            np.testing.assert_array_equal(w_stacked[r], w_alone[0])
    a, b = stacked.get_weights()[0][:2]
    assert not np.allclose(a, b)
    explicit = Network(layers(), input_dim=3, seeds=[7, (1, 2, 3)])
    assert explicit.replicas == 2 and explicit.seeds == [7, (1, 2, 3)]


def _sigmoid_layers():
    return [Dense(9, "sigmoid"), Dense(7, {"name": "sigmoid", "beta": 1.5}), Dense(3, "softmax")]


def _fit_sigmoid_network(seeds, X, Y, index, dtype):
    network = Network(_sigmoid_layers(), input_dim=X.shape[1], seeds=seeds, dtype=dtype)
    Trainer(loss="categorical_crossentropy", optimizer={"name": "adam", "learning_rate": 0.02},
            epochs=3, batch_size=8, eval_every=None).fit(network, X, Y, train_index=index)  # fmt: skip
    return network


def _sigmoid_data():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 5))
    Y = np.eye(3)[rng.integers(0, 3, size=40)]
    index = [np.arange(40), np.arange(4, 30), rng.permutation(40)[:19]]  # uneven: replicas sit steps out
    return X, Y, index


def test_stacked_sigmoid_replicas_trained_with_adam_equal_alone(kernel_mode):
    X, Y, index = _sigmoid_data()
    seeds = [(4, r) for r in range(3)]
    stacked = _fit_sigmoid_network(seeds, X, Y, index, "float64")
    ops = stacked.batch_pass(8).ops
    assert (ops[0].fused_sigmoid is not None) == (kernel_mode == "numba")
    for r, seed in enumerate(seeds):
        alone = _fit_sigmoid_network([seed], X, Y, [index[r]], "float64")
        for a, b in zip(stacked.get_weights(), alone.get_weights()):
            np.testing.assert_allclose(a[r], b[0], rtol=1e-10, atol=1e-10)


@pytest.mark.skipif(not kernels.available(), reason="numba not installed")
@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-6), ("float64", 1e-12)])
def test_compiled_kernels_train_to_the_numbers_of_the_numpy_path(dtype, rtol, any_size):
    X, Y, index = _sigmoid_data()
    seeds = [(4, r) for r in range(3)]
    results = {}
    for mode in ("numpy", "numba"):
        with kernels.using(mode):
            network = _fit_sigmoid_network(seeds, X.astype(dtype), Y.astype(dtype), index, dtype)
            results[mode] = [*network.get_weights(), network.predict(X.astype(dtype))]
    for a, b in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_dtypes():
    net = Network([Dense(2, "relu")], input_dim=3)
    assert net.dtype == np.float32 and net.get_weights()[0].dtype == np.float32
    assert net.predict(np.ones((2, 3))).dtype == np.float32
    net64 = Network([Dense(2, "relu")], input_dim=3, seed=0, dtype="float64")
    net32 = Network([Dense(2, "relu")], input_dim=3, seed=0)
    np.testing.assert_allclose(net64.get_weights()[0], net32.get_weights()[0], rtol=1e-7)
    with pytest.raises(ValueError, match="dtype"):
        Network([Dense(2)], input_dim=3, dtype="int32")


def test_weights_round_trip_and_errors():
    net = Network([Dense(3, "tanh"), Dense(2)], input_dim=4, replicas=2, seed=0)
    weights = net.get_weights()
    assert [w.shape for w in weights] == [(2, 4, 3), (2, 1, 3), (2, 3, 2), (2, 1, 2)]
    weights[0][1] += 1.0
    net.set_weights(weights)
    np.testing.assert_array_equal(net.get_weights()[0], weights[0])
    net.set_weights(
        [np.ones((4, 3)), np.zeros(3), np.ones((3, 2)), np.zeros((1, 2))]
    )  # broadcast to replicas
    assert (net.get_weights()[0] == 1).all()
    with pytest.raises(ValueError, match="kernel_1"):
        net.set_weights([np.ones((4, 3)), np.zeros(3), np.ones((2, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected 4"):
        net.set_weights(weights[:2])


def test_select_copies_replicas():
    net = Network([Dense(3, "tanh"), Dense(2)], input_dim=4, replicas=3, seed=2)
    sub = net.select([2, 0])
    assert sub.replicas == 2 and sub.seeds == [(2, 2), (2, 0)]
    for w_sub, w in zip(sub.get_weights(), net.get_weights()):
        np.testing.assert_array_equal(w_sub, w[[2, 0]])
    sub.set_weights([w * 0 for w in sub.get_weights()])
    assert net.get_weights()[0].any()


def test_config_save_load_pickle(tmp_path):
    net = Network(
        [Dropout(0.1), Dense(3, {"name": "tanh", "beta": 0.5}, l2=0.1), Dense(2, "softmax")],
        input_dim=4,
        replicas=2,
        seed=3,
        dtype="float64",
    )
    net.set_weights([w + 0.5 for w in net.get_weights()])
    config = json.loads(json.dumps(net.get_config()))
    fresh = Network.from_config(config)
    np.testing.assert_array_equal(fresh.get_weights()[0], Network.from_config(config).get_weights()[0])
    assert fresh.get_config() == net.get_config()
    X = np.random.default_rng(0).normal(size=(5, 4))
    expected = net.predict(X)
    net.save(tmp_path / "model")
    for path in ("model", "model.json", "model.npz"):
        loaded = load_network(tmp_path / path)
        np.testing.assert_array_equal(loaded.predict(X), expected)
    assert json.loads((tmp_path / "model.json").read_text())["class"] == "Network"
    with np.load(tmp_path / "model.npz") as npz:
        assert sorted(npz.files) == ["bias_0", "bias_1", "kernel_0", "kernel_1"]
    with pytest.raises(UserError, match="nothere.json"):
        load_network(tmp_path / "nothere")
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.predict(X), expected)
    clone.set_weights([w * 0 for w in clone.get_weights()])  # views are live after unpickling
    assert not np.allclose(clone.predict(X), expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="last layer"):
        Network([Dense(2), Dropout(0.5)], input_dim=2)
    with pytest.raises(ValueError, match="2 seeds for 3 replicas"):
        Network([Dense(2)], input_dim=2, replicas=3, seeds=[1, 2])
    with pytest.raises(ValueError, match="inputs must be"):
        Network([Dense(2)], input_dim=2).predict(np.ones((3, 5)))


def test_parallel_inference_chunks_equal_serial(monkeypatch):
    from perceptron_lab.nn import network as network_module
    from perceptron_lab.nn.threads import BlasThreads

    net = Network([Dense(7, "tanh"), Dense(3, "softmax")], input_dim=5, replicas=2, seed=0, dtype="float64")
    X = np.random.default_rng(0).normal(size=(23, 5))
    serial, serial_logits = net.predict(X, return_logits=True)
    monkeypatch.setattr(network_module, "SMALL_PRODUCT", 1)
    monkeypatch.setattr(
        BlasThreads, "__init__", lambda self: setattr(self, "threads", 3) or setattr(self, "_blas", None)
    )
    monkeypatch.setattr(BlasThreads, "limit", lambda self, n: __import__("contextlib").nullcontext())
    parallel, parallel_logits = net.predict(X, batch_size=4, return_logits=True)
    assert {key[2] for key in net._passes if len(key) == 3} == {0, 1, 2}  # three lanes ran
    np.testing.assert_allclose(parallel, serial, rtol=1e-13)
    np.testing.assert_allclose(parallel_logits, serial_logits, rtol=1e-13)


def test_dropout_only_in_training_and_inverted():
    net = Network(
        [Dropout(0.5), Dense(1, "identity", kernel_initializer={"name": "constant", "value": 1.0})],
        input_dim=400,
        replicas=2,
        seed=0,
        dtype="float64",
    )
    X = np.ones((3, 400))
    np.testing.assert_allclose(net.forward(X), 400.0)
    dropped = net.forward(X, training=True)[..., 0]  # sum of 400 inputs, each 0 or 2
    assert np.all(dropped % 2 == 0) and abs(dropped.mean() - 400) < 40
    assert not np.array_equal(dropped[0], dropped[1])  # replicas draw their own masks


@pytest.mark.skipif(not kernels.available(), reason="numba not installed")
def test_only_large_training_passes_fuse_the_sigmoid():
    network = Network([Dense(20, "sigmoid"), Dense(10, "sigmoid")], input_dim=35, replicas=5, seed=0)
    with kernels.using("numba"):
        online = network.batch_pass(1).ops[0]
        minibatch = BatchPass(network, 32).ops[0]
        inference = BatchPass(network, 32, training=False).ops[0]
    with kernels.using("numpy"):
        numpy_path = BatchPass(network, 32).ops[0]
    assert (
        online.fused_sigmoid is None and inference.fused_sigmoid is None and numpy_path.fused_sigmoid is None
    )
    assert minibatch.fused_sigmoid is network.layers[0].activation
