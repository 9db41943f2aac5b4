"""Mean-image subtraction, the scikit-learn-style transformer scikit-learn lacks."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import FLOAT_DTYPES, check_array, check_is_fitted


class MeanImageSubtraction(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """x -> x - mean image, the mean image being the per-feature (per pixel and channel) mean
    of the rows it was fitted on.

    Attributes after fit: mean_ (n_features,) float64, n_features_in_.
    """

    def fit(self, X, y=None):
        """X (n_samples, n_features)."""
        X = check_array(X, dtype=FLOAT_DTYPES)
        self.n_features_in_ = X.shape[1]
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        return self

    def _checked(self, X) -> np.ndarray:
        check_is_fitted(self, "mean_")
        X = check_array(X, dtype=FLOAT_DTYPES)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but MeanImageSubtraction is expecting {self.n_features_in_} features as input"
            )
        return X

    def transform(self, X):
        """X (n, n_features) -> X - mean_, in X's float dtype."""
        X = self._checked(X)
        return X - self.mean_.astype(X.dtype)

    def inverse_transform(self, X):
        """X (n, n_features) -> X + mean_."""
        X = self._checked(X)
        return X + self.mean_.astype(X.dtype)
