"""Network: a stack of layers held as R independent replicas trained side by side.

All parameters live in one (R, P) matrix, row r holding replica r's parameters; each Dense
layer sees views into it, kernel (R, fan_in, units) and bias (R, 1, units). Activations are
(R, batch, features). With R = 1 the network uses 2-D views, so it costs what a plain 2-D
implementation costs.

Seeds: replica r draws its initial weights from np.random.default_rng(entropy_r), layer by
layer (kernel, then bias), so a replica gets the same weights alone or stacked. With only
`seed` given, entropy_r = (seed, r). Dropout draws from child 2 of the replica's
SeedSequence, SeedSequence(entropy_r, spawn_key=(2,)).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import UserError
from .backprop import BatchPass
from .layers import Dense, Dropout, Layer
from .losses import Loss, get_loss
from .threads import MAX_THREADS, SMALL_PRODUCT, BlasThreads, largest_product, pool

Entropy = int | tuple[int, ...]

_DTYPES = ("float32", "float64")
_CHUNK_ELEMENTS = 1 << 22
"""Forward passes on many rows go in chunks of about this many activations (16 MiB float32)."""


def _entropy(value) -> Entropy:
    """A seed entropy: a non-negative int or a tuple of them."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return int(value)
    if (
        isinstance(value, (tuple, list))
        and value
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise ValueError(f"a seed must be a non-negative int or a sequence of them, got {value!r}")


def stream(entropy: Entropy, child: int) -> np.random.Generator:
    """Generator of child `child` of a replica's SeedSequence (1: batch order, 2: dropout)."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(child,)))


class Network:
    """A feed-forward network of `replicas` independent copies.

    layers: Dense and Dropout layers, input first; input_dim: features per sample;
    replicas: R (default: len(seeds), else 1); seed / seeds: see the module docstring;
    dtype: "float32" (default) or "float64".
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        input_dim: int,
        replicas: int | None = None,
        seed: int | None = None,
        seeds: Sequence | None = None,
        dtype: str = "float32",
        *,
        _initialize: bool = True,
    ):
        layers = list(layers)
        if not layers or not all(isinstance(layer, (Dense, Dropout)) for layer in layers):
            raise ValueError("Network: layers must be a non-empty list of Dense and Dropout layers")
        if not isinstance(layers[-1], Dense):
            raise ValueError("Network: the last layer must be Dense")
        if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral) or input_dim < 1:
            raise ValueError(f"Network: input_dim must be a positive int, got {input_dim!r}")
        if str(np.dtype(dtype)) not in _DTYPES:
            raise ValueError(f"Network: dtype must be float32 or float64, got {dtype!r}")
        if seeds is not None:
            seeds = [_entropy(s) for s in seeds]
            if replicas is not None and replicas != len(seeds):
                raise ValueError(f"Network: {len(seeds)} seeds for {replicas} replicas")
            replicas = len(seeds)
        replicas = 1 if replicas is None else replicas
        if isinstance(replicas, bool) or not isinstance(replicas, numbers.Integral) or replicas < 1:
            raise ValueError(f"Network: replicas must be a positive int, got {replicas!r}")
        if seeds is None:
            if seed is None:
                seed = np.random.SeedSequence().entropy  # fresh, but recorded in the config
            seed = _entropy(seed)
            base = seed if isinstance(seed, tuple) else (seed,)
            seeds = [(*base, r) for r in range(replicas)]

        self.layers: list[Layer] = layers
        self._dense: list[Dense] = [layer for layer in layers if isinstance(layer, Dense)]
        self.input_dim = int(input_dim)
        self.replicas = int(replicas)
        self.dtype = np.dtype(dtype)
        self.seeds: list[Entropy] = seeds
        self._allocate()
        if _initialize:
            self._initialize()
        self.reset_noise()

    # -- parameters ------------------------------------------------------------------------
    @property
    def dense_layers(self) -> list[Dense]:
        return self._dense

    @property
    def output_dim(self) -> int:
        return self.dense_layers[-1].units

    @property
    def n_params(self) -> int:
        """Parameters per replica."""
        return self._params.shape[1]

    def _allocate(self) -> None:
        """The (R, P) parameter and gradient matrices and every layer's views into them."""
        shapes, fan_in = [], self.input_dim
        for layer in self.dense_layers:
            shapes.append((fan_in, layer.units))
            fan_in = layer.units
        self._shapes = shapes
        total = sum(fi * fo + fo for fi, fo in shapes)
        R = self.replicas
        self._params = np.zeros((R, total), self.dtype)
        self._grads = np.zeros((R, total), self.dtype)
        self._kernels, self._biases, self._grad_kernels, self._grad_biases = [], [], [], []
        self.kernel_columns: list[slice] = []
        offset = 0
        for fi, fo in shapes:
            k, b = slice(offset, offset + fi * fo), slice(offset + fi * fo, offset + fi * fo + fo)
            offset = b.stop
            self.kernel_columns.append(k)
            self._kernels.append(self._params[:, k].reshape(R, fi, fo))
            self._biases.append(self._params[:, b].reshape(R, 1, fo))
            self._grad_kernels.append(self._grads[:, k].reshape(R, fi, fo))
            self._grad_biases.append(self._grads[:, b].reshape(R, 1, fo))
        single = R == 1
        # Matrix views used by the products: 2-D for one replica (one GEMM), else stacks.
        self._kernel_mats = [k[0] if single else k for k in self._kernels]
        self._kernel_mats_t = [k.T if single else k.swapaxes(1, 2) for k in self._kernel_mats]
        self._bias_mats = [b[0] if single else b for b in self._biases]
        self._grad_kernel_mats = [g[0] if single else g for g in self._grad_kernels]
        self._passes: dict[tuple, BatchPass] = {}

    def _initialize(self) -> None:
        for r, entropy in enumerate(self.seeds):
            rng = np.random.default_rng(entropy)
            for layer, (fi, fo), kernel, bias in zip(
                self.dense_layers, self._shapes, self._kernels, self._biases
            ):
                kernel[r] = layer.kernel_initializer((fi, fo), fi, fo, rng)
                if layer.use_bias:
                    bias[r] = layer.bias_initializer((1, fo), fi, fo, rng)

    def reset_noise(self, seeds: Sequence | None = None) -> None:
        """Restart the per-replica dropout generators (from `seeds` entropies, default the network's)."""
        seeds = self.seeds if seeds is None else [_entropy(s) for s in seeds]
        self._noise_rngs = [stream(entropy, 2) for entropy in seeds]

    def get_weights(self) -> list[np.ndarray]:
        """[kernel_0 (R, fan_in, units), bias_0 (R, 1, units), kernel_1, ...] (copies).

        A layer with use_bias=False has an all-zero bias that never changes.
        """
        weights = []
        for kernel, bias in zip(self._kernels, self._biases):
            weights += [kernel.copy(), bias.copy()]
        return weights

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set the parameters from a get_weights()-style list (each entry may broadcast,
        e.g. one (fan_in, units) kernel for every replica)."""
        views = [v for pair in zip(self._kernels, self._biases) for v in pair]
        if len(weights) != len(views):
            raise ValueError(
                f"set_weights: expected {len(views)} arrays (kernel and bias per Dense layer), got {len(weights)}"
            )
        for i, (view, value) in enumerate(zip(views, weights)):
            value = np.asarray(value)
            try:
                np.copyto(view, np.broadcast_to(value, view.shape), casting="same_kind")
            except (ValueError, TypeError):
                kind = ("kernel", "bias")[i % 2]
                raise ValueError(
                    f"set_weights: {kind}_{i // 2} has shape {value.shape}, expected {view.shape}"
                ) from None
        for layer, bias in zip(self.dense_layers, self._biases):
            if not layer.use_bias:
                bias[...] = 0

    def penalty(self) -> np.ndarray:
        """(R,) sum over Dense layers of l1 sum|kernel| + l2 sum kernel^2."""
        total = np.zeros(self.replicas, self.dtype)
        for layer, kernel in zip(self.dense_layers, self._kernels):
            if layer.l1:
                total += layer.l1 * np.abs(kernel).sum(axis=(1, 2))
            if layer.l2:
                total += layer.l2 * np.square(kernel).sum(axis=(1, 2))
        return total

    # -- inference -------------------------------------------------------------------------
    def _as_input(self, X) -> np.ndarray:
        X = np.asarray(X)
        if (
            X.ndim not in (2, 3)
            or X.shape[-1] != self.input_dim
            or (X.ndim == 3 and X.shape[0] != self.replicas)
        ):
            raise ValueError(
                f"inputs must be (n, {self.input_dim}) or ({self.replicas}, n, {self.input_dim}), got {X.shape}"
            )
        return X.astype(self.dtype, copy=False)

    def forward(self, X, training: bool = False, return_logits: bool = False):
        """Outputs (R, n, out) for X (n, f) shared by all replicas or (R, n, f) per replica.

        training: apply dropout. return_logits: also return the output layer's
        pre-activation z (R, n, out).
        """
        h = self._as_input(X)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._forward(h, training, return_logits)

    def _forward(self, h: np.ndarray, training: bool, return_logits: bool):
        dense_index, logits = 0, None
        last = len(self._kernels) - 1
        for layer in self.layers:
            if isinstance(layer, Dropout):
                if training and layer.rate > 0:
                    h = np.broadcast_to(h, (self.replicas, *h.shape[-2:]))
                    keep = 1.0 - layer.rate
                    mask = np.stack([rng.random(h.shape[1:]) < keep for rng in self._noise_rngs])
                    h = h * (mask / keep).astype(self.dtype)
                continue
            z = np.matmul(h, self._kernels[dense_index])
            if layer.use_bias:
                z += self._biases[dense_index]
            if return_logits and dense_index == last:
                logits = z.copy()
            h = layer.activation.forward(z, out=z)
            dense_index += 1
        return (h, logits) if return_logits else h

    def predict(self, X, batch_size: int | None = None, return_logits: bool = False):
        """Outputs (R, n, out) without dropout, computed `batch_size` rows at a time
        (default: chunks of about 4M activations) in reused buffers; with return_logits also
        the output layer's pre-activation (R, n, out). Large inputs are split into chunks run
        in parallel threads (see threads.py)."""
        X = self._as_input(X)
        n = X.shape[-2]
        batch_size = min(n, batch_size or self.chunk_rows())
        out = np.empty((self.replicas, n, self.output_dim), self.dtype)
        logits = np.empty_like(out) if return_logits else None
        if n == 0:
            return (out, logits) if return_logits else out
        blas = BlasThreads() if largest_product(self._shapes, batch_size) >= SMALL_PRODUCT else None
        lanes = 1 if blas is None else min(blas.threads, MAX_THREADS)
        if lanes > 1:
            batch_size = min(batch_size, -(-n // lanes))
        starts = range(0, n, batch_size)
        lanes = min(lanes, len(starts))

        def run(lane: int) -> None:
            batch = self._inference_pass(batch_size, lane)
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                for start in starts[lane::lanes]:
                    rows = slice(start, start + batch_size)
                    out[:, rows] = batch.infer(X[..., rows, :], None if logits is None else logits[:, rows])

        if lanes == 1:
            run(0)
        else:
            with blas.limit(1):
                pending = [pool().submit(run, lane) for lane in range(1, lanes)]
                run(0)
                for future in pending:
                    future.result()
        return (out, logits) if return_logits else out

    def _inference_pass(self, width: int, lane: int) -> BatchPass:
        key = (width, False, lane)
        if key not in self._passes:
            self._passes[key] = BatchPass(self, width, training=False)
        return self._passes[key]

    def chunk_rows(self) -> int:
        """Rows per chunk in predict: about 4M activations (16 MiB in float32) per layer."""
        widest = max(self.input_dim, *(layer.units for layer in self._dense))
        return max(1, _CHUNK_ELEMENTS // (self.replicas * widest))

    __call__ = predict

    # -- gradients -------------------------------------------------------------------------
    def batch_pass(self, width: int, training: bool = True) -> BatchPass:
        """The (cached) preallocated pass for batches of `width` rows per replica."""
        key = (width, training)
        if key not in self._passes:
            self._passes[key] = BatchPass(self, width, training)
        return self._passes[key]

    def value_and_gradients(self, X, Y, loss="sse", weight=None, input_gradient: bool = False):
        """Loss and its gradients on one batch, without dropout (for checks and notebooks).

        X (n, f) or (R, n, f); Y (n, out) or (R, n, out); weight (R, n) or None.
        Returns (value (R,) = data loss + layer penalties, grads like get_weights()), plus
        dL/dX (R, n, f) when input_gradient.
        """
        loss: Loss = get_loss(loss)
        X = self._as_input(X)
        Y = np.asarray(Y, dtype=self.dtype)
        n = X.shape[-2]
        target = np.broadcast_to(Y, (self.replicas, n, self.output_dim))
        batch = BatchPass(self, n, training=False, input_gradient=input_gradient)
        np.copyto(batch.x, np.broadcast_to(X, batch.x.shape))
        self._grads[...] = 0
        with np.errstate(over="ignore", invalid="ignore"):
            output = batch.forward()
            value = loss.value(output, target, weight) + self.penalty()
            if weight is None:
                scale = 1.0 / n if loss.per_sample_mean else 1.0
            else:
                scale = loss.sample_scale(weight, self.dtype)
            batch.backward(target, scale, loss)
        grads = [g.copy() for pair in zip(self._grad_kernels, self._grad_biases) for g in pair]
        if input_gradient:
            return value, grads, batch.x_grad.copy()
        return value, grads

    # -- replicas, config, files ------------------------------------------------------------
    def select(self, replicas: Sequence[int]) -> Network:
        """A new Network holding copies of the given replicas, in that order."""
        index = [int(r) for r in replicas]
        if not index or any(not 0 <= r < self.replicas for r in index):
            raise ValueError(f"select: replica indices must be in [0, {self.replicas}), got {list(replicas)}")
        config = self.get_config()
        config["replicas"] = len(index)
        config["seeds"] = [config["seeds"][r] for r in index]
        network = Network.from_config(config, initialize=False)
        network._params[...] = self._params[index]
        return network

    def get_config(self) -> dict[str, Any]:
        """JSON-able description (architecture, seeds, dtype) from which from_config rebuilds it."""
        return {
            "input_dim": self.input_dim,
            "replicas": self.replicas,
            "seeds": [list(s) if isinstance(s, tuple) else s for s in self.seeds],
            "dtype": str(self.dtype),
            "layers": [layer.get_config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], initialize: bool = True) -> Network:
        """The network `config` describes, with initial weights from its seeds (or, with
        initialize=False, all-zero weights to be set)."""
        try:
            layers = [Layer.from_config(c) for c in config["layers"]]
            return cls(
                layers,
                config["input_dim"],
                replicas=config.get("replicas"),
                seeds=config.get("seeds"),
                dtype=config.get("dtype", "float32"),
                _initialize=initialize,
            )
        except (KeyError, TypeError) as error:
            raise UserError(f"invalid network config: {error}") from None

    def save(self, path_stem) -> None:
        """Write <stem>.json ({"class": "Network", "config": ...}) and <stem>.npz (kernel_i, bias_i)."""
        from .io import save_network

        save_network(self, path_stem)

    def __getstate__(self):
        return {"config": self.get_config(), "params": self._params}

    def __setstate__(self, state):
        restored = Network.from_config(state["config"], initialize=False)
        self.__dict__.update(restored.__dict__)
        self._params[...] = state["params"]

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in [self.input_dim, *(layer.units for layer in self.dense_layers)])
        return f"Network({sizes}, replicas={self.replicas}, dtype={self.dtype})"
