"""BatchNorm's training pass on compiled kernels (see normalization.py for the math).

One kernel call per replica computes the batch statistics (two passes: the mean, then the
centred sum of squares, each summed in float64 in row order) and writes x_hat and y; one more
computes the backward sums and dL/dx. A replica's x, about 800 KiB for EJ8_Conv's first
BatchNorm, stays in cache across its passes, where the NumPy path makes eight passes over the
whole (R, rows, C) stack. Replicas are spread over threads. Inference passes (running
statistics) stay on the NumPy op.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels, normalization
from .kernels import kernel
from .normalization import BatchNorm, BatchNormOp
from .ops import OpContext, Run, emit
from .threads import lane_range, run_lanes


@kernel
def batchnorm_forward(x, x_hat, out, gamma, beta, real, count, eps, mean, var, inv_std, start, stop):
    """For replicas r in [start, stop), x (R, rows, C), statistics over its first real[r] rows:
        mean[r] = sum x / count[r],  var[r] = sum (x - mean)^2 / count[r],
        inv_std[r] = 1 / sqrt(var + eps),  x_hat = (x - mean) inv_std,  out = gamma x_hat + beta
    (x_hat and out for every row; gamma, beta, mean, var, inv_std (R, C))."""
    rows, C = x.shape[1], x.shape[2]
    for r in range(start, stop):
        total = np.zeros(C)
        for i in range(real[r]):
            for c in range(C):
                total[c] += x[r, i, c]
        for c in range(C):
            mean[r, c] = total[c] / count[r]
            total[c] = 0.0
        for i in range(real[r]):
            for c in range(C):
                d = x[r, i, c] - mean[r, c]
                total[c] += d * d
        for c in range(C):
            var[r, c] = total[c] / count[r]
            inv_std[r, c] = 1.0 / math.sqrt(var[r, c] + eps)
        for i in range(rows):
            for c in range(C):
                h = (x[r, i, c] - mean[r, c]) * inv_std[r, c]
                x_hat[r, i, c] = h
                out[r, i, c] = gamma[r, c] * h + beta[r, c]


@kernel
def batchnorm_backward(
    grad, x_hat, gamma, inv_std, real, count, d_gamma, d_beta, dx, want_dx, accumulate, start, stop
):
    """For replicas r in [start, stop), with g = grad (R, rows, C) summed over the real rows:
        d_beta = sum g,  d_gamma = sum g x_hat,
        dx = gamma inv_std (g - d_beta / count - x_hat d_gamma / count) on real rows, 0 after
    (dx assigned, or added with accumulate; skipped without want_dx)."""
    rows, C = grad.shape[1], grad.shape[2]
    for r in range(start, stop):
        sum_g = np.zeros(C)
        sum_gx = np.zeros(C)
        for i in range(real[r]):
            for c in range(C):
                g = grad[r, i, c]
                sum_g[c] += g
                sum_gx[c] += g * x_hat[r, i, c]
        for c in range(C):
            d_beta[r, c] = sum_g[c]
            d_gamma[r, c] = sum_gx[c]
        if not want_dx:
            continue
        scale = np.empty(C)
        shift = np.empty(C)
        slope = np.empty(C)
        for c in range(C):  # dx = scale g - shift - slope x_hat
            scale[c] = gamma[r, c] * inv_std[r, c]
            shift[c] = scale[c] * sum_g[c] / count[r]
            slope[c] = scale[c] * sum_gx[c] / count[r]
        for i in range(real[r]):
            if accumulate:
                for c in range(C):
                    dx[r, i, c] += scale[c] * grad[r, i, c] - shift[c] - slope[c] * x_hat[r, i, c]
            else:
                for c in range(C):
                    dx[r, i, c] = scale[c] * grad[r, i, c] - shift[c] - slope[c] * x_hat[r, i, c]
        if not accumulate:
            for i in range(real[r], rows):
                for c in range(C):
                    dx[r, i, c] = 0.0


class CompiledBatchNormOp(BatchNormOp):
    """BatchNormOp for training passes, on the kernels above."""

    def __init__(self, layer: BatchNorm, ctx: OpContext):
        super().__init__(layer, ctx)
        R, C = ctx.replicas, self.C
        self.mean = np.zeros((R, C), ctx.dtype)
        self.var = np.zeros((R, C), ctx.dtype)
        self.inv_std_rc = self.inv_std.reshape(R, C)
        values = R * ctx.width * math.prod(ctx.output_shape)
        self.lanes = min(R, kernels.lanes(values, normalization.COMPILED_MIN_VALUES))
        self.real = np.zeros(R, np.int64)
        self.counts = np.ones(R, ctx.dtype)

    def _per_replica(self, work) -> None:
        def lane_work(lane: int) -> None:
            work(*lane_range(self.replicas, self.lanes, lane))

        run_lanes(self.lanes, lane_work)

    def forward(self, inputs, run: Run):
        n = inputs[0].shape[1]
        R, C = self.replicas, self.C
        x = np.broadcast_to(inputs[0], (R, *inputs[0].shape[1:]))
        counts = np.full(R, n) if run.counts is None else np.asarray(run.counts)
        np.multiply(counts, self.per_row, out=self.real)
        np.multiply(np.maximum(counts, 1), self.per_row, out=self.counts, casting="unsafe")
        x3, x_hat, out = (a.reshape(R, -1, C) for a in (x, self.rows(self.x_hat, n), self.rows(self.out, n)))
        gamma, beta = self.gamma.reshape(R, C), self.beta.reshape(R, C)
        self._per_replica(
            lambda start, stop: batchnorm_forward(
                x3,
                x_hat,
                out,
                gamma,
                beta,
                self.real,
                self.counts,
                self.epsilon,
                self.mean,
                self.var,
                self.inv_std_rc,
                start,
                stop,
            )
        )
        if run.update_state:
            self._update_state(self.mean, self.var, run.counts)
        return self.rows(self.out, n)

    def backward(self, grad, targets):
        R, C = self.replicas, self.C
        assert self.g_beta is not None and self.g_gamma is not None
        target = targets[0]
        g3 = np.ascontiguousarray(grad).reshape(R, -1, C)
        x_hat = self.x_hat.reshape(R, -1, C)
        buffer, accumulate = (None, False) if target is None else target
        # dx goes straight into a contiguous target; else into scratch, then emitted.
        direct = buffer is not None and buffer.flags.c_contiguous
        dx = buffer.reshape(R, -1, C) if direct and buffer is not None else np.empty_like(g3)
        accumulate = accumulate and direct
        d_gamma, d_beta = self.g_gamma.reshape(R, C), self.g_beta.reshape(R, C)
        gamma = self.gamma.reshape(R, C)
        self._per_replica(
            lambda start, stop: batchnorm_backward(
                g3,
                x_hat,
                gamma,
                self.inv_std_rc,
                self.real,
                self.counts,
                d_gamma,
                d_beta,
                dx,
                target is not None,
                accumulate,
                start,
                stop,
            )
        )
        if target is not None and not direct:
            emit(target, dx.reshape(target[0].shape))
