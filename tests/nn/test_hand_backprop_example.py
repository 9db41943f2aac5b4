"""A course's backpropagation worked by hand, recomputed by the engine.

One sigmoid layer without bias, y = W x, z = sigmoid(y), Loss = z1^2 + z2^2, with
W = [[-4, -0.2, 2], [-1, -0.5, -0.3]] and x = (1, -3.1, 1.5). By hand: y = (-0.38, 0.1),
z = (0.406, 0.525), dLoss/dy = 2 z z (1 - z) = (0.196, 0.261) and dLoss/dW = dLoss/dy x^T =
[[0.196, -0.608, 0.294], [0.261, -0.809, 0.392]], each rounded to 3 decimals along the way;
dLoss/dx = W^T dLoss/dy = (-1.045, -0.170, 0.313). The engine's `sse` loss is half the sum of
squares, so with zero targets the hand Loss and its gradients are twice the engine's.
"""

import numpy as np

from perceptron_lab import Dense, Network

W = np.array([[-4.0, -0.2, 2.0], [-1.0, -0.5, -0.3]])
X = np.array([[1.0, -3.1, 1.5]])


def test_the_engine_gives_the_hand_computed_gradients():
    net = Network([Dense(2, "sigmoid", use_bias=False)], input_dim=3, seed=0, dtype="float64")
    net.set_weights([W.T, np.zeros((1, 2))])
    value, grads, x_grad = net.value_and_gradients(X, np.zeros((1, 2)), loss="sse", input_gradient=True)

    np.testing.assert_allclose(net.predict(X)[0, 0], [0.406, 0.525], atol=5e-4)
    np.testing.assert_allclose(2 * value[0], 0.406**2 + 0.525**2, atol=2e-3)
    # The hand values round each intermediate step to 3 decimals: agree within 4e-3.
    np.testing.assert_allclose(2 * grads[0][0].T, [[0.196, -0.608, 0.294], [0.261, -0.809, 0.392]], atol=4e-3)
    np.testing.assert_allclose(2 * x_grad[0, 0], [-1.045, -0.170, 0.313], atol=4e-3)
    np.testing.assert_array_equal(grads[1], 0)  # no bias, no bias gradient


def test_the_exact_values_follow_the_chain_rule():
    net = Network([Dense(2, "sigmoid", use_bias=False)], input_dim=3, seed=0, dtype="float64")
    net.set_weights([W.T, np.zeros((1, 2))])
    _, grads, x_grad = net.value_and_gradients(X, np.zeros((1, 2)), loss="sse", input_gradient=True)
    z = 1 / (1 + np.exp(-(W @ X[0])))
    grad_y = 2 * z * z * (1 - z)
    np.testing.assert_allclose(2 * grads[0][0].T, np.outer(grad_y, X[0]), rtol=1e-12)
    np.testing.assert_allclose(2 * x_grad[0, 0], W.T @ grad_y, rtol=1e-12)
