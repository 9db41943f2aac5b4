"""Activation functions, each with its derivative written beside it.

Every activation works on arrays of any shape whose last axis is the feature axis, e.g.
(R, batch, units). forward may underflow internally where the limit is still exact (softmax's
exp of a very negative shifted logit gives 0); `act(z)` silences such warnings, and so do Network and
Trainer around their passes. `forward(z, out=None)` returns a = f(z); `backward(grad, a, out=None)`
returns dL/dz = dL/da * f'(z), with f' written through the output a = f(z) (every derivative
here can be, so a layer keeps only its outputs). `out=z` / `out=grad` work in place.

`output_range` is the (low, high) pair used to encode class targets for this output.

A Dense layer's sigmoid also has compiled forms that take in the bias (`sigmoid_with_bias`,
`sigmoid_backward_with_bias_gradient`, see nn/kernels.py): the same numbers in fewer passes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .kernels import kernel
from .registry import resolve


def _copy(x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return x.copy()
    if out is not x:
        np.copyto(out, x)
    return out


class Activation:
    name: ClassVar[str]
    output_range: tuple[float, float]

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """f(z) as a new array (overflow inside, as in exp(-z) of a saturated sigmoid, is silent)."""
        with np.errstate(over="ignore", under="ignore"):
            return self.forward(np.asarray(z))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({params})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))


class Identity(Activation):
    """f(z) = z;  f'(z) = 1."""

    name = "identity"
    output_range = (-1.0, 1.0)

    def forward(self, z, out=None):
        return _copy(z, out)

    def backward(self, grad, a, out=None):
        return _copy(grad, out)


class Step(Activation):
    """f(z) = 1 if z >= 0 else low  (low = -1: sign-like, low = 0: Heaviside).

    Backward is the identity (the perceptron's "straight-through" rule): a one-layer step
    network trained online on SSE then updates dw = lr * (y - y_hat) * x, Rosenblatt's rule.
    """

    name = "step"

    def __init__(self, low: float = -1.0):
        if low not in (-1.0, 0.0):
            raise ValueError(f"step: low must be -1 or 0, got {low!r}")
        self.low = float(low)
        self.output_range = (self.low, 1.0)

    def forward(self, z, out=None):
        step = np.where(z >= 0, 1.0, self.low)
        if out is None:
            return step.astype(z.dtype, copy=False)
        np.copyto(out, step)
        return out

    def backward(self, grad, a, out=None):
        return _copy(grad, out)

    def get_config(self):
        return {"name": self.name, "low": self.low}


class Sigmoid(Activation):
    """f(z) = 1 / (1 + exp(-beta z)) = (1 + tanh(beta z / 2)) / 2;  f'(z) = beta a (1 - a).

    Computed through tanh: four in-place passes like the exp form, but NumPy's tanh is about
    30% faster than exp + divide, never overflows, and is at least as close to the true value
    (absolute error within a few units in the last place of 1, see the tests). Like
    1 - sigmoid(z) in the exp form, outputs below that resolution (about 3e-8 in float32,
    6e-17 in float64, i.e. z < -17 or z < -37) round to 0: the form is symmetric about 0.5.
    """

    name = "sigmoid"
    output_range = (0.0, 1.0)

    def __init__(self, beta: float = 1.0):
        if not beta > 0:
            raise ValueError(f"sigmoid: beta must be > 0, got {beta!r}")
        self.beta = float(beta)

    def forward(self, z, out=None):
        out = np.multiply(z, 0.5 * self.beta, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def backward(self, grad, a, out=None):
        out = np.multiply(grad, a, out=out)
        out *= 1.0 - a
        if self.beta != 1.0:
            out *= self.beta
        return out

    def get_config(self):
        return {"name": self.name, "beta": self.beta}


@kernel
def _add_bias_and_scale(z, bias, scale) -> None:
    """z <- (z + bias) * scale in place, for z (R, n, u), bias (R, 1, u), rounding after each operation."""
    R, n = z.shape[0], z.shape[1]
    for r in range(R):
        b = bias[r, 0]
        for i in range(n):
            zi = z[r, i]
            for j in range(zi.shape[0]):
                zi[j] = (zi[j] + b[j]) * scale


@kernel
def _half_plus_half(a, half) -> None:
    """a <- a * half + half in place, for a (R, n, u) and half = 0.5 in its dtype."""
    R, n = a.shape[0], a.shape[1]
    for r in range(R):
        for i in range(n):
            ai = a[r, i]
            for j in range(ai.shape[0]):
                ai[j] = ai[j] * half + half


@kernel
def _sigmoid_backward_and_sum(grad, a, beta, one, bias_grad) -> None:
    """grad <- ((grad * a) * (one - a)) * beta in place (the product by beta only when beta != 1),
    for grad, a (R, n, u); bias_grad (R, 1, u) <- the sum of the new grad over its n rows,
    added row after row in order."""
    R, n = grad.shape[0], grad.shape[1]
    for r in range(R):
        total = bias_grad[r, 0]
        for i in range(n):
            g, ai = grad[r, i], a[r, i]
            if beta == one:
                for j in range(g.shape[0]):
                    g[j] = g[j] * ai[j] * (one - ai[j])
            else:
                for j in range(g.shape[0]):
                    g[j] = g[j] * ai[j] * (one - ai[j]) * beta
            if i == 0:
                for j in range(g.shape[0]):
                    total[j] = g[j]
            else:
                for j in range(g.shape[0]):
                    total[j] += g[j]


def sigmoid_with_bias(sigmoid: Sigmoid, z: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """z <- sigmoid(z + bias) in place, for z (R, n, u) and bias (R, 1, u): the numbers of
    `z += bias; sigmoid.forward(z, out=z)` in three passes instead of five (a compiled pass
    z <- (z + bias) beta / 2, NumPy's tanh, a compiled pass a <- a / 2 + 1 / 2)."""
    dtype = z.dtype.type
    _add_bias_and_scale(z, bias, dtype(0.5 * sigmoid.beta))
    np.tanh(z, out=z)
    _half_plus_half(z, dtype(0.5))
    return z


def sigmoid_backward_with_bias_gradient(
    sigmoid: Sigmoid, grad: np.ndarray, a: np.ndarray, bias_grad: np.ndarray
) -> np.ndarray:
    """grad <- sigmoid.backward(grad, a) in place, for grad and a (R, n, u), and bias_grad
    (R, 1, u) <- the sum of that over the n rows, in one compiled pass: the numbers of
    `sigmoid.backward(grad, a, out=grad); np.add.reduce(grad, axis=1, keepdims=True, out=bias_grad)`."""
    dtype = grad.dtype.type
    _sigmoid_backward_and_sum(grad, a, dtype(sigmoid.beta), dtype(1.0), bias_grad)
    return grad


class Tanh(Activation):
    """f(z) = tanh(beta z);  f'(z) = beta (1 - a^2)."""

    name = "tanh"
    output_range = (-1.0, 1.0)

    def __init__(self, beta: float = 1.0):
        if not beta > 0:
            raise ValueError(f"tanh: beta must be > 0, got {beta!r}")
        self.beta = float(beta)

    def forward(self, z, out=None):
        if self.beta != 1.0:
            out = np.multiply(z, self.beta, out=out)
            return np.tanh(out, out=out)
        return np.tanh(z, out=out)

    def backward(self, grad, a, out=None):
        slope = np.square(a)
        np.subtract(1.0, slope, out=slope)
        if self.beta != 1.0:
            slope *= self.beta
        return np.multiply(grad, slope, out=out)

    def get_config(self):
        return {"name": self.name, "beta": self.beta}


class ReLU(Activation):
    """f(z) = max(z, 0);  f'(z) = 1 if z > 0 else 0  (a > 0 exactly when z > 0)."""

    name = "relu"
    output_range = (0.0, 1.0)

    def forward(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def backward(self, grad, a, out=None):
        return np.multiply(grad, a > 0, out=out)


class LeakyReLU(Activation):
    """f(z) = z if z > 0 else alpha z;  f'(z) = 1 if z > 0 else alpha  (alpha >= 0 keeps sign(a) = sign(z))."""

    name = "leaky_relu"
    output_range = (-1.0, 1.0)

    def __init__(self, alpha: float = 0.01):
        if not alpha >= 0:
            raise ValueError(f"leaky_relu: alpha must be >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        leak = np.multiply(z, self.alpha)
        return np.maximum(z, leak, out=out) if self.alpha <= 1 else np.where(z > 0, z, leak)

    def backward(self, grad, a, out=None):
        slope = np.where(a > 0, 1.0, self.alpha).astype(grad.dtype, copy=False)
        return np.multiply(grad, slope, out=out)

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}


class Softmax(Activation):
    """a_k = exp(z_k - max z) / sum_j exp(z_j - max z) over the last axis;
    dL/dz = a * (dL/da - sum_k a_k dL/da_k).

    Paired with categorical cross-entropy the two fuse into dL/dz = a - y (see losses.py).
    """

    name = "softmax"
    output_range = (0.0, 1.0)

    def forward(self, z, out=None):
        out = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, grad, a, out=None):
        inner = np.sum(grad * a, axis=-1, keepdims=True)
        out = np.subtract(grad, inner, out=out)
        out *= a
        return out


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Step, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax)
}


def get_activation(spec) -> Activation:
    """An Activation from a name ("tanh"), a dict ({"name": "tanh", "beta": 0.5}) or an instance."""
    return resolve(spec, ACTIVATIONS, "activation", Activation)
