import numpy as np
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.nn import ACTIVATIONS, get_activation, kernels
from perceptron_lab.nn.activations import (
    Activation,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
    sigmoid_backward_with_bias_gradient,
    sigmoid_with_bias,
)

needs_numba = pytest.mark.skipif(not kernels.available(), reason="numba not installed")

DIFFERENTIABLE = [
    "identity",
    "sigmoid",
    {"name": "sigmoid", "beta": 2.5},
    "tanh",
    {"name": "tanh", "beta": 0.5},
    "relu",
    "leaky_relu",
    {"name": "leaky_relu", "alpha": 0.2},
    "softmax",
]


def _inputs(rng, shape=(2, 3, 4)):
    # Keep away from the kinks of relu / leaky_relu at 0.
    z = rng.normal(size=shape) * 2
    return np.where(np.abs(z) < 0.05, 0.3, z)


@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=str)
def test_backward_matches_finite_differences(spec, numgrad, relerr):
    rng = np.random.default_rng(0)
    act = get_activation(spec)
    z = _inputs(rng)
    upstream = rng.normal(size=z.shape)
    a = act.forward(z.copy())
    analytic = act.backward(upstream.copy(), a)
    numeric = numgrad(lambda: float(np.sum(upstream * act.forward(z.copy()))), z)
    assert relerr(analytic, numeric) < 1e-6


@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=str)
def test_in_place_equals_out_of_place(spec):
    rng = np.random.default_rng(1)
    act = get_activation(spec)
    z = _inputs(rng).astype(np.float32)
    expected = act.forward(z.copy())
    buffer = z.copy()
    assert act.forward(buffer, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, expected)
    grad = rng.normal(size=z.shape).astype(np.float32)
    expected_back = act.backward(grad.copy(), expected)
    act.backward(grad, expected, out=grad)
    np.testing.assert_array_equal(grad, expected_back)
    assert grad.dtype == np.float32


def test_formulas():
    z = np.array([[-2.0, 0.0, 1.5]])
    np.testing.assert_allclose(Sigmoid(beta=2).forward(z), 1 / (1 + np.exp(-2 * z)))
    np.testing.assert_allclose(Tanh(beta=0.5).forward(z), np.tanh(0.5 * z))
    np.testing.assert_allclose(get_activation("relu").forward(z), [[0, 0, 1.5]])
    np.testing.assert_allclose(
        get_activation({"name": "leaky_relu", "alpha": 0.1}).forward(z), [[-0.2, 0, 1.5]]
    )
    np.testing.assert_allclose(Softmax().forward(z), np.exp(z) / np.exp(z).sum())


def test_step_outputs_and_identity_backward():
    z = np.array([[-0.5, 0.0, 2.0]])
    np.testing.assert_array_equal(Step().forward(z), [[-1, 1, 1]])
    np.testing.assert_array_equal(Step(low=0).forward(z), [[0, 1, 1]])
    grad = np.array([[0.3, -1.0, 2.0]])
    np.testing.assert_array_equal(Step().backward(grad, Step().forward(z)), grad)
    assert Step(low=0).output_range == (0.0, 1.0) and Step().output_range == (-1.0, 1.0)
    with pytest.raises(ValueError):
        Step(low=0.5)


def test_saturation_is_finite():
    z = np.array([[-1e4, 0.0, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(Sigmoid()(z), [[0, 0.5, 1]])
        s = Softmax().forward(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(s, [[0.5, 0.5, 0]])


def test_output_ranges():
    ranges = {name: cls().output_range for name, cls in ACTIVATIONS.items()}
    assert ranges == {
        "identity": (-1.0, 1.0),
        "step": (-1.0, 1.0),
        "sigmoid": (0.0, 1.0),
        "tanh": (-1.0, 1.0),
        "relu": (0.0, 1.0),
        "leaky_relu": (-1.0, 1.0),
        "softmax": (0.0, 1.0),
    }


def test_specs_and_config_round_trip():
    tanh = get_activation({"name": "tanh", "beta": 0.7})
    assert isinstance(tanh, Tanh) and tanh.beta == 0.7
    assert get_activation(tanh) is tanh
    for name in ACTIVATIONS:
        act = get_activation(name)
        assert isinstance(act, Activation)
        assert get_activation(act.get_config()) == act
    with pytest.raises(UserError, match="unknown activation 'sigmod'"):
        get_activation("sigmod")
    with pytest.raises(UserError, match="tanh"):
        get_activation({"name": "tanh", "bta": 2})
    with pytest.raises(UserError, match="beta"):
        get_activation({"name": "sigmoid", "beta": -1})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_sigmoid_matches_the_exp_formula_to_a_few_ulps_of_one(dtype, beta):
    """The tanh form against 1 / (1 + exp(-beta z)) in extended precision, absolute error."""
    z = np.linspace(-40, 40, 20001).astype(dtype)
    exact = 1 / (1 + np.exp(-beta * z.astype(np.longdouble)))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = Sigmoid(beta).forward(z)
    assert got.dtype == dtype and ((got >= 0) & (got <= 1)).all()
    error = np.abs(got.astype(np.longdouble) - exact).max()
    assert error <= 2 * np.finfo(dtype).eps


# -- the compiled sigmoid passes of a Dense layer ----------------------------------------------

TOLERANCES = [(np.float32, 1e-6), (np.float64, 1e-12)]


@needs_numba
@pytest.mark.parametrize("dtype, rtol", TOLERANCES)
@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_sigmoid_with_bias_equals_the_numpy_passes(dtype, rtol, beta):
    """On a whole (R, n, u) buffer and on its first rows (a strided view), which it alone changes."""
    rng = np.random.default_rng(11)
    buffer = (rng.normal(size=(3, 40, 17)) * 4).astype(dtype)
    bias = rng.normal(size=(3, 1, 17)).astype(dtype)
    sigmoid = Sigmoid(beta)
    for rows in (40, 25):
        work = buffer.copy()
        expected = buffer[:, :rows] + bias
        sigmoid.forward(expected, out=expected)
        sigmoid_with_bias(sigmoid, work[:, :rows], bias)
        np.testing.assert_allclose(work[:, :rows], expected, rtol=rtol, atol=rtol)
        np.testing.assert_array_equal(work[:, rows:], buffer[:, rows:])
        assert work.dtype == dtype


@needs_numba
@pytest.mark.parametrize("dtype, rtol", TOLERANCES)
@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_sigmoid_backward_with_bias_gradient_equals_the_numpy_passes(dtype, rtol, beta):
    """dL/dz in place and its row sums written into bias columns of an (R, P) gradient matrix."""
    rng = np.random.default_rng(12)
    R, n, u = 3, 33, 17
    sigmoid = Sigmoid(beta)
    a = sigmoid.forward(rng.normal(size=(R, n, u)) * 3).astype(dtype)
    upstream = rng.normal(size=(R, n, u)).astype(dtype)
    expected = sigmoid.backward(upstream, a)
    expected_bias = np.add.reduce(expected, axis=1, keepdims=True)
    matrix = np.full((R, 50), 7.0, dtype)
    bias_grad = matrix[:, 10 : 10 + u].reshape(R, 1, u)
    grad = upstream.copy()
    sigmoid_backward_with_bias_gradient(sigmoid, grad, a, bias_grad)
    np.testing.assert_allclose(grad, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(
        bias_grad, expected_bias, rtol=rtol, atol=rtol * np.abs(expected).sum(axis=1).max()
    )
    np.testing.assert_array_equal(np.delete(matrix, np.s_[10 : 10 + u], axis=1), 7.0)
