import numpy as np
import pytest
from sklearn.metrics import (
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)

from perceptron_lab.train.metrics import classification_metrics, confusion_matrices, regression_metrics

R, M, C = 4, 30, 5


def _mask(rng):
    counts = [30, 17, 5, 1]  # uneven, down to a single row
    mask = np.zeros((R, M), bool)
    for r, n in enumerate(counts):
        mask[r, rng.choice(M, n, replace=False)] = True
    return mask


def test_confusion_and_macro_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, C - 1, size=(R, M))  # class C-1 never true: its recall is 0/0
    y_pred = rng.integers(0, C, size=(R, M))
    y_pred[1] = np.where(y_pred[1] == 2, 3, y_pred[1])  # class 2 never predicted in replica 1
    mask = _mask(rng)
    cm = confusion_matrices(y_true, y_pred, mask, C)
    metrics = classification_metrics(cm)
    labels = list(range(C))
    for r in range(R):
        t, p = y_true[r][mask[r]], y_pred[r][mask[r]]
        np.testing.assert_array_equal(cm[r], confusion_matrix(t, p, labels=labels))
        precision, recall, f1, _ = precision_recall_fscore_support(
            t, p, labels=labels, average="macro", zero_division=0
        )
        np.testing.assert_allclose(
            [metrics["accuracy"][r], metrics["precision"][r], metrics["recall"][r], metrics["f1"][r]],
            [np.mean(t == p), precision, recall, f1],
            rtol=1e-12,
        )


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(R, M, 3))
    y_pred = y_true + rng.normal(scale=0.5, size=(R, M, 3))
    mask = _mask(rng)
    mask[3] = False
    mask[3, :2] = True  # two rows, so r2 is defined
    y_true[3, :2, 2] = 1.5  # a constant output: sklearn scores it 0 unless predicted exactly
    values = regression_metrics(y_true, y_pred, mask)
    for r in range(R):
        t, p = y_true[r][mask[r]], y_pred[r][mask[r]]
        np.testing.assert_allclose(values["sse"][r], np.sum((t - p) ** 2))
        np.testing.assert_allclose(values["mse"][r], mean_squared_error(t, p))
        np.testing.assert_allclose(values["mae"][r], mean_absolute_error(t, p))
        np.testing.assert_allclose(values["r2"][r], r2_score(t, p))


def test_perfect_constant_output_scores_one():
    y = np.ones((1, 4, 1))
    assert regression_metrics(y, y.copy(), np.ones((1, 4), bool))["r2"][0] == pytest.approx(
        r2_score(y[0], y[0])
    )
