import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_squared_error

from perceptron_lab.errors import UserError
from perceptron_lab.nn import LOSSES, get_activation, get_loss

R, M, K = 3, 5, 4


def _case(name, rng):
    """Outputs in the loss's domain, targets, and uneven weights (replica 1 has 3 rows, 2 has 1)."""
    if name == "categorical_crossentropy":
        logits = rng.normal(size=(R, M, K))
        output = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
        target = np.eye(K)[rng.integers(0, K, size=(R, M))]
    elif name == "binary_crossentropy":
        output = rng.uniform(0.1, 0.9, size=(R, M, K))
        target = rng.integers(0, 2, size=(R, M, K)).astype(float)
    else:
        output = rng.normal(size=(R, M, K))
        target = rng.normal(size=(R, M, K))
    weight = np.ones((R, M))
    weight[1, 3:] = 0
    weight[2, 1:] = 0
    return output, target, weight


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_matches_finite_differences(name, numgrad, relerr):
    rng = np.random.default_rng(0)
    loss = get_loss(name)
    output, target, weight = _case(name, rng)
    analytic = loss.gradient(output, target, loss.sample_scale(weight))
    numeric = numgrad(lambda: float(loss.value(output, target, weight).sum()), output)
    assert relerr(analytic, numeric) < 1e-6
    # padding rows get no gradient
    assert not analytic[weight == 0].any()


@pytest.mark.parametrize(
    "name, activation",
    [
        ("categorical_crossentropy", "softmax"),
        ("binary_crossentropy", "sigmoid"),
        ("binary_crossentropy", {"name": "sigmoid", "beta": 1.7}),
        ("sse", "tanh"),
        ("mse", "softmax"),
    ],
    ids=str,
)
def test_delta_through_output_activation(name, activation, numgrad, relerr):
    """dL/dz for y_hat = f(z): fused closed forms and generic chain rule alike."""
    rng = np.random.default_rng(1)
    loss, act = get_loss(name), get_activation(activation)
    _, target, weight = _case(name, rng)
    z = rng.normal(size=target.shape)
    output = act.forward(z.copy())
    analytic = loss.delta(output, target, loss.sample_scale(weight), act)
    numeric = numgrad(lambda: float(loss.value(act.forward(z.copy()), target, weight).sum()), z)
    assert relerr(analytic, numeric) < 1e-6


def test_values_against_definitions_and_sklearn():
    rng = np.random.default_rng(2)
    out, y, w = _case("sse", rng)
    np.testing.assert_allclose(
        get_loss("sse").value(out, y, w)[1], 0.5 * np.sum((out[1, :3] - y[1, :3]) ** 2)
    )
    np.testing.assert_allclose(get_loss("mse").value(out, y, w)[1], mean_squared_error(y[1, :3], out[1, :3]))
    p, labels, w = _case("categorical_crossentropy", rng)
    expected = log_loss(labels[0].argmax(1), p[0], labels=range(K))
    np.testing.assert_allclose(get_loss("categorical_crossentropy").value(p, labels, w)[0], expected)
    p, t, w = _case("binary_crossentropy", rng)
    manual = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(axis=2)
    np.testing.assert_allclose(get_loss("binary_crossentropy").value(p, t, w)[1], manual[1, :3].mean())


def test_logit_values_are_stable_and_consistent():
    cce, bce = get_loss("categorical_crossentropy"), get_loss("binary_crossentropy")
    softmax, sigmoid = get_activation("softmax"), get_activation({"name": "sigmoid", "beta": 2.0})
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 6, 3))
    y = np.eye(3)[rng.integers(0, 3, size=(2, 6))]
    np.testing.assert_allclose(
        cce.value(softmax.forward(z.copy()), y, logits=z, activation=softmax),
        cce.value(softmax.forward(z.copy()), y),
    )
    np.testing.assert_allclose(
        bce.value(sigmoid.forward(z.copy()), y, logits=z, activation=sigmoid),
        bce.value(sigmoid.forward(z.copy()), y),
    )
    # A confident wrong answer: -log softmax = 2000 exactly from the logits, no overflow.
    z = np.array([[[1000.0, -1000.0]]], dtype=np.float32)
    wrong = np.array([[[0.0, 1.0]]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = cce.value(softmax.forward(z.copy()), wrong, logits=z, activation=softmax)
        bvalue = get_loss("binary_crossentropy").value(
            np.zeros((1, 1, 1)),
            np.ones((1, 1, 1)),
            logits=np.full((1, 1, 1), -500.0),
            activation=get_activation("sigmoid"),
        )
    np.testing.assert_allclose(value, [2000.0])
    np.testing.assert_allclose(bvalue, [500.0])


def test_specs():
    assert set(LOSSES) == {"sse", "mse", "binary_crossentropy", "categorical_crossentropy"}
    loss = get_loss("mse")
    assert get_loss(loss) is loss and get_loss({"name": "mse"}).get_config() == {"name": "mse"}
    with pytest.raises(UserError, match="unknown loss"):
        get_loss("hinge")
