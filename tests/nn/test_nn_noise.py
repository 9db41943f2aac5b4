"""GaussianNoise: x + stddev * z while training, drawn per replica as if alone; identity otherwise."""

import numpy as np
import pytest

from perceptron_lab.nn import Dense, GaussianNoise, Network, load_network, save_network
from perceptron_lab.nn.network import stream
from perceptron_lab.train import Trainer


def test_training_pass_adds_the_replicas_own_noise_and_inference_does_not():
    X = np.arange(12.0).reshape(4, 3)
    seeds = [(3, 0), (3, 1)]
    network = Network([GaussianNoise(0.5), Dense(3)], input_dim=3, seeds=seeds, dtype="float64")
    network.set_weights([np.eye(3), np.zeros((1, 3))])
    batch = network.batch_pass(4, training=True)
    batch.gather(X, np.tile(np.arange(4), (2, 1)))
    rngs = [stream(seed, 2) for seed in seeds]
    out = batch.forward(rngs)
    for r, seed in enumerate(seeds):
        expected = X + 0.5 * stream(seed, 2).standard_normal((4, 3))  # the dropout stream, by hand
        np.testing.assert_allclose(out[r], expected, rtol=1e-12)
    np.testing.assert_array_equal(network.predict(X), np.broadcast_to(X, (2, 4, 3)))


def test_a_training_step_backpropagates_through_the_noise_by_hand():
    # h = X W1 + b1 + s z;  y = h W2 + b2;  L = c * sum (y - Y)^2 for the loss's constant c.
    # dL/dW2 = 2c h^T (y - Y);  dL/dh = 2c (y - Y) W2^T (the noise passes it unchanged);  dL/dW1 = X^T dL/dh.
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    s, seed = 0.7, (5, 0)
    network = Network([Dense(4), GaussianNoise(s), Dense(2)], input_dim=3, seeds=[seed], dtype="float64")
    W1, b1, W2, b2 = (w[0] for w in network.get_weights())
    Trainer(loss="sse", optimizer={"name": "sgd", "learning_rate": 0.01}, epochs=1, batch_size=None,
            shuffle=False, eval_every=None).fit(network, X, Y)  # fmt: skip
    z = stream(seed, 2).standard_normal((6, 4))
    h = X @ W1 + b1 + s * z
    error = h @ W2 + b2 - Y
    grad_W2 = h.T @ error
    grad_W1 = X.T @ (error @ W2.T)
    new_W1, _, new_W2, _ = (w[0] for w in network.get_weights())
    scale = (W2 - new_W2)[0, 0] / grad_W2[0, 0]  # lr * 2c, the same for every parameter
    assert scale > 0
    np.testing.assert_allclose(W2 - new_W2, scale * grad_W2, rtol=1e-9)
    np.testing.assert_allclose(W1 - new_W1, scale * grad_W1, rtol=1e-9)


def test_stacked_replicas_with_noise_train_as_alone(kernel_mode):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    seeds = [(9, r) for r in range(3)]
    index = [np.arange(30), np.arange(3, 27), rng.permutation(30)[:17]]

    def layers():
        return [GaussianNoise(0.3), Dense(3, "tanh"), Dense(4)]

    def fit(network, rows):
        Trainer(loss="mse", optimizer="adam", epochs=3, batch_size=8, eval_every=None).fit(
            network, X, X, train_index=rows
        )

    stacked = Network(layers(), input_dim=4, seeds=seeds, dtype="float64")
    fit(stacked, index)
    for r, seed in enumerate(seeds):
        alone = Network(layers(), input_dim=4, seeds=[seed], dtype="float64")
        fit(alone, [index[r]])
        for a, b in zip(stacked.get_weights(), alone.get_weights()):
            np.testing.assert_allclose(a[r], b[0], rtol=1e-10, atol=1e-10)
    clean = Network(layers()[1:], input_dim=4, seeds=seeds, dtype="float64")
    fit(clean, index)
    assert not np.allclose(clean.get_weights()[0], stacked.get_weights()[0])  # the noise mattered


def test_save_and_load_keep_the_layer(tmp_path):
    network = Network([GaussianNoise(0.25, name="corrupt"), Dense(2)], input_dim=3, seed=0)
    save_network(network, tmp_path / "net")
    loaded = load_network(tmp_path / "net")
    assert loaded.layers[0].stddev == 0.25 and loaded.layers[0].name == "corrupt"
    X = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))


def test_stddev_must_be_non_negative():
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-1.0)
