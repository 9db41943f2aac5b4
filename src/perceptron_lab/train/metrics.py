"""Metrics per replica, vectorized over replicas and samples (no Python loop over samples).

Shapes: R replicas, m rows (padded), mask (R, m) marks the real rows of each replica.
"""

from __future__ import annotations

import numpy as np


def confusion_matrices(
    y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray, n_classes: int
) -> np.ndarray:
    """(R, C, C) int counts, row = true class, column = predicted class, of the masked rows.

    y_true, y_pred: (R, m) int labels in [0, n_classes); mask: (R, m) bool.
    """
    y_true, y_pred, mask = np.asarray(y_true), np.asarray(y_pred), np.asarray(mask, dtype=bool)
    R = y_true.shape[0]
    C = int(n_classes)
    replica = np.broadcast_to(np.arange(R)[:, None], y_true.shape)
    codes = (replica[mask] * C + y_true[mask]) * C + y_pred[mask]
    return np.bincount(codes.astype(np.intp, copy=False), minlength=R * C * C).reshape(R, C, C)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_metrics(cm: np.ndarray) -> dict[str, np.ndarray]:
    """accuracy and macro precision, recall, F1 (each (R,)) from confusion matrices (R, C, C).

    Per class c: precision = tp / predicted_c, recall = tp / true_c,
    F1 = 2 tp / (predicted_c + true_c), each 0 when its denominator is 0; then the plain mean
    over all C classes, as scikit-learn's average="macro", zero_division=0, labels=all classes.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    predicted = cm.sum(axis=1)
    true = cm.sum(axis=2)
    total = cm.sum(axis=(1, 2))
    return {
        "accuracy": _safe_divide(tp.sum(axis=1), total),
        "precision": _safe_divide(tp, predicted).mean(axis=1),
        "recall": _safe_divide(tp, true).mean(axis=1),
        "f1": _safe_divide(2 * tp, predicted + true).mean(axis=1),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """sse, mse, mae and r2 (each (R,)) over the masked rows.

    y_true, y_pred: (R, m, out). sse = sum of squared errors (no 1/2); mse and mae average over
    rows and outputs; r2 = mean over outputs of 1 - SS_res / SS_tot (scikit-learn's r2_score,
    multioutput="uniform_average": an output with SS_tot = 0 scores 1 if predicted exactly,
    else 0). NaN for a replica with no rows.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    weight = np.asarray(mask, dtype=np.float64)[:, :, None]
    n = weight.sum(axis=1)  # (R, 1)
    outputs = y_true.shape[2]
    error = (y_true - y_pred) * weight
    squared = (error * error).sum(axis=1)  # (R, out)
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = squared.sum(axis=1)
        mse = sse / (n[:, 0] * outputs)
        mae = np.abs(error).sum(axis=(1, 2)) / (n[:, 0] * outputs)
        mean = (y_true * weight).sum(axis=1) / n
        centered = (y_true - mean[:, None, :]) * weight
        total = (centered * centered).sum(axis=1)  # (R, out)
        r2 = np.where(
            total > 0, 1 - squared / np.where(total > 0, total, 1), np.where(squared == 0, 1.0, 0.0)
        )
        r2 = np.where(n > 0, r2, np.nan).mean(axis=1)
    return {"sse": sse, "mse": mse, "mae": mae, "r2": r2}
