"""Losses, each returning one value per replica, with their gradients beside them.

Shapes: output y_hat and target y (R, m, K); weight w (R, m) marks the rows that count
(1 = real sample, 0 = padding; None = all count); n = sum_i w_i per replica.

    sse                       L = 1/2 sum_i w_i sum_k (y_hat - y)^2          dL/dy_hat = w_i (y_hat - y)
    mse                       L = 1/(n K) sum_i w_i sum_k (y_hat - y)^2      dL/dy_hat = 2 w_i (y_hat - y) / (n K)
    binary_crossentropy       L = -1/n sum_i w_i sum_k [y log y_hat + (1 - y) log(1 - y_hat)]
                                                                    dL/dy_hat = w_i (y_hat - y) / (y_hat (1 - y_hat)) / n
    categorical_crossentropy  L = -1/n sum_i w_i sum_k y log y_hat      dL/dy_hat = -w_i y / y_hat / n

Gradients take `scale` = w_i / n (per-sample-mean losses) or w_i (sse) as an (R, m, 1) array or
a scalar, from `sample_scale(weight)`, so a training step pays for no reduction.

Fused output pairs (the gradient with respect to the pre-activation z, stable when y_hat
saturates, and the loss value computed from z by log-sum-exp / softplus):
    softmax + categorical_crossentropy   dL/dz = (y_hat sum_k y_k - y) w_i / n
    sigmoid(beta) + binary_crossentropy  dL/dz = beta (y_hat - y) w_i / n
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .activations import Activation, Sigmoid, Softmax
from .registry import resolve


def _weighted_sum(per_row: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """per_row (R, m) -> (R,) sum_i w_i per_row_i."""
    if weight is None:
        return per_row.sum(axis=1)
    return np.einsum("rm,rm->r", per_row, weight.astype(per_row.dtype, copy=False))


def _count(output: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """(R,) number of counted rows."""
    if weight is None:
        return np.full(output.shape[0], output.shape[1], dtype=output.dtype)
    return weight.sum(axis=1).astype(output.dtype)


class Loss:
    name: ClassVar[str]
    per_sample_mean: ClassVar[bool] = True
    """True: the loss averages over counted samples (scale = w / n); False: it sums (scale = w)."""

    def value(
        self, output, target, weight=None, logits=None, activation: Activation | None = None
    ) -> np.ndarray:
        """(R,) loss per replica. `logits` (the output layer's pre-activation) and its
        `activation` let paired losses compute the value stably."""
        raise NotImplementedError

    def gradient(self, output, target, scale, out=None) -> np.ndarray:
        """dL/dy_hat (R, m, K) given scale = sample_scale(weight)."""
        raise NotImplementedError

    def fuses(self, activation: Activation) -> bool:
        """True when `delta` has a closed form with this output activation."""
        return False

    def delta(self, output, target, scale, activation: Activation, out=None) -> np.ndarray:
        """dL/dz (R, m, K) for an output layer y_hat = activation(z)."""
        grad = self.gradient(output, target, scale, out=out)
        return activation.backward(grad, output, out=grad)

    def sample_scale(self, weight: np.ndarray, dtype=None) -> np.ndarray:
        """weight (R, m) -> (R, m, 1) per-row gradient scale (w_i / n, or w_i for sums)."""
        weight = np.asarray(weight, dtype=dtype or np.float64)
        if self.per_sample_mean:
            weight = weight / np.maximum(weight.sum(axis=1, keepdims=True), 1)
        return weight[:, :, None]

    def __call__(self, output, target, weight=None) -> np.ndarray:
        return self.value(np.asarray(output), np.asarray(target), weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SSE(Loss):
    name = "sse"
    per_sample_mean = False

    def value(self, output, target, weight=None, logits=None, activation=None):
        error = output - target
        return 0.5 * _weighted_sum(np.einsum("rmk,rmk->rm", error, error), weight)

    def gradient(self, output, target, scale, out=None):
        out = np.subtract(output, target, out=out)
        if not (isinstance(scale, float) and scale == 1.0):
            out *= scale
        return out


class MSE(Loss):
    name = "mse"

    def value(self, output, target, weight=None, logits=None, activation=None):
        error = output - target
        total = _weighted_sum(np.einsum("rmk,rmk->rm", error, error), weight)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / (_count(output, weight) * output.shape[2])

    def gradient(self, output, target, scale, out=None):
        out = np.subtract(output, target, out=out)
        out *= scale
        out *= 2.0 / output.shape[2]
        return out


class BinaryCrossEntropy(Loss):
    name = "binary_crossentropy"

    def value(self, output, target, weight=None, logits=None, activation=None):
        if logits is not None and isinstance(activation, Sigmoid):
            x = activation.beta * logits
            log_p, log_not_p = -np.logaddexp(0, -x), -np.logaddexp(0, x)
        else:
            eps = np.finfo(output.dtype).eps
            p = np.clip(output, eps, 1 - eps)
            log_p, log_not_p = np.log(p), np.log1p(-p)
        per_row = -(target * log_p + (1 - target) * log_not_p).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _weighted_sum(per_row, weight) / _count(output, weight)

    def gradient(self, output, target, scale, out=None):
        eps = np.finfo(output.dtype).eps
        p = np.clip(output, eps, 1 - eps)
        out = np.subtract(output, target, out=out)
        out /= p * (1 - p)
        out *= scale
        return out

    def fuses(self, activation):
        return isinstance(activation, Sigmoid)

    def delta(self, output, target, scale, activation, out=None):
        if not self.fuses(activation):
            return super().delta(output, target, scale, activation, out)
        out = np.subtract(output, target, out=out)
        out *= scale
        if activation.beta != 1.0:
            out *= activation.beta
        return out


class CategoricalCrossEntropy(Loss):
    name = "categorical_crossentropy"

    def value(self, output, target, weight=None, logits=None, activation=None):
        if logits is not None and isinstance(activation, Softmax):
            shifted = logits - logits.max(axis=2, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        else:
            log_p = np.log(np.maximum(output, np.finfo(output.dtype).tiny))
        per_row = -np.einsum("rmk,rmk->rm", target, log_p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _weighted_sum(per_row, weight) / _count(output, weight)

    def gradient(self, output, target, scale, out=None):
        out = np.divide(target, np.maximum(output, np.finfo(output.dtype).tiny), out=out)
        out *= scale
        np.negative(out, out=out)
        return out

    def fuses(self, activation):
        return isinstance(activation, Softmax)

    def delta(self, output, target, scale, activation, out=None):
        if not self.fuses(activation):
            return super().delta(output, target, scale, activation, out)
        # Softmax Jacobian applied to -y/y_hat: y_hat * sum_k y_k - y (= y_hat - y for one-hot rows).
        out = np.multiply(output, target.sum(axis=-1, keepdims=True), out=out)
        out -= target
        out *= scale
        return out


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (SSE, MSE, BinaryCrossEntropy, CategoricalCrossEntropy)
}


def get_loss(spec) -> Loss:
    """A Loss from a name ("sse"), a dict ({"name": "sse"}) or an instance."""
    return resolve(spec, LOSSES, "loss", Loss)
