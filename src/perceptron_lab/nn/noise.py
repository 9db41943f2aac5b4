"""GaussianNoise: the input of a denoising autoencoder, corrupted afresh at every training step.

GaussianNoise   training: y = x + stddev * z, z ~ N(0, 1) drawn per replica from its own
                generator (the one dropout uses), for its real rows only, as it would alone;
                inference: y = x.  dL/dx = dL/dy in both (the noise does not depend on x).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layers import Layer
from .ops import Op, OpContext, Run, emit


class GaussianNoise(Layer):
    """Additive Gaussian noise of standard deviation `stddev` on its input (training only)."""

    kind = "gaussian_noise"
    aliases_grad = True

    def __init__(self, stddev: float, *, name: str | None = None, inputs: Sequence[str] | None = None):
        super().__init__(name, inputs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not stddev >= 0:
            raise ValueError(f"GaussianNoise: stddev must be a number >= 0, got {stddev!r}")
        self.stddev = float(stddev)

    def _config(self):
        return {"stddev": self.stddev}

    def output_shape(self, input_shapes):
        return self._single(input_shapes)

    def make_op(self, ctx):
        return GaussianNoiseOp(self, ctx)


class GaussianNoiseOp(Op):
    def __init__(self, layer: GaussianNoise, ctx: OpContext):
        super().__init__(ctx)
        self.stddev = layer.stddev
        self.shape = ctx.output_shape
        self.active = ctx.training and layer.stddev > 0
        if self.active:
            self.out = ctx.zeros(ctx.replicas, ctx.width, *self.shape)

    def forward(self, inputs, run: Run):
        x = inputs[0]
        if not self.active or run.rngs is None:
            return x
        for r, rng in enumerate(run.rngs):
            n = self.width if run.counts is None else int(run.counts[r])
            self.out[r, :n] = rng.standard_normal((n, *self.shape)) * self.stddev
            self.out[r, n:] = 0  # padding rows of a replica with fewer real rows
        np.add(self.out, x, out=self.out)
        return self.out

    def backward(self, grad, targets):
        if not self.aliased:
            emit(targets[0], grad)
