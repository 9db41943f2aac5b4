"""scikit-learn's bundled datasets and synthetic generators, as Datasets."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .dataset import Dataset
from .registry import DatasetParams, register


def _classification(bunch, **meta) -> Dataset:
    """A sklearn Bunch with data (n, f), target (n,) and target_names -> Dataset."""
    X = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    classes = [str(name) for name in bunch.target_names]
    names = [str(name) for name in bunch.feature_names] if "feature_names" in bunch else None
    return Dataset(
        X, y, "classification", classes, feature_names=names, meta={"source": "scikit-learn", **meta}
    )


class NoParams(DatasetParams):
    pass


@register(
    "iris", NoParams, "classification", "Fisher's iris (scikit-learn): 150 samples, 4 features, 3 species"
)
def load_iris() -> Dataset:
    from sklearn.datasets import load_iris as sk_load

    return _classification(sk_load())


@register(
    "digits",
    NoParams,
    "classification",
    "8x8 handwritten digits (scikit-learn's optdigits test set): 1797 samples, 64 pixels in 0..16, 10 classes",
    image_shape=(8, 8, 1),
)
def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sk_load

    return _classification(sk_load(), image_shape=(8, 8))


@register(
    "breast_cancer",
    NoParams,
    "classification",
    "Wisconsin breast cancer (scikit-learn): 569 samples, 30 features, 2 classes",
)
def load_breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer as sk_load

    return _classification(sk_load())


@register(
    "wine",
    NoParams,
    "classification",
    "wine recognition (scikit-learn): 178 samples, 13 features, 3 cultivars",
)
def load_wine() -> Dataset:
    from sklearn.datasets import load_wine as sk_load

    return _classification(sk_load())


class DiabetesParams(DatasetParams):
    scaled: bool = Field(
        True, description="scikit-learn's mean-centred, unit-norm features (false: raw values)"
    )


@register(
    "diabetes",
    DiabetesParams,
    "regression",
    "diabetes progression (scikit-learn): 442 samples, 10 features, 1 target",
)
def load_diabetes(scaled: bool = True) -> Dataset:
    from sklearn.datasets import load_diabetes as sk_load

    bunch = sk_load(scaled=scaled)
    X = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.float64).reshape(-1, 1)
    return Dataset(
        X, y, "regression", feature_names=list(bunch.feature_names), meta={"source": "scikit-learn"}
    )


# ---------------------------------------------------------------------------------------------
# Synthetic generators: their parameters (the Params models' fields) pass straight through to
# scikit-learn's make_* functions.


class MoonsParams(DatasetParams):
    n_samples: int = Field(200, ge=2, description="total points, split evenly between the two moons")
    noise: float | None = Field(0.1, ge=0, description="std of Gaussian noise added to the points")
    shuffle: bool = Field(True, description="shuffle the generated points")
    random_state: int | None = Field(0, description="seed of the generator (null: different each load)")


@register(
    "moons", MoonsParams, "classification", "two interleaving half circles (sklearn make_moons), 2 features"
)
def load_moons(**params) -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(**params)
    return Dataset(X.astype(np.float32), y.astype(np.int64), "classification", ["0", "1"], ["x1", "x2"])


class CirclesParams(DatasetParams):
    n_samples: int = Field(200, ge=2, description="total points, split between the two circles")
    noise: float | None = Field(0.05, ge=0, description="std of Gaussian noise added to the points")
    factor: float = Field(0.5, gt=0, lt=1, description="inner circle radius / outer circle radius")
    shuffle: bool = Field(True, description="shuffle the generated points")
    random_state: int | None = Field(0, description="seed of the generator (null: different each load)")


@register(
    "circles", CirclesParams, "classification", "a circle inside another (sklearn make_circles), 2 features"
)
def load_circles(**params) -> Dataset:
    from sklearn.datasets import make_circles

    X, y = make_circles(**params)
    return Dataset(
        X.astype(np.float32), y.astype(np.int64), "classification", ["outer", "inner"], ["x1", "x2"]
    )


class BlobsParams(DatasetParams):
    n_samples: int = Field(300, ge=1, description="total points, split evenly between the centers")
    n_features: int = Field(2, ge=1, description="dimensions of each point")
    centers: int = Field(3, ge=1, description="number of blobs (classes)")
    cluster_std: float = Field(1.0, gt=0, description="std of each blob")
    center_box: tuple[float, float] = Field((-10.0, 10.0), description="bounding box of the random centers")
    shuffle: bool = Field(True, description="shuffle the generated points")
    random_state: int | None = Field(0, description="seed of the generator (null: different each load)")


@register(
    "blobs",
    BlobsParams,
    "classification",
    "isotropic Gaussian blobs (sklearn make_blobs), one class per blob",
)
def load_blobs(**params) -> Dataset:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(**params)
    names = [f"x{i + 1}" for i in range(X.shape[1])]
    return Dataset(
        X.astype(np.float32),
        y.astype(np.int64),
        "classification",
        [str(c) for c in range(params["centers"])],
        names,
    )
