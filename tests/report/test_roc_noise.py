"""ROC / PR curves of binary runs and metrics versus noise alpha."""

import re

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from perceptron_lab.experiment import load_results
from perceptron_lab.report import noise_plots, noise_table, roc_plots
from perceptron_lab.report.roc import replica_curves

from .checks import assert_image, assert_labelled, visible_axes


def test_roc_auc_matches_sklearn(binary_run, tmp_path):
    results = load_results(binary_run)
    (plot,) = roc_plots(results)
    roc_ax, pr_ax = plot.figure.axes
    for ax in (roc_ax, pr_ax):
        assert_labelled(ax)
    predictions = pd.read_csv(binary_run / "predictions.csv", dtype={"target": str})
    test = predictions[predictions["split"] == "test"]
    aucs = [roc_auc_score(g["target"] == "1", g["score_1"]) for _, g in test.groupby(["run", "fold"])]
    mean, std = map(float, re.search(r"AUC = ([\d.]+) ± ([\d.]+)", roc_ax.get_title()).groups())
    assert np.isclose(mean, np.mean(aucs), atol=5e-4) and np.isclose(std, np.std(aucs), atol=5e-4)
    assert len(roc_ax.get_lines()) == 4 + 1  # one curve per replica and the chance diagonal
    assert_image(plot.save(tmp_path, "png"))


def test_pr_area_is_close_to_average_precision(binary_run):
    """The trapezoid area under the PR curve is near sklearn's step-wise average precision."""
    results = load_results(binary_run)
    predictions = pd.read_csv(binary_run / "predictions.csv", dtype={"target": str})
    test = predictions[predictions["split"] == "test"]
    for curve, (_, group) in zip(replica_curves(results, "test"), test.groupby(["run", "fold"])):
        assert abs(curve["pr_auc"] - average_precision_score(group["target"] == "1", group["score_1"])) < 0.1


def test_no_roc_for_multiclass_or_regression(multiclass_run, regression_run):
    assert roc_plots(load_results(multiclass_run)) == []
    assert roc_plots(load_results(regression_run)) == []


def test_noise_table_reads_the_final_summary(noise_run):
    table = noise_table(load_results(noise_run))
    assert table["alpha"].tolist() == [0.0, 0.3, 0.5]
    summary = pd.read_csv(noise_run / "summary.csv")
    final = summary[summary["kind"] == "final"]
    for alpha, split in [(0.0, "test"), (0.3, "test_noise_0.3"), (0.5, "test_noise_0.5")]:
        rows = final[final["split"] == split]
        replicas = rows[~rows["run"].isin(["mean", "std"])]["accuracy"]
        row = table[table["alpha"] == alpha].iloc[0]
        assert np.isclose(row["accuracy_mean"], replicas.mean())
        assert np.isclose(row["accuracy_std"], replicas.std(ddof=0))


def test_noise_figure_one_panel_per_metric(noise_run, tmp_path):
    (plot,) = noise_plots(load_results(noise_run))
    panels = visible_axes(plot.figure)
    assert [ax.get_ylabel() for ax in panels] == [
        "accuracy",
        "precision (macro)",
        "recall (macro)",
        "F1 (macro)",
        "SSE",
    ]
    for ax in panels:
        assert_labelled(ax)
        assert ax.get_xlabel() == "noise alpha"
    (only,) = noise_plots(load_results(noise_run), ["f1"])
    assert [ax.get_ylabel() for ax in visible_axes(only.figure)] == ["F1 (macro)"]
    assert_image(plot.save(tmp_path, "png"))


def test_no_noise_figure_without_noise_splits(binary_run):
    assert noise_plots(load_results(binary_run)) == []
