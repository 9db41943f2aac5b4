"""Sweep directories: keys, best point, heatmap / line / ranking figures, plot_sweep."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.errors import UserError
from perceptron_lab.report import best_point, load_sweep, plot_sweep, sweep_figure
from perceptron_lab.report.sweep_plots import choose_sweep_metric_split, sweep_table

from .checks import assert_image, assert_labelled


def ok_rows(sweep_dir):
    table = pd.read_csv(sweep_dir / "sweep.csv")
    return table[table["status"] == "ok"]


def test_keys_and_choices(sweep_2d):
    sweep = load_sweep(sweep_2d)
    assert sweep.keys == ["optimizer.learning_rate", "batch_size"]
    assert sweep.name == "blobs_sweep" and sweep.status == "complete" and sweep.n_planned == 6
    assert choose_sweep_metric_split(sweep, None, None) == ("accuracy", "test")
    with pytest.raises(UserError, match="unknown metric 'r2'; choose from loss, accuracy"):
        choose_sweep_metric_split(sweep, "r2", None)
    with pytest.raises(UserError, match="unknown split 'validation'; choose from train, test"):
        choose_sweep_metric_split(sweep, None, "validation")


def test_best_point_maximizes_scores_and_minimizes_losses(sweep_2d):
    sweep = load_sweep(sweep_2d)
    rows = ok_rows(sweep_2d)
    assert (
        best_point(sweep, "accuracy", "test")["point"]
        == rows.loc[rows["test_accuracy_mean"].idxmax(), "point"]
    )
    assert best_point(sweep, "loss", "train")["point"] == rows.loc[rows["train_loss_mean"].idxmin(), "point"]


def test_heatmap_over_two_keys_marks_the_best_and_the_failed(sweep_2d, tmp_path):
    sweep = load_sweep(sweep_2d)
    plot = sweep_figure(sweep, "accuracy", "test")
    ax = plot.figure.axes[0]
    assert_labelled(ax)
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("optimizer.learning_rate", "batch_size")
    image = ax.get_images()[0].get_array()
    assert image.shape == (3, 2)
    rows = ok_rows(sweep_2d)
    expected = rows.pivot(index="optimizer.learning_rate", columns="batch_size", values="test_accuracy_mean")
    expected = expected.reindex(index=[0.01, 0.1, 0.5], columns=[4, 16]).to_numpy()
    np.testing.assert_allclose(np.ma.filled(image.astype(float), np.nan), expected)  # (0.5, 16) failed: NaN
    assert "failed" in [t.get_text() for t in ax.texts]
    best = best_point(sweep, "accuracy", "test")
    (box,) = ax.patches
    assert box.get_xy() == (
        [4, 16].index(best["batch_size"]) - 0.5,
        [0.01, 0.1, 0.5].index(best["optimizer.learning_rate"]) - 0.5,
    )
    assert_image(plot.save(tmp_path, "png"))


def test_line_over_one_key_on_a_log_axis(sweep_1d, tmp_path):
    sweep = load_sweep(sweep_1d)
    plot = sweep_figure(sweep, "loss", "test")
    (ax,) = plot.figure.axes
    assert_labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "optimizer.learning_rate"
    line, star = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [0.001, 0.01, 0.1, 1.0])
    best = best_point(sweep, "loss", "test")
    assert star.get_label() == "best" and star.get_xdata()[0] == best["optimizer.learning_rate"]
    assert star.get_ydata()[0] == ok_rows(sweep_1d)["test_loss_mean"].min()
    assert_image(plot.save(tmp_path, "png"))


def test_ranking_over_more_keys(sweep_3d, tmp_path):
    sweep = load_sweep(sweep_3d)
    plot = sweep_figure(sweep, "f1", "test")
    (ax,) = plot.figure.axes
    assert_labelled(ax)
    assert len(ax.patches) == 8
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == sorted(widths, reverse=True)  # best first (at the top)
    assert_image(plot.save(tmp_path, "png"))
    table = sweep_table(sweep, "f1", "test")
    assert list(table.columns[:4]) == ["point", "optimizer.learning_rate", "batch_size", "epochs"]


def test_plot_sweep_writes_into_plots(sweep_1d, tmp_path):
    (path,) = plot_sweep(sweep_1d, tmp_path / "plots", fmt="svg")
    assert path.name == "sweep_line_test_accuracy.svg" and path.read_text().lstrip().startswith("<?xml")


def test_a_sweep_without_finished_points(tmp_path):
    (tmp_path / "sweep.json").write_text(
        json.dumps({"name": "s", "status": "running", "grid": {"epochs": [1, 2]}})
    )
    with pytest.raises(UserError, match="no point of this sweep has finished yet"):
        load_sweep(tmp_path)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("name: [open\n", "unreadable"),
        ("name: !!python/object/apply:os.system ['true']\n", "unreadable"),
        ("name: a\nname: b\n", "duplicate key 'name'"),  # plain yaml.safe_load keeps the last
        ("a: " + "[" * 60 + "]" * 60 + "\n", "nested more than 50 levels"),  # past the config limit
        ("- a\n- list\n", "expected a mapping, found list"),
    ],
)
def test_a_bad_config_yaml_in_a_sweep_is_one_line_naming_it(tmp_path, text, problem):
    (tmp_path / "sweep.csv").write_text("point,status\np0,ok\n")
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(
        UserError, match=rf"^{re.escape(str(tmp_path / 'config.yaml'))}: .*{re.escape(problem)}"
    ):
        load_sweep(tmp_path)
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "report")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert str(tmp_path / "config.yaml") in result.output
