"""BatchNorm over the last (feature / channel) axis, with Keras's momentum and epsilon.

For x (R, b, ..., C), statistics per replica and channel over the batch and spatial axes:
    training   mu, var = mean and (biased) variance of the batch;  x_hat = (x - mu) / sqrt(var + eps)
               y = gamma x_hat + beta
               moving_mean <- momentum moving_mean + (1 - momentum) mu        (same for the variance)
    inference  y = gamma (x - moving_mean) / sqrt(moving_variance + eps) + beta
Backward in training, with N values per channel and g = dL/dy:
    dL/dbeta = sum g,  dL/dgamma = sum g x_hat,
    dL/dx = gamma / sqrt(var + eps) (g - dL/dbeta / N - x_hat dL/dgamma / N)
When a stacked step pads a replica's batch (uneven replicas), only its real rows enter its
statistics and its padding rows get no gradient, so it trains exactly as it would alone.
gamma, beta are trainable; moving_mean, moving_variance are non-trainable state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import kernels
from .layers import Layer
from .ops import Op, OpContext, Run, emit
from .parameters import ParamSpec

COMPILED_MIN_VALUES = 1 << 18
"""Values of a BatchNorm training pass, over all replicas and rows, from which it runs on
compiled kernels (normalization_compiled.py); smaller passes never load numba."""


class BatchNorm(Layer):
    """Batch normalization of the last axis; momentum and epsilon as in Keras (0.99, 1e-3)."""

    kind = "batchnorm"

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        *,
        name: str | None = None,
        inputs: Sequence[str] | None = None,
    ):
        super().__init__(name, inputs)
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1), got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"BatchNorm: epsilon must be > 0, got {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def _config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon}

    def output_shape(self, input_shapes):
        return self._single(input_shapes)

    def param_specs(self, input_shapes):
        C = input_shapes[0][-1]
        return [
            ParamSpec("gamma", (C,)),
            ParamSpec("beta", (C,)),
            ParamSpec("moving_mean", (C,), trainable=False),
            ParamSpec("moving_variance", (C,), trainable=False),
        ]

    def initialize(self, views, input_shapes, rng):
        views["gamma"][...] = 1.0
        views["beta"][...] = 0.0
        views["moving_mean"][...] = 0.0
        views["moving_variance"][...] = 1.0

    def buffer_elements(self, input_shapes, output_shape):
        return 2 * math.prod(output_shape)

    def make_op(self, ctx):
        values = ctx.replicas * ctx.width * math.prod(ctx.output_shape)
        if ctx.training and kernels.pays(values, COMPILED_MIN_VALUES):
            from .normalization_compiled import CompiledBatchNormOp

            return CompiledBatchNormOp(self, ctx)
        return BatchNormOp(self, ctx)


class BatchNormOp(Op):
    """Sums over the batch and spatial axes are products with a row of ones (or of 0/1 row
    weights when padding rows are left out) on (R, rows, C) views: one GEMV per replica."""

    def __init__(self, layer: BatchNorm, ctx: OpContext):
        super().__init__(ctx)
        R, b, shape = ctx.replicas, ctx.width, ctx.output_shape
        self.training = ctx.training
        self.momentum, self.epsilon = layer.momentum, layer.epsilon
        self.C = shape[-1]
        self.per_row = math.prod(shape[:-1])
        broadcast = (R,) + (1,) * len(shape) + (self.C,)
        self.broadcast = broadcast
        p = ctx.params
        self.gamma, self.beta = p["gamma"].reshape(broadcast), p["beta"].reshape(broadcast)
        self.moving_mean, self.moving_variance = p["moving_mean"], p["moving_variance"]
        self.g_gamma, self.g_beta = ctx.grads.get("gamma"), ctx.grads.get("beta")
        self.out = ctx.zeros(R, b, *shape)
        self.x_hat = ctx.zeros(R, b, *shape)
        self.inv_std = ctx.zeros(*broadcast)
        self.ones = np.ones((1, 1, b * self.per_row), ctx.dtype)
        self.weights: np.ndarray | None = None  # (R, 1, rows): 1 on real rows, 0 on padding
        self.count: float | np.ndarray = float(b * self.per_row)

    def _flat(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[0], -1, self.C)

    def _sum(self, a: np.ndarray) -> np.ndarray:
        """(R, 1, C) weighted sum over the rows of a (R, rows, C)."""
        weights = self.ones[:, :, : a.shape[1]] if self.weights is None else self.weights
        return np.matmul(weights, a)

    def forward(self, inputs, run: Run):
        x = inputs[0]
        n = x.shape[1]
        out = self.rows(self.out, n)
        x_hat = self.rows(self.x_hat, n)
        if not self.training:
            np.sqrt(self.moving_variance + self.epsilon, out=self.inv_std.reshape(self.replicas, -1))
            np.reciprocal(self.inv_std, out=self.inv_std)
            np.subtract(x, self.moving_mean.reshape(self.broadcast), out=x_hat)
        else:
            self._weigh(n, run.counts)
            mean = (self._sum(self._flat(x)) / self.count).reshape(self.broadcast)
            np.subtract(x, mean, out=x_hat)
            np.square(x_hat, out=out)  # scratch: out is written below
            if self.weights is not None:
                out *= self.row_weight
            var = (self._sum(self._flat(out)) / self.count).reshape(self.broadcast)
            np.sqrt(var + self.epsilon, out=self.inv_std)
            np.reciprocal(self.inv_std, out=self.inv_std)
            if run.update_state:
                self._update_state(mean, var, run.counts)
        x_hat *= self.inv_std
        np.multiply(x_hat, self.gamma, out=out)
        out += self.beta
        return out

    def _weigh(self, n: int, counts) -> None:
        """Row weights and counts for this batch: None and n * per_row when every replica's
        rows are real, else 0/1 weights per replica (a replica without rows divides by 1)."""
        if counts is None or (np.asarray(counts) == n).all():
            self.weights = None
            self.count = float(n * self.per_row)
            return
        counts = np.asarray(counts)
        real = np.arange(n)[None, :] < counts[:, None]  # (R, n)
        self.row_weight = real.reshape(real.shape + (1,) * (len(self.broadcast) - 2)).astype(self.out.dtype)
        self.weights = np.repeat(real, self.per_row, axis=1)[:, None, :].astype(self.out.dtype)
        self.count = (np.maximum(counts, 1) * self.per_row).astype(self.out.dtype).reshape(-1, 1, 1)

    def _update_state(self, mean: np.ndarray, var: np.ndarray, counts) -> None:
        """moving <- momentum moving + (1 - momentum) batch, for the replicas with rows."""
        m = self.momentum
        R = self.replicas
        moved_mean = m * self.moving_mean + (1 - m) * mean.reshape(R, -1)
        moved_var = m * self.moving_variance + (1 - m) * var.reshape(R, -1)
        if counts is None:
            self.moving_mean[...], self.moving_variance[...] = moved_mean, moved_var
            return
        rows = np.asarray(counts) > 0
        self.moving_mean[rows], self.moving_variance[rows] = moved_mean[rows], moved_var[rows]

    def backward(self, grad, targets):
        x_hat = self.x_hat
        d_beta = self._sum(self._flat(grad))
        product = np.multiply(grad, x_hat)
        d_gamma = self._sum(self._flat(product))
        assert self.g_beta is not None and self.g_gamma is not None
        self.g_beta[...] = d_beta.reshape(self.g_beta.shape)
        self.g_gamma[...] = d_gamma.reshape(self.g_gamma.shape)
        target = targets[0]
        if target is None:
            return
        scale = self.gamma * self.inv_std
        if not self.training:
            np.multiply(grad, scale, out=product)
            emit(target, product)
            return
        # dx = gamma / std (g - sum g / N - x_hat sum(g x_hat) / N), into `product`
        np.multiply(x_hat, (d_gamma / self.count).reshape(self.broadcast), out=product)
        np.subtract(grad, product, out=product)
        product -= (d_beta / self.count).reshape(self.broadcast)
        product *= scale
        if self.weights is not None:
            product *= self.row_weight
        emit(target, product)
