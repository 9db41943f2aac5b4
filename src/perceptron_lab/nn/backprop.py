"""A forward and backward pass through a Network's layer graph, with preallocated buffers.

A `BatchPass` serves batches of one width b: one Op per layer (ops.py) holds that layer's
buffers (R, b, *shape). Nodes are numbered 0 (the network input) and i + 1 (layer i's
output); layers run in listed order, so every node is computed before it is read.

The one forward routine, `run`, serves training (`forward`, on the rows gathered into x),
inference (`infer`, on up to b rows shared by all replicas or per replica) and
value_and_gradients. Backward walks the layers in reverse: the loss writes dL/dz of the
output layer (past its activation, fused with softmax / sigmoid where it can be), and each
layer writes dL/d(its inputs) into their nodes' gradient buffers, adding where a node feeds
several layers. Gradient buffers are allocated on the first backward only, so inference
passes hold none. Nothing is allocated per step apart from a few temporaries.
"""

from __future__ import annotations

import numpy as np

from .activations import Identity
from .losses import Loss
from .ops import Op, OpContext, Run, Target


class BatchPass:
    """Forward/backward for batches of `width` rows per replica (see module docstring).

    training: dropout (given per-replica generators) and BatchNorm batch statistics.
    input_gradient: also compute dL/dx into `x_grad` (R, width, *input_shape).
    """

    def __init__(self, network, width: int, training: bool = True, input_gradient: bool = False):
        R, dtype = network.replicas, network.dtype
        self.network = network
        self.width = width
        self.training = training
        self.input_gradient = input_gradient
        self.x = np.zeros((R, width, *network.input_shape), dtype)
        self.graph: list[list[int]] = network.graph
        shapes = [network.input_shape, *network.shapes]
        params = network.parameters
        last = len(network.layers) - 1
        self.ops: list[Op] = []
        for i, (layer, name, nodes) in enumerate(zip(network.layers, network.names, self.graph)):
            context = OpContext(
                replicas=R,
                width=width,
                dtype=dtype,
                training=training,
                input_shapes=[shapes[n] for n in nodes],
                output_shape=shapes[i + 1],
                params=params.views[name],
                grads=params.grad_views[name],
                is_output=i == last,
            )
            self.ops.append(layer.make_op(context))
        self.shapes = shapes
        self._steps = list(zip(self.ops, self.graph))
        self._values: list[np.ndarray | None] = [None] * (len(self.ops) + 1)
        output_layer = network.layers[-1]
        self.output_activation = getattr(output_layer, "activation", Identity())
        self._run = Run(training=training)
        self._grads: list[np.ndarray | None] | None = None
        self.x_grad: np.ndarray | None = None
        self.output: np.ndarray | None = None
        if input_gradient:
            self._allocate_gradients()

    # -- forward ---------------------------------------------------------------------------
    def run(self, x: np.ndarray, run: Run) -> np.ndarray:
        """The output (R, n, *out) for x (R or 1, n, *input_shape), n <= width."""
        values = self._values
        values[0] = x
        for i, (op, nodes) in enumerate(self._steps):
            values[i + 1] = op.forward([values[n] for n in nodes], run)  # type: ignore[misc]
        return values[-1]  # type: ignore[return-value]

    def gather(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Fill x (R, b, *shape) with X[rows] for rows (R, b) (no copy of X)."""
        return X.take(rows, axis=0, out=self.x, mode="clip")

    def forward(self, rngs=None, counts=None, update_state: bool = True) -> np.ndarray:
        """Outputs (R, b, out) for the inputs in `x`.

        rngs: one Generator per replica for dropout masks (None: no dropout); counts: (R,)
        real rows per replica (a replica draws masks, and takes batch statistics, only for
        its real rows, as it would alone), None = all rows; update_state: let a training
        pass move BatchNorm's running statistics.
        """
        run = self._run
        run.rngs, run.counts, run.update_state = rngs, counts, update_state and self.training
        self.output = self.run(self.x, run)
        return self.output

    def infer(self, x: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """Outputs (R, n, out) for up to `width` rows x, (n, *shape) shared by every replica or
        (R, n, *shape); no dropout. logits: optional (R, n, out) array that receives the output
        layer's pre-activation. The result is a view into this pass's buffers."""
        if self.training:
            raise RuntimeError("infer() needs a pass built with training=False")
        x = x[None] if x.ndim == len(self.network.input_shape) + 1 else x
        output = self.run(x, Run(training=False, logits=logits))
        if logits is not None and not hasattr(self.network.layers[-1], "activation"):
            np.copyto(logits, output)
        return output

    # -- backward --------------------------------------------------------------------------
    def _allocate_gradients(self) -> None:
        """dL/d(node) buffers for the nodes that need one, sharing memory where a Dropout,
        Flatten or Reshape is its input's only reader; and each layer's write targets."""
        network, R, width = self.network, self.network.replicas, self.width
        n_nodes = len(self.ops) + 1
        readers: list[list[int]] = [[] for _ in range(n_nodes)]
        for i, nodes in enumerate(self.graph):
            for n in nodes:
                readers[n].append(i)
        wants = [self.input_gradient] + [False] * len(self.ops)
        for i, nodes in enumerate(self.graph):
            has_params = bool(network.parameters.grad_views[network.names[i]])
            wants[i + 1] = has_params or any(wants[n] for n in nodes)
        grads: list[np.ndarray | None] = [None] * n_nodes
        for node in range(n_nodes):
            if not wants[node]:
                continue
            buffer = grads[node]
            if buffer is None:
                buffer = grads[node] = np.zeros((R, width, *self.shapes[node]), self.network.dtype)
            for i in readers[node]:
                op, layer = self.ops[i], network.layers[i]
                if layer.aliases_grad and len(readers[node]) == 1 and wants[i + 1]:
                    grads[i + 1] = buffer.reshape(R, width, *self.shapes[i + 1])
                    op.aliased = True
        self.targets: list[list[Target]] = []
        written = [False] * n_nodes
        for i in reversed(range(len(self.ops))):
            targets: list[Target] = []
            for n in self.graph[i]:
                buffer = grads[n]
                if buffer is None or not wants[i + 1]:
                    targets.append(None)
                    continue
                targets.append((buffer, written[n]))
                written[n] = True
            self.targets.insert(0, targets)
        self.wants = wants
        self._grads = grads
        self.x_grad = grads[0]
        self._backward_steps: list[tuple[Op, np.ndarray, list[Target]]] = [
            (op, grad, self.targets[i])
            for i, op in reversed(list(enumerate(self.ops)))
            if wants[i + 1] and (grad := grads[i + 1]) is not None
        ]

    def backward(self, target: np.ndarray, scale, loss: Loss) -> None:
        """Write dL/dparams of every replica into the network's gradient buffer.

        target: (R, b, out) encoded targets of the rows in `x`; scale: loss.sample_scale of
        the rows' weights, (R, b, 1) or a scalar.
        """
        if self._grads is None:
            self._allocate_gradients()
        grads = self._grads
        assert grads is not None and self.output is not None
        # Losses see (R, b, values): multi-axis outputs are flattened (views of contiguous buffers).
        R, b = self.output.shape[:2]
        loss.delta(
            self.output.reshape(R, b, -1),
            target.reshape(R, b, -1),
            scale,
            self.output_activation,
            out=grads[-1].reshape(R, b, -1),  # type: ignore[union-attr]
        )
        for op, grad, targets in self._backward_steps:
            op.backward(grad, targets)
