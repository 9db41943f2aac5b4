"""Decision regions drawn from the saved final models (models/run<r>_fold<k>/network.json)."""

import shutil

import numpy as np
import pandas as pd

from perceptron_lab.experiment import load_results
from perceptron_lab.nn import load_network
from perceptron_lab.report import region_plots
from perceptron_lab.report.regions import output_threshold, predict_classes

from .checks import assert_image, assert_labelled, visible_axes


def test_threshold_is_the_middle_of_the_output_range():
    assert output_threshold({"activation": "sigmoid", "output_activation": None}) == 0.5
    assert output_threshold({"activation": "relu", "output_activation": "tanh"}) == 0.0


def test_models_predict_the_classes_of_predictions_csv(binary_run, multiclass_run):
    for run_dir, classes in ((binary_run, ["0", "1"]), (multiclass_run, ["a", "b", "c"])):
        results = load_results(run_dir)
        predictions = pd.read_csv(run_dir / "predictions.csv", dtype={"predicted": str})
        for (run, fold), rows in predictions.groupby(["run", "fold"]):
            model = load_network(run_dir / "models" / f"run{run}_fold{fold}" / "network.json")
            labels = predict_classes(model, rows[["x0", "x1"]].to_numpy(), output_threshold(results.config))
            np.testing.assert_array_equal(np.asarray(classes)[labels], rows["predicted"])


def test_one_panel_per_replica_coloured_by_class(multiclass_run, tmp_path):
    (plot,) = region_plots(load_results(multiclass_run))
    panels = visible_axes(plot.figure)
    assert [ax.get_title() for ax in panels] == [
        "run 0, fold 0",
        "run 0, fold 1",
        "run 1, fold 0",
        "run 1, fold 1",
    ]
    for ax in panels:
        assert_labelled(ax)
        assert len(ax.collections) >= 3  # filled regions, train and test points
    assert_image(plot.save(tmp_path, "png"))


def test_no_regions_without_two_inputs_or_models(noise_run, regression_run, binary_run, tmp_path):
    assert region_plots(load_results(noise_run)) == []
    assert region_plots(load_results(regression_run)) == []
    run = tmp_path / "run"
    shutil.copytree(binary_run, run)
    shutil.rmtree(run / "models")
    assert region_plots(load_results(run)) == []


def test_runs_with_the_older_flat_model_files_still_draw_regions(multiclass_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(multiclass_run, run)
    for directory in [p for p in (run / "models").iterdir() if p.is_dir()]:
        for suffix in (".json", ".npz"):
            (directory / f"network{suffix}").rename(run / "models" / f"{directory.name}{suffix}")
        shutil.rmtree(directory)
    (plot,) = region_plots(load_results(run))
    assert len(visible_axes(plot.figure)) == 4
