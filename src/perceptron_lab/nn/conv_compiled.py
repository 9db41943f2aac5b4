"""Conv2D (stride 1) and MaxPool2D ops on compiled kernels, in cache-sized chunks over threads.

The NumPy Conv2DOp (conv.py) builds the patches of the whole (R, b) batch and multiplies them in
one GEMM per replica. For EJ8_Conv's second layer that patch matrix is 7 MiB per replica: it
leaves the caches between the im2col that writes it and the GEMM that reads it, and the GEMM
(N = 16 filters, so little reuse per patch value) runs at a third of what the same product
reaches on data in cache. Here the batch is cut into chunks of a few images per replica; each
chunk's patches are built into a small per-thread buffer and used at once, while they are in
cache:
    forward    P_c = im2col(x_c),  z_c = [P_c 1] @ [K; b],  a_c = activation(z_c)
    backward   delta_c = dL/da_c * activation'(a_c)
               [dK; db] = sum over chunks c, in order, of [P_c 1]^T @ delta_c   (P_c rebuilt)
               dL/dx_c = im2col(padded delta_c) @ flipped K   (the correlation of conv.py)
The chunks are spread over `kernels.threads()` threads when training (inference passes run
one thread: `Network.predict` already runs its row chunks in parallel). Every chunk's sums
are fixed by its own rows, so the numbers do not depend on the thread count or on how many
replicas are stacked.
"""

from __future__ import annotations

import math

import numpy as np

from . import conv, conv_kernels, kernels
from .activations import ReLU
from .conv import Conv2D, Conv2DOpBase, _Pool2D
from .layers import add_penalty_gradient
from .ops import Op, OpContext
from .threads import lane_range, run_lanes

CHUNK_BYTES = 1 << 21
"""Patch bytes per chunk at most: a chunk's patches, delta and output stay in the caches
between the kernels and the GEMMs that use them (a few MiB of L2 and L3 per core)."""
TASKS_PER_LANE = 4
"""Chunks per thread at least (where the batch allows): enough to even out the threads' work,
few enough that handing the GIL between them costs little."""


def chunk_images(pixels: int, columns: int, itemsize: int, rows: int, replicas: int, lanes: int) -> int:
    """Images per chunk of a pass over (replicas, rows): as many as fit CHUNK_BYTES of patches
    (pixels x columns values of itemsize bytes each), but few enough for TASKS_PER_LANE chunks
    per thread; at least one, at most rows."""
    spread = -(-replicas * rows // (TASKS_PER_LANE * lanes))
    return max(1, min(rows, spread, CHUNK_BYTES // (pixels * columns * itemsize)))


class CompiledConv2DOp(Conv2DOpBase):
    """Conv2D with strides (1, 1) on conv_kernels, chunked (see the module docstring)."""

    def __init__(self, layer: Conv2D, ctx: OpContext):
        super().__init__(layer, ctx)
        R, b = ctx.replicas, ctx.width
        (Ho, Wo), (kh, kw), (H, W, C), F = self.geometry.out, (self.kh, self.kw), self.input_shape, self.F
        self.pixels = Ho * Wo
        work = R * b * layer.multiply_adds(ctx.input_shapes, ctx.output_shape)
        self.lanes = kernels.lanes(work, conv.COMPILED_MIN_MULTIPLY_ADDS, ctx.training)
        itemsize = np.dtype(ctx.dtype).itemsize
        self.chunk = chunk_images(self.pixels, self.width_columns, itemsize, b, R, self.lanes)
        # ReLU is applied chunk by chunk in the threads (not on the output layer: the loss
        # hands that one dL/dz).
        self.relu = isinstance(self.activation, ReLU) and not ctx.is_output
        self.out = ctx.zeros(R, b, Ho, Wo, F)
        # Per thread: a chunk's patches (with the bias column of ones) and its delta patches.
        self.scratch = [ctx.zeros(1, self.chunk, Ho, Wo, self.width_columns) for _ in range(self.lanes)]
        for patches in self.scratch:
            patches[..., self.columns :] = 1.0
        self.delta_scratch: list[np.ndarray] | None = None
        self.partials: np.ndarray | None = None  # (R, chunks, kh*kw*C [+1], F)
        self.kernel_back = ctx.zeros(R, kh, kw, F, C)
        (top, _), (left, _) = self.geometry.pads
        self.pads = (top, left)
        self.delta_before = (kh - 1 - top, kw - 1 - left)
        self.x: np.ndarray | None = None
        self.input_size = (H, W)

    def patch_bytes(self, input_gradient: bool = True) -> int:
        """Bytes of the per-thread patch buffers, with those of the delta patches that a
        backward pass computing dL/dx allocates."""
        H, W = self.input_size
        delta = self.lanes * self.chunk * H * W * self.kh * self.kw * self.F * self.out.itemsize
        return sum(buffer.nbytes for buffer in self.scratch) + (delta if input_gradient else 0)

    def _chunks(self, n: int, lane: int):
        """The chunks of n rows per replica that thread `lane` takes: (r, c, start, stop), replica
        r's c-th chunk of images start:stop. Chunk k of all R x chunks is replica k // chunks's
        (k % chunks)-th, and each thread takes a contiguous, fixed range of them."""
        chunks = -(-n // self.chunk)
        for task in range(*lane_range(self.replicas * chunks, self.lanes, lane)):
            r, c = divmod(task, chunks)
            yield r, c, c * self.chunk, min(n, (c + 1) * self.chunk)

    def _patches(self, lane: int, r: int, start: int, stop: int) -> np.ndarray:
        """The chunk's patch matrix (rows, kh*kw*C [+1]) built from x[r, start:stop]."""
        assert self.x is not None
        x = self.x
        rx = 0 if x.shape[0] == 1 else r
        patches = self.scratch[lane][:, : stop - start]
        conv_kernels.im2col(x[rx : rx + 1, start:stop], patches, self.kh, self.kw, 1, 1, *self.pads)
        return patches.reshape(-1, self.width_columns)

    def forward(self, inputs, run):
        x = inputs[0]
        n = x.shape[1]
        self.x = x
        R, F, pixels = self.replicas, self.F, self.pixels
        z = self.out.reshape(R, -1, F)
        flat = self.out.reshape(R, self.width, -1)

        def lane_work(lane: int) -> None:
            for r, _, start, stop in self._chunks(n, lane):
                np.matmul(
                    self._patches(lane, r, start, stop), self.KB[r], out=z[r, start * pixels : stop * pixels]
                )
                if self.relu:
                    conv_kernels.relu_forward(flat[r : r + 1, start:stop])

        run_lanes(self.lanes, lane_work)
        out = self.rows(self.out, n)
        if self.is_output and run.logits is not None:
            np.copyto(run.logits, out)
        if not self.relu:
            self.activation.forward(out, out=out)
        return out

    def backward(self, grad, targets):
        R, F, pixels, n = self.replicas, self.F, self.pixels, self.width
        grad = np.ascontiguousarray(grad)  # G and G_flat below must be views of one buffer
        assert self.gKB is not None and self.gK is not None and self.x is not None
        if not self.is_output and not self.relu:
            self.activation.backward(grad, self.out, out=grad)
        G = grad.reshape(R, -1, F)
        G_flat = grad.reshape(R, n, -1)
        a_flat = self.out.reshape(R, n, -1)
        chunks = -(-n // self.chunk)
        if self.partials is None:
            self.partials = np.empty((R, chunks, self.width_columns, F), self.out.dtype)
        partials = self.partials
        target = targets[0]
        if target is not None:
            if self.delta_scratch is None:
                H, W = self.input_size
                self.delta_scratch = [
                    np.zeros((1, self.chunk, H, W, self.kh, self.kw, F), self.out.dtype)
                    for _ in range(self.lanes)
                ]
            np.copyto(self.kernel_back, self.K[:, ::-1, ::-1].swapaxes(3, 4))
        K_back = self.kernel_back.reshape(R, -1, self.C)

        def lane_work(lane: int) -> None:
            for r, c, start, stop in self._chunks(n, lane):
                if self.relu:
                    conv_kernels.relu_backward(G_flat[r : r + 1, start:stop], a_flat[r : r + 1, start:stop])
                delta = G[r, start * pixels : stop * pixels]
                np.matmul(self._patches(lane, r, start, stop).T, delta, out=partials[r, c])
                if target is not None:
                    self._input_gradient(lane, r, start, stop, grad, K_back[r], target)

        run_lanes(self.lanes, lane_work)
        np.copyto(self.gKB, partials[:, 0])
        for c in range(1, chunks):  # in chunk order: the same sums for any thread count
            self.gKB += partials[:, c]
        add_penalty_gradient(self.gK, self.K, self.l1, self.l2)

    def _input_gradient(self, lane, r, start, stop, grad, kernel_back, target) -> None:
        """dL/dx for images start:stop of replica r: the correlation of the chunk's padded delta
        with the flipped kernel, (rows, kh*kw*F) @ (kh*kw*F, C)."""
        assert self.delta_scratch is not None
        patches = self.delta_scratch[lane][:, : stop - start]
        conv_kernels.correlation_patches(
            grad[r : r + 1, start:stop], patches, self.kh, self.kw, *self.delta_before
        )
        D = patches.reshape(-1, self.kh * self.kw * self.F)
        buffer, accumulate = target
        rows = buffer[r, start:stop].reshape(-1, self.C)
        if accumulate:
            rows += D @ kernel_back
        else:
            np.matmul(D, kernel_back, out=rows)


class CompiledMaxPoolOp(Op):
    """MaxPool2D on conv_kernels: one pass that keeps each window's argmax (uint8), one
    scatter back; the (replica, image) pairs are spread over threads when training."""

    def __init__(self, layer: _Pool2D, ctx: OpContext):
        super().__init__(ctx)
        R, b = ctx.replicas, ctx.width
        self.geometry = g = layer.geometry(ctx.input_shapes[0])
        (top, _), (left, _) = g.pads
        self.settings = (*g.window, *g.strides, top, left)
        self.out = ctx.zeros(R, b, *ctx.output_shape)
        self.where = np.zeros(
            (R, b, *ctx.output_shape), np.uint8 if g.window[0] * g.window[1] <= 255 else np.int32
        )
        self.lanes = kernels.lanes(
            R * b * math.prod(ctx.input_shapes[0]), conv.COMPILED_MIN_VALUES, ctx.training
        )

    def forward(self, inputs, run):
        x = inputs[0]
        n = x.shape[1]
        out, where = self.rows(self.out, n), self.rows(self.where, n)
        pairs = self.replicas * n

        def lane_work(lane: int) -> None:
            conv_kernels.max_pool_forward(x, out, where, *self.settings, *lane_range(pairs, self.lanes, lane))

        run_lanes(self.lanes, lane_work)
        return out

    def backward(self, grad, targets):
        target = targets[0]
        if target is None:
            return
        buffer, accumulate = target
        pairs = self.replicas * self.width

        def lane_work(lane: int) -> None:
            conv_kernels.max_pool_backward(
                grad, self.where, buffer, *self.settings, accumulate, *lane_range(pairs, self.lanes, lane)
            )

        run_lanes(self.lanes, lane_work)
