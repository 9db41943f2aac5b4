"""Preprocessing fitted on training rows only, and noisy copies of samples.

Scalers are scikit-learn transformers (fit / transform / inverse_transform); the one written
here, the mean-image subtraction scikit-learn lacks, is in mean_image.py. scikit-learn is
imported when a scaler is made, so runs without preprocessing start without it.
"""

from __future__ import annotations

import numpy as np

SCALERS = {
    "none": "identity",
    "minmax": "each feature to [-1, 1]",
    "minmax01": "each feature to [0, 1]",
    "standard": "each feature to zero mean, unit variance",
    "mean_image": "subtract the training mean image (inputs only)",
}
"""Preprocessing kinds a config can name (make_scaler builds them) -> what each does."""
TARGET_SCALERS = ("none", "minmax", "minmax01", "standard")
"""The kinds that also apply to regression targets."""


def make_scaler(kind: str):
    """A fresh, unfitted transformer for a `preprocessing` kind.

    none: identity; minmax: each feature to [-1, 1]; minmax01: to [0, 1]; standard: zero mean,
    unit variance; mean_image: subtract the training mean image.
    """
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    from .mean_image import MeanImageSubtraction

    if kind == "none":
        return FunctionTransformer()  # identity both ways
    if kind == "minmax":
        return MinMaxScaler(feature_range=(-1, 1))
    if kind == "minmax01":
        return MinMaxScaler(feature_range=(0, 1))
    if kind == "standard":
        return StandardScaler()
    if kind == "mean_image":
        return MeanImageSubtraction()
    raise ValueError(f"unknown scaler {kind!r}; known: {', '.join(SCALERS)}")


def add_noise(
    X: np.ndarray, alpha: float, copies: int, rng: np.random.Generator | int | None
) -> tuple[np.ndarray, np.ndarray]:
    """`copies` noisy copies of every row of X: x + N(0, alpha^2) per feature, fresh noise each.

    Args:
        X: (n, f) samples.
        alpha: noise standard deviation (>= 0; 0 gives exact copies).
        copies: copies of each sample (>= 1).
        rng: a numpy Generator, or a seed for one.
    Returns:
        X_noisy (n * copies, f) in X's float dtype (float64 for integer X), and
        source_index (n * copies,) int: X_noisy[i] is a noisy copy of X[source_index[i]].
        Rows come in `copies` blocks of n, each block one noisy pass over X.
    """
    if alpha < 0:
        raise ValueError(f"noise alpha must be >= 0, got {alpha}")
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    rng = np.random.default_rng(rng)
    X = np.asarray(X)
    source_index = np.tile(np.arange(len(X)), copies)
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    noisy = X[source_index].astype(dtype)
    # Draw float64 normals whatever the dtype, so float32 and float64 runs see the same noise.
    noisy += alpha * rng.standard_normal(noisy.shape)
    return noisy, source_index
