"""The image, normalization and graph layers: gradients, naive references, shapes, replicas."""

import numpy as np
import pytest

from perceptron_lab.nn import (
    AveragePooling2D,
    BatchNorm,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LayerShapeError,
    MaxPool2D,
    Network,
    Reshape,
    infer_shapes,
    kernels,
)
from perceptron_lab.train import Trainer


def _check_weights(net, objective, grads, numgrad, relerr, tol=1e-6):
    weights = net.get_weights()
    for i, analytic in enumerate(grads):

        def f():
            net.set_weights(weights)
            return objective()

        numeric = numgrad(f, weights[i])
        net.set_weights(weights)
        assert relerr(analytic, numeric) < tol, f"{net.weight_names()[i]}"


def _check_input(objective, X, dx, numgrad, relerr, tol=1e-6):
    numeric = numgrad(lambda: objective(X), X)
    assert relerr(dx.sum(axis=0), numeric) < tol


def _gradient_case(layers, input_shape, numgrad, relerr, training=True, replicas=2, rows=3, seed=0):
    rng = np.random.default_rng(seed)
    net = Network(layers, input_shape=input_shape, replicas=replicas, seed=seed, dtype="float64")
    # Non-trivial biases, BatchNorm scales and moving statistics.
    net.set_weights([w + rng.normal(scale=0.3, size=w.shape) for w in net.get_weights()])
    net.set_state([s + rng.uniform(0.2, 0.5, size=s.shape) for s in net.get_state()])
    X = rng.normal(size=(rows, *input_shape))
    Y = rng.normal(size=(rows, *net.output_shape))
    value, grads, dx = net.value_and_gradients(X, Y, "sse", input_gradient=True, training=training)
    objective = lambda: net.value_and_gradients(X, Y, "sse", training=training)[0].sum()  # noqa: E731
    _check_weights(net, objective, grads, numgrad, relerr)
    _check_input(
        lambda x: net.value_and_gradients(x, Y, "sse", training=training)[0].sum(), X, dx, numgrad, relerr
    )
    return net


# -- gradient checks (float64 central differences) --------------------------------------------


@pytest.mark.parametrize(
    "padding, strides, use_bias",
    [("same", 2, True), ("valid", (2, 1), True), ("same", 1, True), ("valid", 1, False)],
    ids=str,
)
def test_conv2d_gradient_strided_padded(padding, strides, use_bias, numgrad, relerr, kernel_mode):
    layers = [
        Conv2D(
            3,
            (3, 2),
            strides=strides,
            padding=padding,
            activation="tanh",
            l1=0.01,
            l2=0.02,
            use_bias=use_bias,
        ),
        Flatten(),
        Dense(2),
    ]
    _gradient_case(layers, (5, 6, 2), numgrad, relerr)


@pytest.mark.parametrize("pool", [MaxPool2D, AveragePooling2D])
@pytest.mark.parametrize(
    "padding, pool_size, strides", [("valid", 2, None), ("same", 3, 2), ("same", 2, 1)], ids=str
)
def test_pooling_gradient(pool, padding, pool_size, strides, numgrad, relerr, kernel_mode):
    layers = [Conv2D(2, 2, activation="tanh"), pool(pool_size, strides, padding), Flatten(), Dense(2)]
    _gradient_case(layers, (6, 5, 1), numgrad, relerr)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradient(training, numgrad, relerr, kernel_mode):
    layers = [
        Dense(4, "tanh"),
        BatchNorm(),
        Dense(3, "tanh"),
        BatchNorm(momentum=0.9, epsilon=0.01),
        Dense(2),
    ]
    _gradient_case(layers, (3,), numgrad, relerr, training=training, rows=5)


def test_batchnorm_on_images_gradient(numgrad, relerr, kernel_mode):
    layers = [Conv2D(3, 2, activation="relu"), BatchNorm(), Flatten(), Dense(2)]
    _gradient_case(layers, (4, 4, 2), numgrad, relerr, rows=3)


def test_concatenate_skip_connection_gradient(numgrad, relerr, kernel_mode):
    layers = [
        Dense(4, "tanh", name="hidden"),
        Dense(3, "sigmoid", name="other", inputs=["input"]),
        Concatenate(inputs=["input", "hidden", "other"]),
        Dense(2, "tanh"),
        Reshape((2, 1)),
        Concatenate(axis=0, inputs=["reshape", "reshape"]),
        Flatten(),
    ]
    net = _gradient_case(layers, (3,), numgrad, relerr)
    assert net.output_shape == (4,)


# -- forward passes against naive loops -------------------------------------------------------


def _padding(n, k, s, padding):
    if padding == "valid":
        return (n - k) // s + 1, 0
    out = -(-n // s)
    return out, max((out - 1) * s + k - n, 0) // 2


def naive_conv(x, kernel, bias, strides, padding):
    """x (b, H, W, C), kernel (kh, kw, C, F): loops over every output position."""
    b, H, W, C = x.shape
    kh, kw, _, F = kernel.shape
    Ho, top = _padding(H, kh, strides[0], padding)
    Wo, left = _padding(W, kw, strides[1], padding)
    out = np.zeros((b, Ho, Wo, F))
    for n in range(b):
        for i in range(Ho):
            for j in range(Wo):
                for di in range(kh):
                    for dj in range(kw):
                        r, c = i * strides[0] + di - top, j * strides[1] + dj - left
                        if 0 <= r < H and 0 <= c < W:
                            out[n, i, j] += x[n, r, c] @ kernel[di, dj]
    return out + bias


def naive_pool(x, size, strides, padding, maximum):
    b, H, W, C = x.shape
    Ho, top = _padding(H, size, strides, padding)
    Wo, left = _padding(W, size, strides, padding)
    out = np.zeros((b, Ho, Wo, C))
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = i * strides - top, j * strides - left
            window = x[:, max(r0, 0) : r0 + size, max(c0, 0) : c0 + size]
            out[:, i, j] = window.max(axis=(1, 2)) if maximum else window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize(
    "shape, kernel, strides, padding",
    [
        ((7, 6, 2), (3, 3), (1, 1), "same"),
        ((7, 6, 2), (2, 3), (2, 2), "same"),
        ((8, 5, 3), (3, 2), (2, 1), "valid"),
    ],
    ids=str,
)
def test_conv2d_equals_naive_loops(shape, kernel, strides, padding, kernel_mode):
    rng = np.random.default_rng(1)
    net = Network(
        [Conv2D(4, kernel, strides, padding, bias_initializer={"name": "normal", "std": 1.0})],
        input_shape=shape,
        replicas=3,
        seed=2,
        dtype="float64",
    )
    X = rng.normal(size=(5, *shape))
    out = net.predict(X, batch_size=2)  # chunks: 2, 2, 1 rows
    k, b = net.get_weights()
    for r in range(3):
        np.testing.assert_allclose(
            out[r], naive_conv(X, k[r], b[r], strides, padding), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("pool, maximum", [(MaxPool2D, True), (AveragePooling2D, False)])
@pytest.mark.parametrize(
    "size, strides, padding", [(2, 2, "valid"), (3, 2, "same"), (2, 1, "same"), (3, 1, "valid")]
)
def test_pools_equal_naive_loops(pool, maximum, size, strides, padding, kernel_mode):
    X = np.random.default_rng(3).normal(size=(4, 7, 6, 3))
    net = Network([pool(size, strides, padding)], input_shape=(7, 6, 3), seed=0, dtype="float64")
    np.testing.assert_allclose(net.predict(X)[0], naive_pool(X, size, strides, padding, maximum), rtol=1e-12)


# -- BatchNorm by hand --------------------------------------------------------------------------


def test_batchnorm_by_hand(kernel_mode):
    rng = np.random.default_rng(4)
    net = Network(
        [BatchNorm(momentum=0.9, epsilon=0.01), Flatten()],
        input_shape=(2, 3),
        replicas=2,
        seed=0,
        dtype="float64",
    )
    gamma, beta = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    net.set_weights([gamma, beta])
    X = rng.normal(loc=2.0, scale=3.0, size=(5, 2, 3))
    out = net.forward(X, training=True).reshape(
        2, 5, 2, 3
    )  # batch statistics, one update of the running ones
    mu = X.mean(axis=(0, 1))
    var = ((X - mu) ** 2).mean(axis=(0, 1))
    for r in range(2):
        np.testing.assert_allclose(out[r], gamma[r] * (X - mu) / np.sqrt(var + 0.01) + beta[r], rtol=1e-12)
    moving_mean, moving_var = net.get_state()
    np.testing.assert_allclose(moving_mean, np.broadcast_to(0.9 * 0 + 0.1 * mu, (2, 3)), rtol=1e-12)
    np.testing.assert_allclose(moving_var, np.broadcast_to(0.9 * 1 + 0.1 * var, (2, 3)), rtol=1e-12)
    inference = net.predict(X).reshape(2, 5, 2, 3)
    for r in range(2):
        expected = gamma[r] * (X - moving_mean[r]) / np.sqrt(moving_var[r] + 0.01) + beta[r]
        np.testing.assert_allclose(inference[r], expected, rtol=1e-12)
    # value_and_gradients in training mode leaves the running statistics alone.
    net.value_and_gradients(X.reshape(5, 6), np.zeros((5, 6)), training=True)
    np.testing.assert_array_equal(net.get_state()[0], moving_mean)


def test_batchnorm_keras_defaults(kernel_mode):
    layer = BatchNorm()
    assert (layer.momentum, layer.epsilon) == (0.99, 1e-3)


# -- replicas stacked vs alone --------------------------------------------------------------------


def _every_layer():
    return [
        Conv2D(4, 3, strides=1, padding="same", activation="relu", l2=0.001, name="conv"),
        MaxPool2D(2),
        BatchNorm(),
        Conv2D(3, 2, strides=2, padding="same", activation="tanh"),
        AveragePooling2D(2, 1, "same"),
        BatchNorm(momentum=0.9),
        Flatten(name="flat"),
        Dropout(0.2),
        Dense(6, "tanh", name="hidden"),
        Reshape((3, 2)),
        Flatten(),
        Concatenate(inputs=["flat", "flatten"]),
        Dense(3, "softmax"),
    ]


def test_stacked_replicas_of_every_layer_train_as_alone(kernel_mode):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 8, 8, 1))
    Y = np.eye(3)[rng.integers(0, 3, size=40)]
    seeds = [(7, r) for r in range(3)]
    index = [np.arange(40), np.arange(5, 35), rng.permutation(40)[:23]]  # uneven: padded batches

    def trainer():
        return Trainer(
            loss="categorical_crossentropy", optimizer="adam", epochs=3, batch_size=8, eval_every=None
        )

    stacked = Network(_every_layer(), input_shape=(8, 8, 1), seeds=seeds, dtype="float64")
    trainer().fit(stacked, X, Y, train_index=index)
    for r, seed in enumerate(seeds):
        alone = Network(_every_layer(), input_shape=(8, 8, 1), seeds=[seed], dtype="float64")
        trainer().fit(alone, X, Y, train_index=[index[r]])
        for a, b in zip(stacked.get_weights() + stacked.get_state(), alone.get_weights() + alone.get_state()):
            np.testing.assert_allclose(a[r], b[0], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(stacked.predict(X)[r], alone.predict(X)[0], rtol=1e-10, atol=1e-10)
    assert not np.allclose(stacked.get_state()[0][0], 0)  # the running statistics moved


# -- shapes and counts ----------------------------------------------------------------------------


def ej8_conv():
    return [
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Conv2D(16, 3, padding="same", activation="relu"),
        MaxPool2D(2),
        BatchNorm(),
        Flatten(),
        Dense(10, "softmax"),
    ]


def test_ej8_conv_parameter_counts():
    summary = Network(ej8_conv(), input_shape=(28, 28, 1), seed=0).summary()
    assert (summary.total, summary.trainable, summary.non_trainable) == (12986, 12890, 96)
    assert [row[2] for row in summary.rows] == [
        (28, 28, 32),
        (14, 14, 32),
        (14, 14, 32),
        (14, 14, 16),
        (7, 7, 16),
        (7, 7, 16),
        (784,),
        (10,),
    ]
    assert [row[3] for row in summary.rows] == [320, 0, 128, 4624, 0, 64, 0, 7850]
    text = str(summary)
    assert "12,986" in text and "Non-trainable params: 96" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_infer_shapes_errors_name_the_layer():
    with pytest.raises(
        LayerShapeError, match=r"layer 3 \(conv2d_1\): kernel 5x5 is larger than its input 4x4x8"
    ) as e:
        infer_shapes([Conv2D(8, 3), MaxPool2D(2), Dropout(0.1), Conv2D(2, 5)], (10, 10, 1))
    assert e.value.layer_index == 3
    with pytest.raises(LayerShapeError, match="layer 0 .dense.: dense needs flat inputs, got 4x4x1") as e:
        infer_shapes([Dense(3)], (4, 4, 1))
    with pytest.raises(LayerShapeError, match="layer 2 .concatenate.: inputs 4x4x2, 3x3x2 differ"):
        infer_shapes(
            [Conv2D(2, 1, name="a"), Conv2D(2, 2, name="b"), Concatenate(inputs=["a", "b"])], (4, 4, 1)
        )
    with pytest.raises(LayerShapeError, match="conv2d needs .height, width, channels. images, got 784"):
        infer_shapes([Conv2D(2, 3)], (784,))
    with pytest.raises(LayerShapeError, match="input 'nope' is not an earlier layer"):
        infer_shapes([Dense(2), Concatenate(inputs=["input", "nope"])], (3,))
    with pytest.raises(LayerShapeError, match="cannot reshape 6"):
        infer_shapes([Reshape((4, 2))], (6,))
    assert infer_shapes([Conv2D(8, 3, strides=2, padding="same"), MaxPool2D(3, 2, "same")], (9, 7, 3)) == [
        (5, 4, 8),
        (3, 2, 8),
    ]


def test_images_accept_flat_rows_and_chunked_prediction_agrees(kernel_mode):
    rng = np.random.default_rng(6)
    net = Network(ej8_conv(), input_shape=(28, 28, 1), replicas=2, seed=1, dtype="float64")
    X = rng.uniform(size=(9, 28, 28, 1))
    full = net.predict(X)
    np.testing.assert_allclose(net.predict(X.reshape(9, 784), batch_size=4), full, rtol=1e-12)
    logits_out, logits = net.predict(X, return_logits=True)
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), full, rtol=1e-10)


def test_image_shaped_output_trains_on_flat_targets(numgrad, relerr, kernel_mode):
    """A network ending in Reshape (an autoencoder's image output) trains on flat targets."""
    rng = np.random.default_rng(8)
    X = rng.uniform(size=(12, 4, 4, 1))
    layers = [Flatten(), Dense(3, "tanh"), Dense(16, "sigmoid"), Reshape((4, 4, 1))]
    net = Network(layers, input_shape=(4, 4, 1), replicas=2, seed=0, dtype="float64")
    before = net.value_and_gradients(X, X, "mse")[0]
    history = Trainer(loss="mse", optimizer="adam", epochs=5, batch_size=4).fit(net, X, X.reshape(12, 16))
    assert net.predict(X).shape == (2, 12, 4, 4, 1)
    np.testing.assert_allclose(history.logs["train"]["loss"][-1], net.value_and_gradients(X, X, "mse")[0])
    assert (history.logs["train"]["loss"][-1] < before).all()


@pytest.mark.parametrize("strides", [None, 1])
def test_max_pool_ties_route_the_gradient_to_the_first_maximum(strides, kernel_mode):
    net = Network(
        [MaxPool2D(2, strides), Flatten()], input_shape=(4, 5, 1), replicas=2, seed=0, dtype="float64"
    )
    X = np.ones((3, 4, 5, 1))
    out_size = net.output_shape[0]
    _, _, dx = net.value_and_gradients(X, np.zeros((3, out_size)), "sse", input_gradient=True)
    # sse = 1/2 sum (1 - 0)^2 per output, so each window sends 1 to its first position only.
    expected = np.zeros((4, 5))
    step = 2 if strides is None else 1
    for i in range(0, 4 - 1, step):
        for j in range(0, 5 - 1, step):
            expected[i, j] += 1
    np.testing.assert_array_equal(dx[:, :, :, :, 0], np.broadcast_to(expected, (2, 3, 4, 5)))


def _branching_conv_net():
    """Stride-1 convs whose input feeds two layers (accumulated input gradients), overlapping
    padded max pooling, BatchNorm."""
    return [
        Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        Conv2D(3, 3, padding="same", activation="relu", name="c2"),
        Conv2D(2, 1, activation="tanh", inputs=["c1"], name="c3"),
        Concatenate(inputs=["c2", "c3"]),
        MaxPool2D(3, strides=2, padding="same"),
        BatchNorm(),
        Flatten(),
        Dense(3, "softmax"),
    ]


@pytest.mark.skipif(not kernels.available(), reason="numba not installed")
def test_compiled_kernels_train_as_the_numpy_path_for_any_chunking_and_thread_count(monkeypatch, any_size):
    from perceptron_lab.nn import conv_compiled

    monkeypatch.setattr(kernels, "THREADED_FACTOR", 0)  # threads at any size too

    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 8, 8, 2))
    Y = np.eye(3)[rng.integers(0, 3, size=30)]
    seeds = [(3, r) for r in range(3)]
    index = [np.arange(30), np.arange(4, 21), rng.permutation(30)[:25]]  # uneven: padded batches

    def train(mode, threads=2, chunk_bytes=conv_compiled.CHUNK_BYTES):
        monkeypatch.setattr(conv_compiled, "CHUNK_BYTES", chunk_bytes)
        with kernels.using(mode), kernels.limit_threads(threads):
            network = Network(_branching_conv_net(), input_shape=(8, 8, 2), seeds=seeds, dtype="float64")
            trainer = Trainer(loss="categorical_crossentropy", optimizer="adam", epochs=3, batch_size=8)
            trainer.fit(network, X, Y, train_index=index)
            kinds = {type(op).__name__ for op in network.batch_pass(8).ops}
            assert ("CompiledConv2DOp" in kinds) == (mode == "numba")
            return network.get_weights() + network.get_state(), network.predict(X)

    reference, reference_out = train("numpy")
    one_image_chunks, out = train("numba", threads=2, chunk_bytes=1)
    for a, b in zip(reference, one_image_chunks):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-9)  # Adam magnifies rounding in ~0 gradients
    np.testing.assert_allclose(
        out, reference_out, rtol=1e-8, atol=1e-9
    )  # Adam magnifies rounding in ~0 gradients
    single_thread, _ = train("numba", threads=1, chunk_bytes=1)
    for a, b in zip(one_image_chunks, single_thread):
        np.testing.assert_array_equal(a, b)  # the thread count changes no number
    default_chunks, _ = train("numba")
    for a, b in zip(reference, default_chunks):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-9)  # Adam magnifies rounding in ~0 gradients
