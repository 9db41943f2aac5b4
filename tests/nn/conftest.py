"""Central finite differences for the gradient checks."""

import numpy as np
import pytest

from perceptron_lab.nn import conv, kernels, layers, normalization, optimizers

COMPILED_MINIMUMS = [
    (conv, "COMPILED_MIN_MULTIPLY_ADDS"),
    (conv, "COMPILED_MIN_VALUES"),
    (normalization, "COMPILED_MIN_VALUES"),
    (optimizers, "COMPILED_MIN_PARAMETERS"),
    (layers, "FUSED_SIGMOID_VALUES"),
]
"""The sizes from which ops and optimizers run compiled."""


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f(x) / d x by (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x (float64, in place on x)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f()
        flat[i] = saved - h
        down = f()
        flat[i] = saved
        gflat[i] = (up - down) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), 0 when both vanish."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


@pytest.fixture
def numgrad():
    return central_difference


@pytest.fixture
def relerr():
    return relative_error


@pytest.fixture(
    params=[
        "numpy",
        pytest.param(
            "numba", marks=pytest.mark.skipif(not kernels.available(), reason="numba not installed")
        ),
    ]
)
def kernel_mode(request, monkeypatch):
    """Each test using it runs once with the NumPy path and once with the numba kernels, which
    then run at any size (they otherwise start at a minimum size)."""
    if request.param == "numba":
        compile_any_size(monkeypatch)
    with kernels.using(request.param):
        yield request.param


def compile_any_size(monkeypatch) -> None:
    for module, name in COMPILED_MINIMUMS:
        monkeypatch.setattr(module, name, 0)


@pytest.fixture
def any_size(monkeypatch):
    """Compiled ops and optimizer steps at any size (they otherwise start at a minimum size)."""
    compile_any_size(monkeypatch)
