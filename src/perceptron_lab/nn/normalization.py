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

from .layers import Layer
from .ops import Op, OpContext, Run, emit
from .parameters import ParamSpec


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
        return BatchNormOp(self, ctx)


class BatchNormOp(Op):
    def __init__(self, layer: BatchNorm, ctx: OpContext):
        super().__init__(ctx)
        R, b, shape = ctx.replicas, ctx.width, ctx.output_shape
        self.training = ctx.training
        self.momentum, self.epsilon = layer.momentum, layer.epsilon
        self.axes = tuple(range(1, len(shape) + 1))  # batch and spatial axes of (R, b, *shape)
        self.per_row = math.prod(shape[:-1])
        broadcast = (R,) + (1,) * len(shape) + (shape[-1],)
        self.broadcast = broadcast
        p = ctx.params
        self.gamma, self.beta = p["gamma"].reshape(broadcast), p["beta"].reshape(broadcast)
        self.moving_mean, self.moving_variance = p["moving_mean"], p["moving_variance"]
        self.g_gamma, self.g_beta = ctx.grads.get("gamma"), ctx.grads.get("beta")
        self.out = ctx.zeros(R, b, *shape)
        self.x_hat = ctx.zeros(R, b, *shape)
        self.inv_std = ctx.zeros(*broadcast)
        self.row_weight: np.ndarray | None = None  # (R, b, 1, ..., 1) 1 on real rows, else 0
        self.count = float(b * self.per_row)

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
            mean, var = self._statistics(x, run.counts)
            np.subtract(x, mean, out=x_hat)
            np.sqrt(var + self.epsilon, out=self.inv_std)
            np.reciprocal(self.inv_std, out=self.inv_std)
            if run.update_state:
                self._update_state(mean, var, run.counts)
        x_hat *= self.inv_std
        np.multiply(x_hat, self.gamma, out=out)
        out += self.beta
        return out

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

    def _statistics(self, x: np.ndarray, counts) -> tuple[np.ndarray, np.ndarray]:
        """Per replica and channel mean and biased variance, (R, 1, ..., 1, C), over real rows."""
        if counts is None or (np.asarray(counts) == x.shape[1]).all():
            self.row_weight = None
            self.count = float(x.shape[1] * self.per_row)
            mean = x.mean(axis=self.axes, keepdims=True)
            centred = x - mean
            return mean, np.square(centred, out=centred).mean(axis=self.axes, keepdims=True)
        counts = np.asarray(counts)
        rows = np.arange(x.shape[1])[None, :] < counts[:, None]
        self.row_weight = rows.reshape(rows.shape + (1,) * (x.ndim - 2)).astype(x.dtype)
        # A replica without rows this step (it sits the step out) divides by 1, not 0.
        total = (np.maximum(counts, 1) * self.per_row).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
        self.count_per_replica = total
        mean = (x * self.row_weight).sum(axis=self.axes, keepdims=True) / total
        centred = (x - mean) * self.row_weight
        return mean, np.square(centred, out=centred).sum(axis=self.axes, keepdims=True) / total

    def backward(self, grad, targets):
        x_hat = self.x_hat
        np.add.reduce(grad, axis=self.axes, keepdims=True, out=self.g_beta.reshape(self.broadcast))
        np.add.reduce(grad * x_hat, axis=self.axes, keepdims=True, out=self.g_gamma.reshape(self.broadcast))
        target = targets[0]
        if target is None:
            return
        scale = self.gamma * self.inv_std
        if not self.training:
            emit(target, grad * scale)
            return
        count = self.count if self.row_weight is None else self.count_per_replica
        d_beta, d_gamma = self.g_beta.reshape(self.broadcast), self.g_gamma.reshape(self.broadcast)
        dx = grad - d_beta / count
        dx -= x_hat * (d_gamma / count)
        dx *= scale
        if self.row_weight is not None:
            dx *= self.row_weight
        emit(target, dx)
