"""The separating line of single-layer networks on 2-D inputs: frames, grid and GIF."""

import dataclasses

import numpy as np
import pandas as pd
from PIL import Image

from perceptron_lab.experiment import load_results
from perceptron_lab.report import chosen_frames, hyperplane_animation, hyperplane_grid, hyperplane_plots
from perceptron_lab.report.hyperplane import MAX_FRAMES, line_through

from .checks import assert_image, assert_labelled, visible_axes


def test_chosen_frames_listed_or_evenly_spread():
    recorded = np.array([0, 300, 1500, 2100])
    np.testing.assert_array_equal(chosen_frames(recorded, [0, 300, 2100]), [0, 1, 3])
    np.testing.assert_array_equal(chosen_frames(np.arange(10), None), np.arange(10))
    spread = chosen_frames(np.arange(101), None)
    assert len(spread) == MAX_FRAMES and spread[0] == 0 and spread[-1] == 100
    assert np.all(np.diff(spread) > 0)


def test_line_through_by_hand():
    # x0 + x1 - 1 = 0 passes through (1, 0) and (0, 1)
    a, b = line_through(np.array([1.0, 1.0]), -1.0)
    for point in (a, b):
        assert np.isclose(point @ [1.0, 1.0] - 1.0, 0.0)
    np.testing.assert_allclose(a, [0.5, 0.5])  # the foot of the perpendicular from the origin
    a, b = line_through(np.array([2.0, 0.0]), -2.0)  # the vertical line x0 = 1
    assert a[0] == b[0] == 1.0 and a[1] != b[1]
    assert line_through(np.zeros(2), 1.0) is None


def test_final_line_separates_the_points_as_the_predictions_do(binary_run):
    """sign(w·x + b) of the last recorded weights is the predicted class in predictions.csv."""
    results = load_results(binary_run)
    history = results.weights_history
    predictions = pd.read_csv(binary_run / "predictions.csv", dtype={"predicted": str})
    for r, replica in enumerate(results.manifest["replicas"]):
        w, b = history["kernel_0"][-1, r, :, 0], history["bias_0"][-1, r, 0, 0]
        rows = predictions[(predictions["run"] == replica["run"]) & (predictions["fold"] == replica["fold"])]
        positive = rows[["x0", "x1"]].to_numpy() @ w + b > 0
        np.testing.assert_array_equal(positive, rows["predicted"] == "1")


def test_grid_frames_and_their_lines(binary_run, tmp_path):
    results = load_results(binary_run)
    plot = hyperplane_grid(results)
    panels = visible_axes(plot.figure)
    assert len(panels) == 9  # 21 recorded epochs, at most 9 panels
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == "epoch 0" and titles[-1] == "epoch 20"
    epochs = [int(t.split()[1]) for t in titles]
    assert epochs == sorted(epochs)
    assert_labelled(panels[6])  # the bottom-left panel keeps both axis labels
    for ax in panels:
        assert len(ax.get_lines()) == 1  # one output unit: one line
    assert_image(plot.save(tmp_path, "png"))


def test_gif_has_one_frame_per_recorded_epoch(binary_run, tmp_path):
    animation = hyperplane_animation(load_results(binary_run))
    path = animation.save(tmp_path)
    assert path.suffix == ".gif" and path.stat().st_size > 5_000
    with Image.open(path) as gif:
        assert gif.n_frames == 21
        frames = []
        for i in (0, 10, 20):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB"), dtype=int))
    assert all(frame.std() > 0 for frame in frames)
    assert np.abs(frames[0] - frames[2]).sum() > 0  # the line moved


def test_gif_frames_follow_record_epochs_with_one_line_per_unit(multiclass_run, tmp_path):
    results = load_results(multiclass_run)
    animation = hyperplane_animation(results)
    assert animation.n_frames == 3  # record.epochs [0, 4, 8]
    lines = animation.update(2)
    assert len(lines) == 3 + 1 and lines[-1].get_text() == "epoch 8"  # three units' lines and the title
    with Image.open(animation.save(tmp_path)) as gif:
        assert gif.n_frames == 3
    grid = hyperplane_grid(results)
    assert [ax.get_title() for ax in visible_axes(grid.figure)] == ["epoch 0", "epoch 4", "epoch 8"]


def test_long_histories_are_thinned_to_max_frames(binary_run, tmp_path):
    results = load_results(binary_run)
    history = results.weights_history
    repeat = 5  # 105 recorded epochs
    long = {
        "epochs": np.arange(len(history["epochs"]) * repeat),
        "kernel_0": np.repeat(history["kernel_0"], repeat, axis=0),
        "bias_0": np.repeat(history["bias_0"], repeat, axis=0),
    }
    animation = hyperplane_animation(dataclasses.replace(results, weights_history=long))
    with Image.open(animation.save(tmp_path)) as gif:
        assert gif.n_frames == MAX_FRAMES


def test_only_single_layer_two_input_classifiers(noise_run, regression_run, binary_run):
    assert hyperplane_plots(load_results(noise_run)) == []  # no recorded weights, four inputs
    assert hyperplane_plots(load_results(regression_run)) == []
    results = load_results(binary_run)
    two_layers = {**results.weights_history, "kernel_1": results.weights_history["kernel_0"]}
    assert hyperplane_plots(dataclasses.replace(results, weights_history=two_layers)) == []
    assert [p.name for p in hyperplane_plots(results)] == ["hyperplane_frames", "hyperplane"]
