"""Channels-last 2-D layers: Conv2D (im2col + GEMM), MaxPool2D and AveragePooling2D.

Images are (R, b, H, W, C). Output sizes follow Keras: "valid" gives floor((n - k) / s) + 1;
"same" gives ceil(n / s), padding (out - 1) s + k - n zeros split as evenly as possible, the
extra one after.

Conv2D with kernel (R, kh, kw, C, F):
    patches P (R, b*H'*W', kh*kw*C), the input windows copied once per batch
    (numpy.lib.stride_tricks.sliding_window_view), then z = P @ K (one GEMM over all replicas,
    a plain 2-D GEMM for R = 1), a = activation(z + bias)
    dL/dK = P^T @ delta,  dL/dbias = sum of delta,  dL/dP = delta @ K^T, and dL/dx is the
    scatter-add of dL/dP over the same windows (col2im: one strided add per kernel offset).
The patch buffer is reused for dL/dP, so a Conv2D holds one (R, b, H', W', kh*kw*C) buffer.

Pooling, window p x p, stride s: max keeps each window's maximum and routes its gradient to
the first position holding it; average divides by the number of real (unpadded) values in
the window (Keras "same" semantics).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from . import kernels
from .activations import Activation, get_activation
from .initializers import Initializer, get_initializer
from .layers import Layer, add_penalty_gradient, check_penalties, kernel_penalty, positive_int
from .ops import Op, OpContext, emit
from .parameters import ParamSpec
from .shapes import Shape, describe

_PADDINGS = ("valid", "same")


def _pair(value, what: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return positive_int(value[0], what), positive_int(value[1], what)


def _padding(value, owner: str) -> str:
    if value not in _PADDINGS:
        raise ValueError(f"{owner}: padding must be 'valid' or 'same', got {value!r}")
    return value


def _image(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"{what} needs (height, width, channels) images, got {describe(shape)}")
    return shape[0], shape[1], shape[2]


class Geometry:
    """Window geometry on (H, W): output size, padding before/after, per axis."""

    def __init__(
        self, size: tuple[int, int], window: tuple[int, int], strides: tuple[int, int], padding: str
    ):
        self.size, self.window, self.strides = size, window, strides
        self.out: list[int] = []
        self.pads: list[tuple[int, int]] = []
        for n, k, s in zip(size, window, strides):
            if padding == "valid":
                self.out.append((n - k) // s + 1 if n >= k else 0)
                self.pads.append((0, 0))
            else:
                o = -(-n // s)
                total = max((o - 1) * s + k - n, 0)
                self.out.append(o)
                self.pads.append((total // 2, total - total // 2))
        self.padded = any(p != (0, 0) for p in self.pads)
        self.padded_size = tuple(n + a + b for n, (a, b) in zip(size, self.pads))

    def check(self, what: str, channels: int) -> None:
        (H, W), (kh, kw) = self.size, self.window
        if 0 in self.out:
            raise ValueError(f"{what} {kh}x{kw} is larger than its input {H}x{W}x{channels}")

    def interior(self) -> tuple[slice, ...]:
        """Index of the unpadded input inside a padded (R, b, H+, W+, C) buffer."""
        (top, _), (left, _) = self.pads
        H, W = self.size
        return (slice(None), slice(None), slice(top, top + H), slice(left, left + W))

    def offset(self, i: int, j: int) -> tuple[slice, ...]:
        """Index of the input values at window offset (i, j) of every output position."""
        (Ho, Wo), (sh, sw) = self.out, self.strides
        return (
            slice(None),
            slice(None),
            slice(i, i + sh * (Ho - 1) + 1, sh),
            slice(j, j + sw * (Wo - 1) + 1, sw),
        )


COMPILED_MIN_MULTIPLY_ADDS = 1 << 23
"""Multiply-adds of a stride-1 Conv2D pass, over all replicas and rows, from which it runs on
compiled kernels (conv_compiled.py); below it, loading them (about a second per process)
costs more than they save."""
COMPILED_MIN_VALUES = 1 << 18
"""Input values of a MaxPool2D pass from which it runs on compiled kernels."""


# -- Conv2D -----------------------------------------------------------------------------------
class Conv2D(Layer):
    """2-D convolution of channels-last images with `filters` kernels of kernel_size."""

    kind = "conv2d"

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        activation="identity",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        l1: float = 0.0,
        l2: float = 0.0,
        use_bias: bool = True,
        *,
        name: str | None = None,
        inputs: Sequence[str] | None = None,
    ):
        super().__init__(name, inputs)
        self.filters = positive_int(filters, "Conv2D: filters")
        self.kernel_size = _pair(kernel_size, "Conv2D: kernel_size")
        self.strides = _pair(strides, "Conv2D: strides")
        self.padding = _padding(padding, "Conv2D")
        self.activation: Activation = get_activation(activation)
        self.kernel_initializer: Initializer = get_initializer(kernel_initializer)
        self.bias_initializer: Initializer = get_initializer(bias_initializer)
        self.l1, self.l2 = check_penalties("Conv2D", l1, l2)
        self.use_bias = bool(use_bias)

    def _config(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": self.activation.get_config(),
            "kernel_initializer": self.kernel_initializer.get_config(),
            "bias_initializer": self.bias_initializer.get_config(),
            "l1": self.l1,
            "l2": self.l2,
            "use_bias": self.use_bias,
        }

    def geometry(self, input_shape: Shape) -> Geometry:
        H, W, _ = _image(input_shape, "conv2d")
        return Geometry((H, W), self.kernel_size, self.strides, self.padding)

    def output_shape(self, input_shapes):
        shape = self._single(input_shapes)
        geometry = self.geometry(shape)
        geometry.check("kernel", shape[2])
        return (*geometry.out, self.filters)

    def param_specs(self, input_shapes):
        kh, kw = self.kernel_size
        C = input_shapes[0][2]
        specs = [ParamSpec("kernel", (kh, kw, C, self.filters), decays=True)]
        if self.use_bias:
            specs.append(ParamSpec("bias", (self.filters,)))
        return specs

    def _fans(self, input_shapes) -> tuple[int, int]:
        kh, kw = self.kernel_size
        return kh * kw * input_shapes[0][2], kh * kw * self.filters

    def initialize(self, views, input_shapes, rng):
        fan_in, fan_out = self._fans(input_shapes)
        kernel = views["kernel"]
        kernel[...] = self.kernel_initializer((fan_in, self.filters), fan_in, fan_out, rng).reshape(
            kernel.shape
        )
        if self.use_bias:
            views["bias"][...] = self.bias_initializer((self.filters,), fan_in, fan_out, rng)

    def penalty(self, views):
        return kernel_penalty(views["kernel"], self.l1, self.l2)

    def multiply_adds(self, input_shapes, output_shape):
        return math.prod(output_shape) * self._fans(input_shapes)[0]

    def buffer_elements(self, input_shapes, output_shape):
        geometry = self.geometry(input_shapes[0])
        patches = math.prod(geometry.out) * self._fans(input_shapes)[0]
        return patches + math.prod(output_shape) + math.prod((*geometry.padded_size, input_shapes[0][2]))

    def compiled(self, replicas: int, rows: int, input_shapes: list[Shape]) -> bool:
        """Whether ops over (replicas, rows) run on compiled kernels (conv_compiled.py): stride 1,
        numba, and enough multiply-adds per pass to pay for the kernels."""
        if self.strides != (1, 1):
            return False
        work = replicas * rows * self.multiply_adds(input_shapes, self.output_shape(input_shapes))
        return kernels.pays(work, COMPILED_MIN_MULTIPLY_ADDS)

    def rows_per_product(self, rows, replicas, input_shapes):
        if not self.compiled(replicas, rows, input_shapes):
            return rows
        from .conv_compiled import chunk_images

        geometry = self.geometry(input_shapes[0])
        return chunk_images(math.prod(geometry.out), self._fans(input_shapes)[0] + 1, 4, rows, replicas, 1)

    def make_op(self, ctx):
        if self.compiled(ctx.replicas, ctx.width, ctx.input_shapes):
            from .conv_compiled import CompiledConv2DOp

            return CompiledConv2DOp(self, ctx)
        return Conv2DOp(self, ctx)


class Conv2DOpBase(Op):
    """What both Conv2D ops share: geometry, activation and the kernel/bias views
    (R, kh*kw*C [+1], F)."""

    def __init__(self, layer: Conv2D, ctx: OpContext):
        super().__init__(ctx)
        R = ctx.replicas
        H, W, C = ctx.input_shapes[0]
        self.input_shape = (H, W, C)
        self.geometry = layer.geometry(ctx.input_shapes[0])
        (kh, kw), F = layer.kernel_size, layer.filters
        self.kh, self.kw, self.C, self.F = kh, kw, C, F
        self.columns = kh * kw * C
        self.activation = layer.activation
        self.use_bias = layer.use_bias
        self.l1, self.l2 = layer.l1, layer.l2
        self.K = ctx.params["kernel"]
        self.K_t = self.K.reshape(R, self.columns, F).swapaxes(1, 2)
        self.gK = ctx.grads.get("kernel")
        # The bias is folded into the GEMMs: patches get a column of ones and the kernel
        # matrix a last row, the bias, which follows the kernel in the parameter buffer. So
        # z = [P 1] @ [K; b] and [dK; db] = [P 1]^T @ delta, with no separate bias passes.
        self.width_columns = self.columns + (1 if self.use_bias else 0)
        self.KB = _with_next_row(self.K, ctx.params.get("bias"), self.width_columns)
        self.gKB = (
            None if self.gK is None else _with_next_row(self.gK, ctx.grads.get("bias"), self.width_columns)
        )


class Conv2DOp(Conv2DOpBase):
    """Conv2D on NumPy: im2col of the whole batch and one GEMM per replica."""

    def __init__(self, layer: Conv2D, ctx: OpContext):
        super().__init__(layer, ctx)
        R, b = ctx.replicas, ctx.width
        g, C, (kh, kw), F = self.geometry, self.C, (self.kh, self.kw), self.F
        Ho, Wo = g.out
        self.padded = ctx.zeros(R, b, *g.padded_size, C) if g.padded else None
        self.patch_rows = ctx.zeros(R, b, Ho, Wo, self.width_columns)
        self.patch_rows[..., self.columns :] = 1.0
        self.patches = self.patch_rows[..., : self.columns].reshape(R, b, Ho, Wo, kh, kw, C)
        self.out = ctx.zeros(R, b, Ho, Wo, F)
        # With stride 1, dL/dx is the correlation of the zero-padded delta with the flipped
        # kernel: an im2col of delta and one GEMM, cheaper than dL/dP and its scatter-add.
        self.correlate = g.strides == (1, 1)
        self.delta_padded: np.ndarray | None = None

    def _allocate_correlation(self, ctx_dtype) -> None:
        R, b = self.replicas, self.width
        (H, W, C), (kh, kw), F = self.input_shape, (self.kh, self.kw), self.F
        (top, _), (left, _) = self.geometry.pads
        Ho, Wo = self.geometry.out
        self.delta_padded = np.zeros((R, b, H + kh - 1, W + kw - 1, F), ctx_dtype)
        before_h, before_w = kh - 1 - top, kw - 1 - left
        self.delta_interior = (
            slice(None),
            slice(None),
            slice(before_h, before_h + Ho),
            slice(before_w, before_w + Wo),
        )
        self.delta_patches = np.zeros((R, b, H, W, kh, kw, F), ctx_dtype)
        self.kernel_back = np.zeros((R, kh, kw, F, C), ctx_dtype)

    def _im2col(self, x: np.ndarray, n: int) -> np.ndarray:
        g = self.geometry
        source = x
        if self.padded is not None:
            source = self.rows(self.padded, n)
            source[g.interior()] = x
        windows = sliding_window_view(source, (self.kh, self.kw), axis=(2, 3))
        sh, sw = g.strides
        Ho, Wo = g.out
        windows = windows[:, :, : sh * (Ho - 1) + 1 : sh, : sw * (Wo - 1) + 1 : sw]
        patches = self.rows(self.patches, n)
        np.copyto(patches, windows.transpose(0, 1, 2, 3, 5, 6, 4))
        return patches

    def forward(self, inputs, run):
        x = inputs[0]
        n = x.shape[1]
        R = self.replicas
        self._im2col(x, n)
        patches = self.rows(self.patch_rows, n).reshape(R, -1, self.width_columns)
        out = self.rows(self.out, n)
        z = out.reshape(R, -1, self.F)
        if self.single:
            np.matmul(patches[0], self.KB[0], out=z[0])
        else:
            np.matmul(patches, self.KB, out=z)
        if self.is_output and run.logits is not None:
            np.copyto(run.logits, out)
        self.activation.forward(out, out=out)
        return out

    def backward(self, grad, targets):
        if not self.is_output:
            self.activation.backward(grad, self.out, out=grad)
        R = self.replicas
        G = grad.reshape(R, -1, self.F)
        P = self.patch_rows.reshape(R, -1, self.width_columns)
        assert self.gKB is not None and self.gK is not None
        if self.single:
            np.matmul(P[0].T, G[0], out=self.gKB[0])
        else:
            np.matmul(P.swapaxes(1, 2), G, out=self.gKB)
        add_penalty_gradient(self.gK, self.K, self.l1, self.l2)
        target = targets[0]
        if target is None:
            return
        if self.correlate:
            self._correlate(grad, target)
            return
        dP = P[..., : self.columns]  # dL/dP into the patch buffer, no longer needed
        if self.single:
            np.matmul(G[0], self.K_t[0], out=dP[0])
        else:
            np.matmul(G, self.K_t, out=dP)
        self._col2im(target)

    def _correlate(self, grad: np.ndarray, target) -> None:
        """dL/dx[r, c] = sum over (i, j) of delta_padded[r + i, c + j] @ K[kh-1-i, kw-1-j]^T."""
        if self.delta_padded is None:
            self._allocate_correlation(grad.dtype)
        assert self.delta_padded is not None
        R = self.replicas
        self.delta_padded[self.delta_interior] = grad
        windows = sliding_window_view(self.delta_padded, (self.kh, self.kw), axis=(2, 3))
        np.copyto(self.delta_patches, windows.transpose(0, 1, 2, 3, 5, 6, 4))
        np.copyto(self.kernel_back, self.K[:, ::-1, ::-1].swapaxes(3, 4))
        D = self.delta_patches.reshape(R, -1, self.kh * self.kw * self.F)
        K = self.kernel_back.reshape(R, -1, self.C)
        buffer, accumulate = target
        if accumulate:
            buffer += np.matmul(D, K).reshape(buffer.shape)
        elif self.single:
            np.matmul(D[0], K[0], out=buffer.reshape(R, -1, self.C)[0])
        else:
            np.matmul(D, K, out=buffer.reshape(R, -1, self.C))

    def _col2im(self, target) -> None:
        buffer, accumulate = target
        g = self.geometry
        direct = self.padded is None and not accumulate
        image = buffer if direct else (self.padded if self.padded is not None else np.empty_like(buffer))
        image[...] = 0
        patches = self.patches
        for i in range(self.kh):
            for j in range(self.kw):
                image[g.offset(i, j)] += patches[:, :, :, :, i, j, :]
        if not direct:
            emit(target, image[g.interior()] if self.padded is not None else image)


def _with_next_row(kernel: np.ndarray, bias: np.ndarray | None, rows: int) -> np.ndarray:
    """(R, rows, F) view of a kernel (R, kh, kw, C, F) as a matrix, extended by one row onto
    the bias (F,) stored right after it (rows = kh*kw*C + 1), or the kernel matrix alone."""
    R, F = kernel.shape[0], kernel.shape[-1]
    matrix = kernel.reshape(R, -1, F)
    if bias is None:
        return matrix
    assert bias.__array_interface__["data"][0] == matrix.__array_interface__["data"][0] + matrix[0].nbytes
    assert R == 1 or bias.strides[0] == matrix.strides[0]
    return as_strided(matrix, shape=(R, rows, F), strides=matrix.strides, writeable=True)


# -- pooling ----------------------------------------------------------------------------------
class _Pool2D(Layer):
    maximum: bool

    def __init__(
        self,
        pool_size=2,
        strides=None,
        padding: str = "valid",
        *,
        name: str | None = None,
        inputs: Sequence[str] | None = None,
    ):
        super().__init__(name, inputs)
        owner = type(self).__name__
        self.pool_size = _pair(pool_size, f"{owner}: pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, f"{owner}: strides")
        self.padding = _padding(padding, owner)

    def _config(self):
        return {"pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding}

    def geometry(self, input_shape: Shape) -> Geometry:
        H, W, _ = _image(input_shape, self.kind)
        return Geometry((H, W), self.pool_size, self.strides, self.padding)

    def output_shape(self, input_shapes):
        shape = self._single(input_shapes)
        geometry = self.geometry(shape)
        geometry.check("pool", shape[2])
        return (*geometry.out, shape[2])

    def buffer_elements(self, input_shapes, output_shape):
        geometry = self.geometry(input_shapes[0])
        return 2 * math.prod(output_shape) + math.prod((*geometry.padded_size, input_shapes[0][2]))

    def make_op(self, ctx):
        values = ctx.replicas * ctx.width * math.prod(ctx.input_shapes[0])
        if self.maximum and kernels.pays(values, COMPILED_MIN_VALUES):
            from .conv_compiled import CompiledMaxPoolOp

            return CompiledMaxPoolOp(self, ctx)
        return PoolOp(self, ctx)


class MaxPool2D(_Pool2D):
    """The maximum of each pool_size window (strides default to pool_size)."""

    kind = "maxpool2d"
    maximum = True


class AveragePooling2D(_Pool2D):
    """The mean of each pool_size window's real values (strides default to pool_size)."""

    kind = "avgpool2d"
    maximum = False


class PoolOp(Op):
    def __init__(self, layer: _Pool2D, ctx: OpContext):
        super().__init__(ctx)
        R, b = ctx.replicas, ctx.width
        self.geometry = g = layer.geometry(ctx.input_shapes[0])
        self.maximum = isinstance(layer, MaxPool2D)
        C = ctx.input_shapes[0][2]
        self.offsets = [g.offset(i, j) for i in range(g.window[0]) for j in range(g.window[1])]
        self.padded = None
        if g.padded:
            self.padded = np.full((R, b, *g.padded_size, C), -np.inf if self.maximum else 0.0, ctx.dtype)
        self.out = ctx.zeros(R, b, *ctx.output_shape)
        self.source: np.ndarray | None = None
        self._buffers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.hits: np.ndarray | None = None
        # Windows that tile the input (stride = window, no padding) touch each value once.
        self.tiles = not g.padded and g.strides == g.window
        (Ho, Wo), (ph, pw) = g.out, g.window
        self.uncovered_rows = (slice(None), slice(None), slice(Ho * ph, None))
        self.uncovered_columns = (slice(None), slice(None), slice(None), slice(Wo * pw, None))
        if not self.maximum:
            # Real (unpadded) values per window, (H', W', 1).
            ones = np.zeros((1, 1, *g.padded_size, 1))
            ones[g.interior()] = 1.0
            count = np.add.reduce([ones[index] for index in self.offsets])[0, 0]
            self.inverse_count = (1.0 / count).astype(ctx.dtype)

    def forward(self, inputs, run):
        x = inputs[0]
        n = x.shape[1]
        source = x
        if self.padded is not None:
            source = self.rows(self.padded, n)
            source[self.geometry.interior()] = x
        out = self.rows(self.out, n)
        first, *rest = self.offsets
        np.copyto(out, source[first])
        self.source = source
        combine = np.maximum if self.maximum else np.add
        for index in rest:
            combine(out, source[index], out=out)
        if not self.maximum:
            out *= self.inverse_count
        return out

    def backward(self, grad, targets):
        target = targets[0]
        if target is None:
            return
        buffer, accumulate = target
        direct = self.padded is None and not accumulate
        assert self.source is not None
        image = buffer if direct else np.zeros(self.source.shape, self.source.dtype)
        if direct and not (self.tiles and self.maximum):
            image[...] = 0
        elif direct:
            image[self.uncovered_rows] = 0
            image[self.uncovered_columns] = 0
        if self.maximum and self.tiles and direct:
            self._tiled_max_backward(grad, image)
        elif self.maximum:
            free, hit, share = self._scratch()
            free[...] = True
            for index in self.offsets:  # the first offset equal to the maximum takes the gradient
                np.equal(self.source[index], self.out, out=hit)
                hit &= free
                np.greater(free, hit, out=free)  # free and not hit
                np.multiply(grad, hit, out=share)
                image[index] += share
        else:
            share = np.multiply(grad, self.inverse_count)
            for index in self.offsets:
                image[index] += share
        if not direct:
            emit(target, image[self.geometry.interior()] if self.padded is not None else image)

    def _tiled_max_backward(self, grad: np.ndarray, image: np.ndarray) -> None:
        """Windows that tile the input: (R, b, H', p, W', q, C) views of the input and its
        gradient, so the maxima are found with one comparison and the gradient written with
        one product; where a window holds its maximum twice, the first position keeps it."""
        assert self.source is not None
        (Ho, Wo), (p, q) = self.geometry.out, self.geometry.window
        R, n, C = image.shape[0], image.shape[1], image.shape[-1]
        tiles = (R, n, Ho, p, Wo, q, C)
        source = self.source[:, :, : Ho * p, : Wo * q].reshape(tiles)
        target = image[:, :, : Ho * p, : Wo * q].reshape(tiles)
        if self.hits is None:
            self.hits = np.empty(tiles, bool)
        hits = self.hits
        np.equal(source, self.out[:, :, :, None, :, None, :], out=hits)
        seen, _, _ = self._scratch()
        np.copyto(seen, hits[:, :, :, 0, :, 0, :])
        for i in range(p):
            for j in range(q):
                if i or j:
                    hit = hits[:, :, :, i, :, j, :]
                    np.greater(hit, seen, out=hit)  # a hit not seen before
                    seen |= hit
        np.multiply(grad[:, :, :, None, :, None, :], hits, out=target)

    def _scratch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._buffers is None:
            self._buffers = (
                np.ones(self.out.shape, bool),
                np.empty(self.out.shape, bool),
                np.empty_like(self.out),
            )
        return self._buffers
