"""Comparing runs: the config keys that differ, the overlaid metric, the table, path handling."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.experiment import load_results
from perceptron_lab.report import build_report, comparison_figure, comparison_table, differing_keys, flatten
from perceptron_lab.report.compare import choose_metric_split, resolve_run_dir, run_labels

from .checks import assert_image, assert_labelled

LR_001 = "optimizer.learning_rate-0.01__batch_size-4"
LR_01 = "optimizer.learning_rate-0.1__batch_size-16"


def test_flatten_and_differing_keys_by_hand():
    a = {
        "name": "a",
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "architecture": [2, 1],
        "output": {"dir": "x"},
        "record": {"epochs": None},
    }
    b = {
        "name": "b",
        "optimizer": {"name": "adam", "learning_rate": 0.1},
        "architecture": [2, 4, 1],
        "output": {"dir": "y"},
        "record": {"epochs": None},
        "early_stopping": {"patience": 3},
    }
    assert flatten(a) == {
        "name": "a",
        "optimizer.name": "sgd",
        "optimizer.learning_rate": 0.1,
        "architecture": [2, 1],
        "output.dir": "x",
        "record.epochs": None,
    }
    # name and output.* never count; a key only one config has does
    assert differing_keys([a, b]) == ["optimizer.name", "architecture", "early_stopping.patience"]
    assert differing_keys([a, a]) == []


def test_overlay_labels_name_the_differing_keys(sweep_2d, tmp_path):
    runs = [load_results(sweep_2d / LR_001), load_results(sweep_2d / LR_01)]
    assert run_labels(runs, differing_keys([r.config for r in runs])) == [
        "optimizer.learning_rate=0.01, batch_size=4",
        "optimizer.learning_rate=0.1, batch_size=16",
    ]
    plot = comparison_figure(runs, "accuracy", "test")
    (ax,) = plot.figure.axes
    assert_labelled(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "optimizer.learning_rate=0.01, batch_size=4",
        "optimizer.learning_rate=0.1, batch_size=16",
    ]
    epochs = pd.read_csv(sweep_2d / LR_01 / "epochs.csv")
    test = epochs[epochs["split"] == "test"].groupby("epoch")["accuracy"].mean()
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), test.to_numpy())
    assert_image(plot.save(tmp_path, "png"))


def test_identical_configs_are_told_apart_by_directory(binary_run, tmp_path):
    copy = tmp_path / "blobs_binary" / "20240502-000000-00000000"
    shutil.copytree(binary_run, copy)
    labels = run_labels([load_results(binary_run), load_results(copy)], [])
    assert labels == ["blobs_binary/20240501-120000-00000000", "blobs_binary/20240502-000000-00000000"]


def test_comparison_table_has_final_metrics_and_times(sweep_2d):
    runs = [load_results(sweep_2d / LR_001), load_results(sweep_2d / LR_01)]
    table = comparison_table(runs, "test")
    assert list(table.columns[:3]) == ["run", "optimizer.learning_rate", "batch_size"]
    assert {"accuracy", "f1", "wall_time_s", "train_time_s"} <= set(table.columns)
    summary = pd.read_csv(sweep_2d / LR_01 / "summary.csv")
    mean = summary[(summary["run"] == "mean") & (summary["split"] == "test") & (summary["kind"] == "final")]
    assert table.loc[1, "accuracy"].startswith(f"{mean['accuracy'].iloc[0]:.4g} ± ")
    assert (
        table.loc[1, "wall_time_s"]
        == json.loads((sweep_2d / LR_01 / "manifest.json").read_text())["wall_time_s"]
    )


def test_metric_and_split_are_checked(binary_run, multiclass_run):
    runs = [load_results(binary_run), load_results(multiclass_run)]
    assert choose_metric_split(runs, None, None) == ("accuracy", "test")
    with pytest.raises(
        UserError, match=r"unknown metric 'acc'; choose from loss, accuracy, precision, recall, f1, sse"
    ):
        choose_metric_split(runs, "acc", None)
    # validation exists only in the binary run
    with pytest.raises(UserError, match=r"unknown split 'validation'; choose from train, test"):
        choose_metric_split(runs, None, "validation")


def test_parent_folder_means_its_newest_complete_run(binary_run, tmp_path):
    parent = tmp_path / "blobs_binary"
    older, newer, partial = (
        parent / "20240101-000000-aaaaaaaa",
        parent / "20240601-000000-bbbbbbbb",
        parent / "20250101-000000-cccccccc",
    )
    for directory, finished in (
        (older, "2024-01-01T00:00:00"),
        (newer, "2024-06-01T00:00:00"),
        (partial, "2025-01-01T00:00:00"),
    ):
        shutil.copytree(binary_run, directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["finished"] = finished
        (directory / "manifest.json").write_text(json.dumps(manifest))
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    assert resolve_run_dir(parent) == newer
    assert resolve_run_dir(older) == older


def test_paths_that_are_not_results_are_user_errors(tmp_path, binary_run):
    with pytest.raises(UserError, match="no such directory"):
        build_report([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a complete run directory, a sweep directory"):
        build_report([tmp_path / "empty"])
    with pytest.raises(UserError, match="not a complete run directory"):
        build_report([binary_run, tmp_path / "empty"])
    with pytest.raises(UserError, match="format 'jpg' is not one of png, svg"):
        build_report([binary_run], fmt="jpg")


def test_comparison_report_default_folder(sweep_2d, binary_run, tmp_path):
    results = tmp_path / "results"
    first, second = results / "a" / "20240101-000000-aaaaaaaa", results / "b" / "20240101-000000-bbbbbbbb"
    shutil.copytree(binary_run, first)
    shutil.copytree(sweep_2d / LR_01, second)
    html = build_report([first, second.parent], metric="f1", split="test")
    assert (
        html.name == "report.html"
        and html.parent.parent == results
        and html.parent.name.startswith("compare-")
    )
    (figure,) = html.parent.glob("*.png")
    assert figure.name == "compare_test_f1.png"
    assert_image(figure)
    text = html.read_text()
    assert "Comparison: blobs_binary vs blobs_sweep" in text and "wall_time_s" in text
