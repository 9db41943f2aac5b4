"""Worked examples of the seeds recomputed by the lab: each returns the lab's figures as one line.

The inputs are the seeds' own numbers (their setup); what the seeds concluded from them is
quoted in configs/seeds/<seed>/expected.yaml, next to these results in docs/reproductions.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from perceptron_lab import Dense, Network
from perceptron_lab.train.metrics import classification_metrics, confusion_matrices

# Seed 001, exercise 2: y = W x (no bias), z = sigmoid(y), Loss = z1^2 + z2^2.
BACKPROP_W = np.array([[-4.0, -0.2, 2.0], [-1.0, -0.5, -0.3]])  # (outputs 2, inputs 3)
BACKPROP_X = np.array([1.0, -3.1, 1.5])

# Seed 003, "Accuracy": eleven true labels and a model that always predicts 0.
ACCURACY_TRUE = np.array([0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0])
ACCURACY_PREDICTED = np.zeros(11, dtype=int)


def _numbers(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in np.ravel(values)) + ")"


def backprop_example() -> str:
    """The seed's two-neuron sigmoid layer: Loss, dLoss/dy, dLoss/dW (rows) and dLoss/dx.

    The lab's `sse` loss is 0.5 sum (z - t)^2; with targets t = 0 the seed's Loss = sum z^2 is
    twice it, and so are its gradients.
    """
    net = Network([Dense(2, "sigmoid", use_bias=False)], input_dim=3, seed=0, dtype="float64")
    net.set_weights([BACKPROP_W.T, np.zeros((1, 2))])
    value, grads, x_grad = net.value_and_gradients(
        BACKPROP_X[None, :], np.zeros((1, 2)), loss="sse", input_gradient=True
    )
    loss, grad_w, grad_x = 2 * value[0], 2 * grads[0][0].T, 2 * x_grad[0, 0]
    z = net.predict(BACKPROP_X[None, :])[0, 0]
    # With y = W x, dLoss/dW[i, j] = dLoss/dy[i] x[j], so dLoss/dy is any column over its x[j].
    grad_y = grad_w[:, 0] / BACKPROP_X[0]
    return (
        f"z = {_numbers(z)}, Loss = {loss:.3f}, dLoss/dy = {_numbers(grad_y)}, "
        f"dLoss/dW = {_numbers(grad_w[0])}, {_numbers(grad_w[1])}, dLoss/dx = {_numbers(grad_x)}"
    )


def accuracy_example() -> str:
    """Accuracy, precision, recall and F1 (macro) of the always-0 model on the seed's 11 labels."""
    cm = confusion_matrices(ACCURACY_TRUE[None], ACCURACY_PREDICTED[None], np.ones((1, 11), bool), 2)
    metrics = {name: float(values[0]) for name, values in classification_metrics(cm).items()}
    return (
        f"accuracy = {metrics['accuracy']:.3f} ({int(np.trace(cm[0]))}/11), "
        f"macro F1 = {metrics['f1']:.3f}, recall of class 1 = {cm[0, 1, 1] / cm[0, 1].sum():.3f}"
    )


CHECKS: dict[str, Callable[[], str]] = {
    "backprop_example": backprop_example,
    "accuracy_example": accuracy_example,
}
