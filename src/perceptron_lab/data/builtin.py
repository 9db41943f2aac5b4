"""Small built-in datasets of the course: logic gates, 5x7 digits, the logistic map, ej2's regression set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from .bitmap import bitmap_dataset, read_bitmaps
from .dataset import Dataset
from .registry import DatasetParams, register
from .tabular import read_csv_dataset

Encoding = Literal["binary", "bipolar"]


@contextmanager
def packaged_file(name: str) -> Iterator[Path]:
    """A real filesystem path to data/files/<name> shipped inside the package."""
    with resources.as_file(resources.files("perceptron_lab.data").joinpath("files").joinpath(name)) as path:
        yield path


# ---------------------------------------------------------------------------------------------
# Logic gates

GATES = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
}


class GateParams(DatasetParams):
    function: Literal["and", "or", "xor"] = Field("and", description="the logic function of the two inputs")
    encoding: Encoding = Field("bipolar", description="bipolar: inputs and classes -1/+1; binary: 0/1")


@register("gates", GateParams, "classification", "truth table of AND, OR or XOR: 4 samples, 2 inputs")
def load_gates(function: str = "and", encoding: Encoding = "bipolar") -> Dataset:
    """X (4, 2) in {0,1} or {-1,1}: rows (F,F), (F,T), (T,F), (T,T); y (4,) 1 where the gate is true."""
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)
    y = GATES[function](bits[:, 0], bits[:, 1])
    low, high = (-1, 1) if encoding == "bipolar" else (0, 1)
    X = np.where(bits == 1, high, low).astype(np.float32)
    return Dataset(
        X,
        y,
        "classification",
        [str(low), str(high)],
        feature_names=["x1", "x2"],
        meta={"function": function, "encoding": encoding},
    )


# ---------------------------------------------------------------------------------------------
# 5x7 digits


class Digits5x7Params(DatasetParams):
    target: Literal["digit", "parity"] = Field("digit", description="digit: 10 classes; parity: even/odd")
    encoding: Encoding = Field("binary", description="binary: pixels 0/1; bipolar: pixels -1/+1")


@register(
    "digits5x7",
    Digits5x7Params,
    "classification",
    "the digits 0-9 as 5x7 bitmaps: 10 samples, 35 pixels",
    image_shape=(7, 5, 1),
)
def load_digits5x7(target: str = "digit", encoding: Encoding = "binary") -> Dataset:
    """X (10, 35) row-major 7x5 pixels of digits 0..9; y (10,) the digit or its parity (0 even, 1 odd)."""
    with packaged_file("digits5x7.txt") as path:
        images = read_bitmaps(path, rows=7, cols=5)
    labels = list(range(10))
    data = bitmap_dataset(images, labels, encoding, "perceptron_lab/data/files/digits5x7.txt")
    data.meta["target"] = target
    if target == "parity":
        data.y = data.y % 2
        data.classes = ["even", "odd"]
    return data


# ---------------------------------------------------------------------------------------------
# Logistic map


class LogisticMapParams(DatasetParams):
    n_samples: int = Field(200, ge=1, description="number of (previous values -> next value) pairs")
    x0: float = Field(0.2, gt=0, lt=1, description="starting value; 0.25, 0.5 and 0.75 end on a fixed point")
    lags: int = Field(1, ge=1, description="how many previous values are the features")


@register(
    "logistic_map",
    LogisticMapParams,
    "regression",
    "chaotic series x_t = 4 x_{t-1} (1 - x_{t-1}): predict the next value",
)
def load_logistic_map(n_samples: int = 200, x0: float = 0.2, lags: int = 1) -> Dataset:
    """X (n_samples, lags): x_{t-lags} .. x_{t-1}; y (n_samples, 1): x_t, for t = lags .. lags+n_samples-1."""
    series = np.empty(n_samples + lags, dtype=np.float64)
    series[0] = x0
    for t in range(1, len(series)):
        series[t] = 4.0 * series[t - 1] * (1.0 - series[t - 1])
    if np.any(series[1:] == series[:-1]):
        raise DataError(f"logistic_map: x0={x0} reaches a fixed point of the map; pick another x0")
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], lags).astype(np.float32)
    y = series[lags:].reshape(-1, 1)
    names = [f"x(t-{k})" for k in range(lags, 0, -1)]
    return Dataset(X, y, "regression", feature_names=names, meta={"x0": x0, "lags": lags})


# ---------------------------------------------------------------------------------------------
# Ej 2 regression set


class EJ2Params(DatasetParams):
    pass


@register(
    "ej2_regression",
    EJ2Params,
    "regression",
    "28 samples, features x1 in [0, 5], x2 in [-3, 3], x3 in [0, 10]; "
    "y = 2 sin(x1) + 0.5 x2^2 + 3 log(1 + x3) + N(0, 0.3^2) noise (seeded generator)",
)
def load_ej2_regression() -> Dataset:
    """X (28, 3) float32, y (28, 1): the packaged data/files/ej2_regression.csv."""
    with packaged_file("ej2_regression.csv") as path:
        data = read_csv_dataset(path, target="y", task="regression")
    data.meta["source"] = "perceptron_lab/data/files/ej2_regression.csv"
    return data
