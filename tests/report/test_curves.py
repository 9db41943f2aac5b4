"""Learning curves: one figure per metric, the mean ± std over replicas of every split."""

import shutil

import numpy as np
import pandas as pd

from perceptron_lab.experiment import load_results
from perceptron_lab.report import learning_curves

from .checks import assert_image, assert_labelled


def test_one_labelled_curve_per_recorded_metric(binary_run, tmp_path):
    results = load_results(binary_run)
    plots = learning_curves(results)
    metrics = ["loss", "accuracy", "precision", "recall", "f1", "sse"]
    assert [p.name for p in plots] == [f"curve_{m}" for m in metrics]
    for plot in plots:
        (ax,) = plot.figure.axes
        assert_labelled(ax)
        assert ax.get_xlabel() == "epoch"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation", "test"]
    assert_image(plots[1].save(tmp_path, "png"))


def test_curve_is_the_mean_over_runs_and_folds(binary_run):
    results = load_results(binary_run)
    (plot,) = learning_curves(results, ["accuracy"])
    lines = {line.get_label(): line for line in plot.figure.axes[0].get_lines()}
    epochs = pd.read_csv(binary_run / "epochs.csv")
    for split in ("train", "validation", "test"):
        rows = epochs[epochs["split"] == split]
        per_replica = rows.pivot(
            index="epoch", columns=["run", "fold"], values="accuracy"
        ).to_numpy()  # (E, R)
        assert per_replica.shape == (21, 4)
        np.testing.assert_allclose(lines[split].get_ydata(), per_replica.mean(axis=1))
        np.testing.assert_array_equal(lines[split].get_xdata(), np.arange(21))


def test_band_is_std_over_replicas_clipped_to_the_metric_range(binary_run):
    results = load_results(binary_run)
    (plot,) = learning_curves(results, ["loss"])
    ax = plot.figure.axes[0]
    epochs = pd.read_csv(binary_run / "epochs.csv")
    train = (
        epochs[epochs["split"] == "train"]
        .pivot(index="epoch", columns=["run", "fold"], values="loss")
        .to_numpy()
    )
    band = ax.collections[0].get_paths()[0].vertices  # the train band: lower edge then upper edge
    top = train.mean(axis=1) + train.std(axis=1)
    assert np.isclose(band[:, 1].max(), top.max())
    (accuracy,) = learning_curves(results, ["accuracy"])
    for collection in accuracy.figure.axes[0].collections:
        assert collection.get_paths()[0].vertices[:, 1].max() <= 1.0


def test_noise_splits_are_dashed_after_the_clean_ones(noise_run):
    (plot,) = learning_curves(load_results(noise_run), ["accuracy"])
    styles = {line.get_label(): line.get_linestyle() for line in plot.figure.axes[0].get_lines()}
    assert list(styles) == ["train", "test", "test_noise_0.3", "test_noise_0.5"]
    assert styles["train"] == "-" and styles["test_noise_0.3"] == "--" and styles["test_noise_0.5"] == "--"


def test_regression_metrics(regression_run):
    plots = learning_curves(load_results(regression_run))
    assert [p.name for p in plots] == ["curve_loss", "curve_mse", "curve_sse", "curve_mae", "curve_r2"]
    assert plots[4].figure.axes[0].get_ylabel() == "R²"


def test_early_stopped_replicas_hold_their_last_value(binary_run, tmp_path):
    """Rows after a replica stopped are absent: later epochs average every replica, the
    stopped one with its last value, so the mean does not jump when it drops out."""
    run = tmp_path / "run"
    shutil.copytree(binary_run, run)
    epochs = pd.read_csv(run / "epochs.csv")
    stopped = (epochs["run"] == 0) & (epochs["fold"] == 0) & (epochs["epoch"] > 10)
    epochs[~stopped].to_csv(run / "epochs.csv", index=False)
    (plot,) = learning_curves(load_results(run), ["loss"])
    train = {line.get_label(): line for line in plot.figure.axes[0].get_lines()}["train"]
    kept = epochs[~stopped & (epochs["split"] == "train")]
    others = kept[(kept["epoch"] == 15) & ~((kept["run"] == 0) & (kept["fold"] == 0))]["loss"]
    last = kept[(kept["epoch"] == 10) & (kept["run"] == 0) & (kept["fold"] == 0)]["loss"]
    assert np.isclose(train.get_ydata()[15], pd.concat([others, last]).mean())  # four replicas
    assert "stopped replicas hold their last value" in plot.figure.axes[0].get_title()


def test_losses_spanning_decades_get_a_log_axis(binary_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(binary_run, run)
    epochs = pd.read_csv(run / "epochs.csv")
    epochs["loss"] = 10.0 ** epochs["epoch"]  # a diverging run
    epochs.loc[epochs["epoch"] == 20, "loss"] = np.inf
    epochs.to_csv(run / "epochs.csv", index=False)
    (plot,) = learning_curves(load_results(run), ["loss"])
    assert plot.figure.axes[0].get_yscale() == "log"
    (accuracy,) = learning_curves(load_results(run), ["accuracy"])
    assert accuracy.figure.axes[0].get_yscale() == "linear"
    assert_image(plot.save(tmp_path, "png"))


def test_stopped_replicas_hold_their_last_value():
    import pandas as pd

    from perceptron_lab.report.inputs import held_after_stopping

    epochs = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1],
            "fold": 0,
            "seed": [0, 0, 0, 1, 1],
            "epoch": [0, 1, 2, 0, 1],  # run 1 stopped after epoch 1
            "split": "train",
            "loss": [1.0, 0.5, 0.4, 2.0, 1.5],
        }
    )
    held, any_held = held_after_stopping(epochs, "loss")
    assert any_held
    means = held.groupby("epoch")["loss"].mean()
    assert means.tolist() == [1.5, 1.0, (0.4 + 1.5) / 2]  # no jump to 0.4 at epoch 2
    assert not held_after_stopping(epochs[epochs["run"] == 0], "loss")[1]


def test_loss_band_never_goes_below_zero(binary_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(binary_run, run)
    epochs = pd.read_csv(run / "epochs.csv")
    first = (epochs["run"] == epochs["run"].min()) & (epochs["fold"] == epochs["fold"].min())
    epochs["loss"] = np.where(first, 3.0, 0.0)  # one outlier replica: std larger than the mean
    epochs.to_csv(run / "epochs.csv", index=False)
    (plot,) = learning_curves(load_results(run), ["loss"])
    lows = [c.get_paths()[0].vertices[:, 1].min() for c in plot.figure.axes[0].collections]
    assert min(lows) == 0.0  # mean - std < 0 everywhere, clipped to the loss's lower bound
