"""A forward and backward pass through a Network with preallocated buffers.

A `BatchPass` serves batches of one width b: every replica's rows are gathered into
x (R, b, input_dim), pushed forward into per-layer output buffers (R, b, units), and the
gradients of the loss are written straight into the network's gradient matrix. Nothing is
allocated per step apart from a few temporaries of activation derivatives.

Backpropagation through Dense layer j with input h (R, b, fan_in), z = h @ K + bias, a = f(z):
    delta_j = dL/dz_j                         (R, b, units)
    dL/dK_j = h^T @ delta_j                   (R, fan_in, units)
    dL/dbias_j = sum over the batch of delta_j
    dL/dh = delta_j @ K_j^T,   then delta_{j-1} = f'_{j-1} * (dL/dh * dropout mask)
For a single replica every product is done on 2-D views, so it is one plain GEMM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation
from .layers import Dense, Dropout
from .losses import Loss


@dataclass
class _DenseStep:
    index: int  # which Dense layer
    activation: Activation
    h: np.ndarray  # input (R, b, fan_in): x, a previous output, or a dropout output
    h_mat: np.ndarray
    h_t: np.ndarray  # h^T as matrices: (fan_in, b) for R = 1, else (R, fan_in, b)
    h_row: np.ndarray | None  # (R, fan_in) view of h when b = 1 and R > 1 (outer products)
    a: np.ndarray  # output (R, b, units)
    a_mat: np.ndarray
    delta: np.ndarray  # dL/dz (R, b, units)
    delta_mat: np.ndarray
    back: (
        np.ndarray | None
    )  # where dL/dh goes: the previous layer's delta buffer (or an input-gradient buffer)
    back_mat: np.ndarray | None
    masks: list[np.ndarray]  # dropout masks applied between the previous layer and h, last first
    previous: _DenseStep | None
    l1: float
    l2: float
    use_bias: bool


@dataclass
class _DropoutStep:
    rate: float
    source: np.ndarray  # (R, b, features) what is dropped
    mask: np.ndarray  # (R, b, features) 0 or 1 / (1 - rate)
    out: np.ndarray


def _mat(array: np.ndarray, single: bool) -> np.ndarray:
    """2-D view (b, f) of an (1, b, f) array when there is a single replica."""
    return array[0] if single else array


class BatchPass:
    """Forward/backward for batches of `width` rows per replica (see module docstring).

    training: apply dropout (with per-replica generators given to `forward`).
    input_gradient: also compute dL/dx into `x_grad` (R, width, input_dim).
    """

    def __init__(self, network, width: int, training: bool = True, input_gradient: bool = False):
        R, dtype = network.replicas, network.dtype
        single = R == 1
        self.network = network
        self.width = width
        self.single = single
        self.training = training
        self.x = np.zeros((R, width, network.input_dim), dtype)
        self.x_grad = np.zeros_like(self.x) if input_gradient else None
        self.ops: list[_DenseStep | _DropoutStep] = []  # in forward order
        self.dense: list[_DenseStep] = []
        h = self.x
        pending_masks: list[np.ndarray] = []
        dense_index = 0
        for layer in network.layers:
            if isinstance(layer, Dropout):
                if not (training and layer.rate > 0):
                    continue
                step = _DropoutStep(layer.rate, h, np.ones_like(h), np.empty_like(h))
                self.ops.append(step)
                pending_masks.insert(0, step.mask)
                h = step.out
                continue
            assert isinstance(layer, Dense)
            a = np.zeros((R, width, layer.units), dtype)
            delta = np.zeros_like(a)
            previous = self.dense[-1] if self.dense else None
            back = previous.delta if previous else self.x_grad
            h_t = h[0].T if single else h.swapaxes(1, 2)
            h_row = h[:, 0, :] if (width == 1 and not single) else None
            self.dense.append(
                _DenseStep(
                    dense_index,
                    layer.activation,
                    h,
                    _mat(h, single),
                    h_t,
                    h_row,
                    a,
                    _mat(a, single),
                    delta,
                    _mat(delta, single),
                    back,
                    None if back is None else _mat(back, single),
                    pending_masks,
                    previous,
                    layer.l1,
                    layer.l2,
                    layer.use_bias,
                )
            )
            self.ops.append(self.dense[-1])
            pending_masks = []
            dense_index += 1
            h = a
        self.output = h

    # -------------------------------------------------------------------------------------
    def gather(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Fill x (R, b, f) with X[rows] for rows (R, b) (no copy of X)."""
        return X.take(rows, axis=0, out=self.x, mode="clip")

    def forward(self, rngs=None, counts=None) -> np.ndarray:
        """Outputs (R, b, out) for the inputs in `x`.

        rngs: one Generator per replica for dropout masks; counts: (R,) real rows per replica
        (a replica draws masks only for its real rows, as it would alone), None = all rows.
        """
        net = self.network
        kernels = net._kernel_mats
        biases = net._bias_mats
        for step in self.ops:
            if isinstance(step, _DropoutStep):
                self._draw_mask(step, rngs, counts)
                np.multiply(step.source, step.mask, out=step.out)
                continue
            np.matmul(step.h_mat, kernels[step.index], out=step.a_mat)
            if step.use_bias:
                step.a_mat += biases[step.index]
            step.activation.forward(step.a, out=step.a)
        return self.output

    def infer(self, x: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """Outputs (R, n, out) for up to `width` rows x, (n, f) shared by every replica or
        (R, n, f); no dropout. logits: optional (R, n, out) array that receives the output
        layer's pre-activation. The result is a view into this pass's buffers."""
        if self.training:
            raise RuntimeError("infer() needs a pass built with training=False")
        net = self.network
        n = x.shape[-2]
        if self.single:
            h = x[0] if x.ndim == 3 else x
        else:
            h = x if x.ndim == 3 else x[None]  # shared rows broadcast over the replicas
        last = self.dense[-1]
        for step in self.dense:
            out = step.a[0, :n] if self.single else step.a[:, :n]
            np.matmul(h, net._kernel_mats[step.index], out=out)
            if step.use_bias:
                out += net._bias_mats[step.index]
            if logits is not None and step is last:
                np.copyto(logits, out.reshape(logits.shape))
            step.activation.forward(out, out=out)
            h = out
        return last.a[:, :n]

    def _draw_mask(self, dropout: _DropoutStep, rngs, counts) -> None:
        keep = 1.0 - dropout.rate
        features = dropout.mask.shape[2]
        for r, rng in enumerate(rngs):
            n = dropout.mask.shape[1] if counts is None else int(counts[r])
            drawn = rng.random((n, features)) < keep
            dropout.mask[r, :n] = drawn / keep

    def backward(self, target: np.ndarray, scale, loss: Loss) -> None:
        """Write dL/dparams of every replica into the network's gradient matrix.

        target: (R, b, out) encoded targets of the rows in `x`; scale: loss.sample_scale of
        the rows' weights, (R, b, 1) or a scalar.
        """
        net = self.network
        kernels, kernels_t, grad_k, grad_b = (
            net._kernel_mats,
            net._kernel_mats_t,
            net._grad_kernel_mats,
            net._grad_biases,
        )
        last = self.dense[-1]
        loss.delta(last.a, target, scale, last.activation, out=last.delta)
        for step in reversed(self.dense):
            j = step.index
            if step.h_row is not None:  # b = 1: per-replica outer products (einsum beats R tiny GEMMs)
                np.einsum("ri,ro->rio", step.h_row, step.delta[:, 0, :], out=grad_k[j])
            else:
                np.matmul(step.h_t, step.delta_mat, out=grad_k[j])
            if step.use_bias:
                np.add.reduce(step.delta, axis=1, keepdims=True, out=grad_b[j])
            if step.l2:
                grad_k[j] += (2.0 * step.l2) * kernels[j]
            if step.l1:
                grad_k[j] += step.l1 * np.sign(kernels[j])
            if step.back is None:
                continue
            np.matmul(step.delta_mat, kernels_t[j], out=step.back_mat)
            for mask in step.masks:
                step.back *= mask
            if step.previous is not None:
                step.previous.activation.backward(step.back, step.previous.a, out=step.back)
