"""Network: a small graph of layers held as R independent replicas trained side by side.

All trainable parameters live in one (R, P) matrix, row r holding replica r's parameters, and
non-trainable state (BatchNorm's moving statistics) in an (R, S) one: `network.parameters`
(parameters.py), whose named views each layer's Op uses. Activations are (R, batch, *shape).
With R = 1 the layers use 2-D views, so a step costs what a plain 2-D implementation costs.
Layers run in listed order; a layer reads the previous layer's output or the layers it names
in `inputs` (shapes.py), which is how skip connections are written.

Seeds: replica r draws its initial weights from np.random.default_rng(entropy_r), layer by
layer (Dense: kernel, then bias; Conv2D the same; BatchNorm draws nothing), so a replica gets
the same weights alone or stacked. With only `seed` given, entropy_r = (seed, r). Dropout
draws from child 2 of the replica's SeedSequence, SeedSequence(entropy_r, spawn_key=(2,)).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import UserError
from .activations import Activation, Identity
from .backprop import BatchPass
from .layers import Dense, Dropout, Layer
from .losses import Loss, get_loss
from .parameters import Parameters
from .shapes import declared_arrays, infer_shapes, layer_inputs, layer_names
from .threads import MAX_THREADS, SMALL_PRODUCT, BlasThreads, run_lanes

Entropy = int | tuple[int, ...]

_DTYPES = ("float32", "float64")
_CHUNK_ELEMENTS = 1 << 22
"""Forward passes on many rows go in chunks of about this many values per buffer (16 MiB float32)."""


def _entropy(value) -> Entropy:
    """A seed entropy: a non-negative int or a tuple of them."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0:
        return int(value)
    if (
        isinstance(value, (tuple, list))
        and value
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= 0 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise ValueError(f"a seed must be a non-negative int or a sequence of them, got {value!r}")


def stream(entropy: Entropy, child: int) -> np.random.Generator:
    """Generator of child `child` of a replica's SeedSequence (1: batch order, 2: dropout)."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(child,)))


def _input_shape(input_dim, input_shape) -> tuple[int, ...]:
    if input_shape is None:
        if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral) or input_dim < 1:
            raise ValueError(f"Network: input_dim must be a positive int, got {input_dim!r}")
        return (int(input_dim),)
    if input_dim is not None:
        raise ValueError("Network: give input_dim or input_shape, not both")
    if isinstance(input_shape, numbers.Integral):
        input_shape = (input_shape,)
    shape = tuple(input_shape)
    if not shape or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and int(s) >= 1 for s in shape
    ):
        raise ValueError(f"Network: input_shape must be positive ints, got {input_shape!r}")
    return tuple(int(s) for s in shape)


class Network:
    """A feed-forward network of `replicas` independent copies.

    layers: Layer instances, run in listed order (see shapes.py for names and inputs);
    input_dim: features per sample (input_shape=(input_dim,)), or input_shape: per-sample shape
    such as (28, 28, 1); replicas: R (default: len(seeds), else 1); seed / seeds: see the
    module docstring; dtype: "float32" (default) or "float64". Shapes are checked (infer_shapes)
    before anything is allocated.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        input_dim: int | None = None,
        *,
        input_shape: Sequence[int] | None = None,
        replicas: int | None = None,
        seed: int | None = None,
        seeds: Sequence | None = None,
        dtype: str = "float32",
        _initialize: bool = True,
    ):
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise ValueError("Network: layers must be a non-empty list of layers")
        if isinstance(layers[-1], Dropout):
            raise ValueError("Network: the last layer cannot be Dropout")
        shape = _input_shape(input_dim, input_shape)
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
        self.input_shape: tuple[int, ...] = shape
        # per-layer output shapes (per sample)
        self.shapes: list[tuple[int, ...]] = infer_shapes(layers, shape)
        self.names: list[str] = layer_names(layers)
        self.graph: list[list[int]] = layer_inputs(layers, self.names)
        self.replicas: int = int(replicas)
        self.dtype: np.dtype = np.dtype(dtype)
        self.seeds: list[Entropy] = seeds
        self._allocate()
        if _initialize:
            self._initialize()
        self.reset_noise()

    # -- shapes and parameters -------------------------------------------------------------
    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[-1]

    @property
    def input_dim(self) -> int:
        """Values per input sample (the flat width of one row of X)."""
        return math.prod(self.input_shape)

    @property
    def output_dim(self) -> int:
        return math.prod(self.output_shape)

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def output_activation(self) -> Activation:
        """The output layer's activation (the identity for a layer without one)."""
        return getattr(self.layers[-1], "activation", Identity())

    @property
    def n_params(self) -> int:
        """Trainable parameters per replica."""
        return self.parameters.n_trainable

    def input_shapes(self, index: int) -> list[tuple[int, ...]]:
        """The per-sample shapes layer `index` reads."""
        shapes = [self.input_shape, *self.shapes]
        return [shapes[n] for n in self.graph[index]]

    def _allocate(self) -> None:
        """The Parameters (values, grads, state) and every layer's views into them."""
        layout = declared_arrays(self.layers, self.input_shape)
        self.parameters = Parameters(layout, self.replicas, self.dtype)
        self._passes: dict[tuple, BatchPass] = {}

    # Views used across the package before Parameters existed; kept for callers and tests.
    @property
    def _params(self) -> np.ndarray:
        return self.parameters.values

    @property
    def _grads(self) -> np.ndarray:
        return self.parameters.grads

    @property
    def kernel_columns(self) -> list[slice]:
        return self.parameters.decay_columns

    def _dense_views(self, views) -> list[dict[str, np.ndarray]]:
        return [views[name] for name, layer in zip(self.names, self.layers) if isinstance(layer, Dense)]

    @property
    def _grad_kernels(self) -> list[np.ndarray]:
        return [v["kernel"] for v in self._dense_views(self.parameters.grad_views)]

    @property
    def _grad_biases(self) -> list[np.ndarray]:
        return [v["bias"] for v in self._dense_views(self.parameters.grad_views)]

    def _initialize(self) -> None:
        views = self.parameters.views
        for r, entropy in enumerate(self.seeds):
            rng = np.random.default_rng(entropy)
            for i, (name, layer) in enumerate(zip(self.names, self.layers)):
                layer.initialize({k: v[r] for k, v in views[name].items()}, self.input_shapes(i), rng)

    def reset_noise(self, seeds: Sequence | None = None) -> None:
        """Restart the per-replica dropout generators (from `seeds` entropies, default the network's)."""
        seeds = self.seeds if seeds is None else [_entropy(s) for s in seeds]
        self._noise_rngs = [stream(entropy, 2) for entropy in seeds]

    def weight_names(self) -> list[str]:
        """Names of get_weights()'s arrays: each kind numbered on its own (kernel_0, bias_0, kernel_1, ...)."""
        return _numbered([entry.name for entry in self.parameters.entries])

    def state_names(self) -> list[str]:
        """Names of get_state()'s arrays (moving_mean_0, moving_variance_0, ...)."""
        return _numbered([entry.name for entry in self.parameters.state_entries])

    def get_weights(self) -> list[np.ndarray]:
        """Every trainable array (R, *shape) in layout order (copies): for Dense layers
        [kernel_0 (R, fan_in, units), bias_0 (R, 1, units), kernel_1, ...].

        A Dense layer with use_bias=False has an all-zero bias that never changes.
        """
        views = self.parameters.views
        return [views[e.layer][e.name].copy() for e in self.parameters.entries]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set the parameters from a get_weights()-style list (each entry may broadcast,
        e.g. one (fan_in, units) kernel for every replica)."""
        self._set(self.parameters.entries, self.weight_names(), weights, "set_weights")
        for name, layer in zip(self.names, self.layers):
            if isinstance(layer, Dense) and not layer.use_bias:
                self.parameters.views[name]["bias"][...] = 0

    def get_state(self) -> list[np.ndarray]:
        """Every non-trainable array (R, *shape) in layout order (copies)."""
        views = self.parameters.views
        return [views[e.layer][e.name].copy() for e in self.parameters.state_entries]

    def set_state(self, state: Sequence[np.ndarray]) -> None:
        """Set the non-trainable state from a get_state()-style list."""
        self._set(self.parameters.state_entries, self.state_names(), state, "set_state")

    def _set(self, entries, names, arrays, what: str) -> None:
        if len(arrays) != len(entries):
            raise ValueError(
                f"{what}: expected {len(entries)} arrays ({', '.join(names)}), got {len(arrays)}"
            )
        views = self.parameters.views
        for entry, name, value in zip(entries, names, arrays):
            view = views[entry.layer][entry.name]
            value = np.asarray(value)
            try:
                np.copyto(view, np.broadcast_to(value, view.shape), casting="same_kind")
            except (ValueError, TypeError):
                raise ValueError(f"{what}: {name} has shape {value.shape}, expected {view.shape}") from None

    def penalty(self) -> np.ndarray:
        """(R,) sum over layers of their l1 / l2 penalties on kernels."""
        total = np.zeros(self.replicas, self.dtype)
        for name, layer in zip(self.names, self.layers):
            value = layer.penalty(self.parameters.views[name])
            if value is not None:
                total += value
        return total

    def summary(self):
        """A Keras-like table of layers, output shapes and parameter counts (summary.py)."""
        from .summary import summarize

        return summarize(self.layers, self.input_shape)

    # -- inference -------------------------------------------------------------------------
    def _as_input(self, X) -> np.ndarray:
        """X as (n, *input_shape) shared by all replicas or (R, n, *input_shape), in the
        network's dtype; flat rows (n, prod(input_shape)) and (R, n, prod) are reshaped."""
        X = np.asarray(X)
        shape, k = self.input_shape, len(self.input_shape)
        flat = (self.input_dim,)
        if X.ndim == k + 1 and X.shape[1:] == shape:
            pass
        elif X.ndim == k + 2 and X.shape[2:] == shape and X.shape[0] == self.replicas:
            pass
        elif k > 1 and X.ndim == 2 and X.shape[1:] == flat:
            X = X.reshape(X.shape[0], *shape)
        elif k > 1 and X.ndim == 3 and X.shape[2:] == flat and X.shape[0] == self.replicas:
            X = X.reshape(*X.shape[:2], *shape)
        else:
            dims = ", ".join(str(s) for s in shape)
            raise ValueError(f"inputs must be (n, {dims}) or ({self.replicas}, n, {dims}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def forward(self, X, training: bool = False, return_logits: bool = False):
        """Outputs (R, n, *out) for X (n, *in) shared by all replicas or (R, n, *in) per replica.

        training: apply dropout (from the network's dropout generators) and BatchNorm batch
        statistics (which also moves its running statistics). return_logits: also return the
        output layer's pre-activation z (R, n, *out).
        """
        if not training:
            return self.predict(X, return_logits=return_logits)
        X = self._as_input(X)
        n = X.shape[-len(self.input_shape) - 1]
        batch = BatchPass(self, n, training=True)
        np.copyto(batch.x, np.broadcast_to(X, batch.x.shape))
        logits = np.empty((self.replicas, n, *self.output_shape), self.dtype) if return_logits else None
        batch._run.logits = logits
        with np.errstate(over="ignore", invalid="ignore"):
            out = batch.forward(self._noise_rngs).copy()
        return (out, logits) if return_logits else out

    def predict(self, X, batch_size: int | None = None, return_logits: bool = False):
        """Outputs (R, n, *out) in inference mode (no dropout, BatchNorm's running statistics),
        computed `batch_size` rows at a time (default: chunk_rows()) in reused buffers; with
        return_logits also the output layer's pre-activation. Large inputs are split into
        chunks run in parallel threads (see threads.py)."""
        X = self._as_input(X)
        k = len(self.input_shape)
        n = X.shape[-k - 1]
        batch_size = min(n, batch_size or self.chunk_rows())
        out = np.empty((self.replicas, n, *self.output_shape), self.dtype)
        logits = np.empty_like(out) if return_logits else None
        if n == 0:
            return (out, logits) if return_logits else out
        blas = BlasThreads() if self.largest_product(batch_size) >= SMALL_PRODUCT else None
        lanes = 1 if blas is None else min(blas.threads, MAX_THREADS)
        if lanes > 1:
            batch_size = min(batch_size, -(-n // lanes))
        starts = range(0, n, batch_size)
        lanes = min(lanes, len(starts))
        rows_axis = X.ndim - k - 1

        def run(lane: int) -> None:
            batch = self._inference_pass(batch_size, lane)
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                for start in starts[lane::lanes]:
                    rows = slice(start, start + batch_size)
                    chunk = X[(slice(None),) * rows_axis + (rows,)]
                    out[:, rows] = batch.infer(chunk, None if logits is None else logits[:, rows])

        with blas.limit(1) if lanes > 1 and blas is not None else contextlib.nullcontext():
            run_lanes(lanes, run)
        return (out, logits) if return_logits else out

    def _inference_pass(self, width: int, lane: int) -> BatchPass:
        key = (width, False, lane)
        if key not in self._passes:
            self._passes[key] = BatchPass(self, width, training=False)
        return self._passes[key]

    def chunk_rows(self) -> int:
        """Rows per chunk in predict: about 4M values (16 MiB in float32) in the largest buffer."""
        widest = max(
            self.input_dim,
            *(
                layer.buffer_elements(self.input_shapes(i), shape)
                for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
            ),
        )
        return max(1, _CHUNK_ELEMENTS // (self.replicas * widest))

    def largest_product(self, rows: int) -> int:
        """Multiply-adds of the largest matrix product of a pass over `rows` rows per replica."""
        return rows * max(
            layer.multiply_adds(self.input_shapes(i), shape)
            for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
        )

    def largest_call(self, rows: int) -> int:
        """Multiply-adds of the largest single matrix product of a training step over `rows`
        rows per replica (ops that cut the batch into chunks multiply a chunk at a time)."""
        return max(
            layer.rows_per_product(rows, self.replicas, self.input_shapes(i))
            * layer.multiply_adds(self.input_shapes(i), shape)
            for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
        )

    def release_buffers(self) -> None:
        """Drop the cached batch buffers (they are rebuilt on demand)."""
        self._passes.clear()

    __call__ = predict

    # -- gradients -------------------------------------------------------------------------
    def batch_pass(self, width: int, training: bool = True) -> BatchPass:
        """The (cached) preallocated pass for batches of `width` rows per replica."""
        key = (width, training)
        if key not in self._passes:
            self._passes[key] = BatchPass(self, width, training)
        return self._passes[key]

    def value_and_gradients(
        self, X, Y, loss="sse", weight=None, input_gradient: bool = False, training: bool = False
    ):
        """Loss and its gradients on one batch, without dropout (for checks and notebooks).

        X (n, *in) or (R, n, *in); Y (n, *out) or (R, n, *out); weight (R, n) or None;
        training: BatchNorm uses the batch's statistics (its running state is left as it is).
        Returns (value (R,) = data loss + layer penalties, grads like get_weights()), plus
        dL/dX (R, n, *in) when input_gradient.
        """
        loss_fn: Loss = get_loss(loss)
        X = self._as_input(X)
        Y = np.asarray(Y, dtype=self.dtype)
        n = X.shape[-len(self.input_shape) - 1]
        target = np.broadcast_to(Y, (self.replicas, n, *self.output_shape))
        batch = BatchPass(self, n, training=training, input_gradient=input_gradient)
        np.copyto(batch.x, np.broadcast_to(X, batch.x.shape))
        self.parameters.grads[...] = 0
        with np.errstate(over="ignore", invalid="ignore"):
            output = batch.forward(update_state=False)
            flat = (self.replicas, n, -1)
            value = loss_fn.value(output.reshape(flat), target.reshape(flat), weight) + self.penalty()
            if weight is None:
                scale = 1.0 / n if loss_fn.per_sample_mean else 1.0
            else:
                scale = loss_fn.sample_scale(weight, self.dtype)
            batch.backward(target, scale, loss_fn)
        views = self.parameters.grad_views
        grads = [views[e.layer][e.name].copy() for e in self.parameters.entries]
        if input_gradient:
            assert batch.x_grad is not None
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
        network.parameters.values[...] = self.parameters.values[index]
        network.parameters.state[...] = self.parameters.state[index]
        return network

    def get_config(self) -> dict[str, Any]:
        """JSON-able description (input shape, layers, seeds, dtype) from which from_config rebuilds it."""
        config: dict[str, Any] = {}
        if len(self.input_shape) == 1:
            config["input_dim"] = self.input_shape[0]
        else:
            config["input_shape"] = list(self.input_shape)
        config.update(
            {
                "replicas": self.replicas,
                "seeds": [list(s) if isinstance(s, tuple) else s for s in self.seeds],
                "dtype": str(self.dtype),
                "layers": [layer.get_config() for layer in self.layers],
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], initialize: bool = True) -> Network:
        """The network `config` describes, with initial weights from its seeds (or, with
        initialize=False, all-zero weights to be set)."""
        layers, shape = cls.layers_from_config(config)
        try:
            return cls(
                layers,
                input_shape=shape,
                replicas=config.get("replicas"),
                seeds=config.get("seeds"),
                dtype=config.get("dtype", "float32"),
                _initialize=initialize,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(f"invalid network config: {error}") from None

    @staticmethod
    def layers_from_config(config: dict[str, Any]) -> tuple[list[Layer], tuple[int, ...]]:
        """The layers and per-sample input shape of a get_config() dict (nothing allocated)."""
        try:
            layers = [Layer.from_config(c) for c in config["layers"]]
            if "input_shape" in config:
                shape = _input_shape(None, config["input_shape"])
            else:
                shape = _input_shape(config["input_dim"], None)
            infer_shapes(layers, shape)
            return layers, shape
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UserError(f"invalid network config: {error}") from None

    def save(self, path_stem) -> None:
        """Write <stem>.json ({"class": "Network", "config": ...}) and <stem>.npz (see io.py)."""
        from .io import save_network

        save_network(self, path_stem)

    def __getstate__(self):
        return {
            "config": self.get_config(),
            "params": self.parameters.values,
            "state": self.parameters.state,
        }

    def __setstate__(self, state):
        restored = Network.from_config(state["config"], initialize=False)
        self.__dict__.update(restored.__dict__)
        self.parameters.values[...] = state["params"]
        if "state" in state:
            self.parameters.state[...] = state["state"]

    def __repr__(self) -> str:
        if len(self.input_shape) == 1 and all(isinstance(layer, (Dense, Dropout)) for layer in self.layers):
            sizes = "-".join(str(s) for s in [self.input_dim, *(layer.units for layer in self.dense_layers)])
        else:
            sizes = " -> ".join(["x".join(map(str, self.input_shape))] + [f"{name}" for name in self.names])
        return f"Network({sizes}, replicas={self.replicas}, dtype={self.dtype})"


def _numbered(names: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    out = []
    for name in names:
        out.append(f"{name}_{counts.get(name, 0)}")
        counts[name] = counts.get(name, 0) + 1
    return out
