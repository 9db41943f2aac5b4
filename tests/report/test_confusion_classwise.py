"""Confusion matrices and per-class scores, checked against scikit-learn on predictions.csv."""

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from perceptron_lab.experiment import load_results
from perceptron_lab.report import classwise_figures, confusion_figures, per_class_scores
from perceptron_lab.report.confusion import final_epochs, mean_matrix, row_normalized

from .checks import assert_image, assert_labelled


def sklearn_matrices(run_dir, classes):
    """Final-epoch test confusion of each replica from predictions.csv: (R, C, C)."""
    predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"target": str, "predicted": str})
    test = predictions[predictions["split"] == "test"]
    return np.stack(
        [
            confusion_matrix(g["target"], g["predicted"], labels=classes)
            for _, g in test.groupby(["run", "fold"])
        ]
    )


def test_final_matrix_is_the_replica_mean_of_sklearn_confusion(multiclass_run):
    results = load_results(multiclass_run)
    classes = ["a", "b", "c"]
    final = final_epochs(results.confusion[results.confusion["split"] == "test"])
    np.testing.assert_allclose(
        mean_matrix(final, classes), sklearn_matrices(multiclass_run, classes).mean(axis=0)
    )


def test_row_normalized_by_hand():
    matrix = np.array([[2.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 3.0]])
    np.testing.assert_allclose(row_normalized(matrix), [[0.5, 0.5, 0], [0, 0, 0], [0.25, 0, 0.75]])


def test_recorded_epochs_get_their_own_columns(multiclass_run, tmp_path):
    (plot,) = confusion_figures(load_results(multiclass_run))
    axes = plot.figure.axes
    assert len(axes) == 8  # counts and row-normalized at epochs 0, 4, 8 and the final 12
    titles = [ax.get_title() for ax in axes]
    assert titles[:4] == [
        "epoch 0: mean counts",
        "epoch 4: mean counts",
        "epoch 8: mean counts",
        "epoch 12 (final): mean counts",
    ]
    assert titles[7] == "epoch 12 (final): row-normalized"
    final = mean_matrix(final_epochs(load_results(multiclass_run).confusion), ["a", "b", "c"])
    labels = sorted(t.get_text() for t in axes[3].texts)  # only the non-zero cells are labelled
    assert labels == sorted(format(v, ".3g") for v in final[final > 0])
    for ax in axes:
        assert_labelled(ax)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert_image(plot.save(tmp_path, "png"))


def test_one_figure_per_test_split_and_none_for_regression(noise_run, regression_run):
    plots = confusion_figures(load_results(noise_run))
    assert [p.name for p in plots] == [
        "confusion_test",
        "confusion_test_noise_0.3",
        "confusion_test_noise_0.5",
    ]
    assert (
        confusion_figures(load_results(noise_run), ["test_noise_0.5"])[0].name == "confusion_test_noise_0.5"
    )
    assert confusion_figures(load_results(regression_run)) == []
    assert classwise_figures(load_results(regression_run)) == []


def test_per_class_scores_match_sklearn(noise_run):
    results = load_results(noise_run)
    classes = ["0", "1", "2"]
    final = final_epochs(results.confusion[results.confusion["split"] == "test"])
    scores = per_class_scores(final, classes)
    predictions = pd.read_csv(noise_run / "predictions.csv", dtype={"target": str, "predicted": str})
    for (run, fold), group in predictions[predictions["split"] == "test"].groupby(["run", "fold"]):
        expected = precision_recall_fscore_support(
            group["target"], group["predicted"], labels=classes, zero_division=0
        )
        mine = scores[(scores["run"] == run) & (scores["fold"] == fold)].set_index("class").loc[classes]
        for i, name in enumerate(["precision", "recall", "f1"]):
            np.testing.assert_allclose(mine[name], expected[i])


def test_classwise_bars(multiclass_run, tmp_path):
    (plot,) = classwise_figures(load_results(multiclass_run))
    (ax,) = plot.figure.axes
    assert_labelled(ax)
    assert len(ax.patches) == 3 * 3  # precision, recall, f1 for each of three classes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["precision", "recall", "f1"]
    assert_image(plot.save(tmp_path, "png"))
