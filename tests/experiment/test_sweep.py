"""run_sweep against a stand-in experiment: layout, sweep.csv, failures, resume, plans, plots.

The stand-in returns an ExperimentResult whose numbers are simple functions of the point's
learning rate and batch size, so every sweep.csv cell can be checked by hand. The real trainer
runs in test_sweep_run.py.
"""

import json
import math
import shutil

import pandas as pd
import pytest

from perceptron_lab.config import build_config
from perceptron_lab.errors import ConfigError, UserError
from perceptron_lab.experiment import is_run_dir
from perceptron_lab.experiment import sweep as sweep_module
from perceptron_lab.experiment.grid import point_names
from perceptron_lab.experiment.runner import ExperimentResult
from perceptron_lab.experiment.sweep import run_sweep, sweep_points

BASE = {
    "name": "fake",
    "dataset": {"name": "gates", "function": "xor"},
    "architecture": [2, 3, 1],
    "activation": "tanh",
    "epochs": 5,
    "runs": 2,
    "output": {"plots": False, "save_models": False},
    "sweep": {"grid": {"learning_rate": [0.1, 0.2, 0.3], "batch_size": [1, 4]}},
}
FAILING_RATE = 0.3  # the stand-in raises for this learning rate
DIVERGING_RATE = 0.2  # ... and reports replica 1 diverged (NaN metrics) for this one


def replica_accuracy(learning_rate: float, batch_size: int, run: int) -> float:
    return learning_rate * 2 + batch_size / 10 + run / 100


def fake_result(config) -> ExperimentResult:
    """An ExperimentResult with 2 replicas and hand-made train/test metrics."""
    lr, bs = config.optimizer.learning_rate, config.batch_size
    if lr == FAILING_RATE:
        raise RuntimeError(f"boom at lr={lr}\nsecond line")
    statuses = ["ok", "diverged" if lr == DIVERGING_RATE else "ok"]
    rows = []
    for split, offset in (("train", 0.0), ("test", -0.05)):
        values = []
        for run in range(2):
            accuracy = math.nan if statuses[run] == "diverged" else replica_accuracy(lr, bs, run) + offset
            values.append(accuracy)
            for kind in ("final", "best"):
                rows.append(
                    {
                        "run": run,
                        "fold": 0,
                        "seed": run,
                        "split": split,
                        "kind": kind,
                        "epoch": 5,
                        "status": statuses[run],
                        "accuracy": accuracy,
                        "loss": 1 - accuracy,
                    }
                )
        mean = sum(values) / 2
        std = abs(values[0] - values[1]) / 2
        for label, value, loss in (("mean", mean, 1 - mean), ("std", std, std)):
            for kind in ("final", "best"):
                rows.append(
                    {
                        "run": label,
                        "fold": None,
                        "seed": None,
                        "split": split,
                        "kind": kind,
                        "epoch": 5,
                        "status": None,
                        "accuracy": value,
                        "loss": loss,
                    }
                )
    manifest = {
        "name": config.name,
        "wall_time_s": 0.25,
        "config_hash": config.config_hash(),
        "replicas": [
            {"replica": r, "run": r, "fold": 0, "seed": r, "status": s} for r, s in enumerate(statuses)
        ],
    }
    epochs = pd.DataFrame(
        {
            "run": [0, 1],
            "fold": [0, 0],
            "seed": [0, 1],
            "epoch": [5, 5],
            "split": ["train"] * 2,
            "loss": [0.1, 0.2],
        }
    )
    predictions = pd.DataFrame(
        {
            "run": [0],
            "fold": [0],
            "seed": [0],
            "split": ["test"],
            "index": [0],
            "target": [1],
            "predicted": [1],
        }
    )
    return ExperimentResult(
        config=config,
        manifest=manifest,
        epochs=epochs,
        summary=pd.DataFrame(rows),
        confusion=None,
        predictions=predictions,
        models=[],
    )


@pytest.fixture
def calls(monkeypatch):
    """Replace the trainer by fake_result; returns the list of (learning_rate, batch_size) it ran."""
    ran = []

    def execute(config, progress=None, epoch_hook=None):
        ran.append((config.optimizer.learning_rate, config.batch_size))
        return fake_result(config)

    monkeypatch.setattr(sweep_module, "execute_experiment", execute)
    return ran


@pytest.fixture
def config():
    return build_config(BASE)


def test_sweep_points_merge_the_yaml_block_and_cli_grids(config):
    points = sweep_points(config, ["batch_size=2,8", "activation=tanh,sigmoid"])
    assert len(points) == 3 * 2 * 2
    assert points[0] == {"optimizer.learning_rate": 0.1, "batch_size": 2, "activation": "tanh"}
    assert points[-1] == {"optimizer.learning_rate": 0.3, "batch_size": 8, "activation": "sigmoid"}


@pytest.mark.parametrize(
    "option, fragments",
    [
        (
            "batch_size=4,-1",
            ["sweep point optimizer.learning_rate-0.1__batch_size--1", "batch_size must be >= 1"],
        ),
        (
            "optimizer.learnin_rate=0.1",
            ["unknown key 'optimizer.learnin_rate'", "did you mean 'optimizer.learning_rate'"],
        ),
        ("activation=tanh,tahn", ["activation", "tahn"]),
    ],
)
def test_a_bad_grid_value_is_a_config_error_naming_the_point_and_key(config, option, fragments, calls):
    with pytest.raises(ConfigError) as error:
        sweep_points(config, [option])
    for fragment in fragments:
        assert fragment in str(error.value)
    assert calls == []


def test_a_config_without_a_grid_has_nothing_to_sweep():
    config = build_config({k: v for k, v in BASE.items() if k != "sweep"})
    with pytest.raises(UserError, match="nothing to sweep"):
        sweep_points(config, [])


def test_sweep_writes_a_run_dir_per_point_and_one_csv_row_each(config, calls, tmp_path):
    points = sweep_points(config, [])
    progress = []
    sweep_dir = run_sweep(
        config, points, out_root=tmp_path, progress=lambda event: progress.append((event.done, event.total))
    )

    assert sweep_dir.parent == tmp_path / "fake" and sweep_dir.name.startswith("sweep-")
    assert len(calls) == 6 and progress[-1] == (6, 6)
    names = point_names(points)
    table = pd.read_csv(sweep_dir / "sweep.csv")
    assert table["point"].tolist() == names
    assert list(table.columns[:6]) == [
        "point",
        "optimizer.learning_rate",
        "batch_size",
        "status",
        "wall_time_s",
        "error",
    ]
    for (_, row), point, name in zip(table.iterrows(), points, names):
        lr, bs = point["optimizer.learning_rate"], point["batch_size"]
        assert (row["optimizer.learning_rate"], row["batch_size"]) == (lr, bs)
        if lr == FAILING_RATE:
            assert row["status"] == "failed"
            assert row["error"] == "RuntimeError: boom at lr=0.3 second line"
            assert math.isnan(row["test_accuracy_mean"])
            assert not (sweep_dir / name).exists()
            continue
        assert is_run_dir(sweep_dir / name)
        assert row["wall_time_s"] == 0.25
        a0, a1 = replica_accuracy(lr, bs, 0), replica_accuracy(lr, bs, 1)
        if lr == DIVERGING_RATE:
            assert row["status"] == "diverged"
            assert math.isnan(row["train_accuracy_mean"])
        else:
            assert row["status"] == "ok" and pd.isna(row["error"])
            assert row["train_accuracy_mean"] == pytest.approx((a0 + a1) / 2)
            assert row["train_accuracy_std"] == pytest.approx(0.005)
            assert row["test_accuracy_mean"] == pytest.approx((a0 + a1) / 2 - 0.05)
            assert row["test_loss_mean"] == pytest.approx(1 - ((a0 + a1) / 2 - 0.05))

    plan = json.loads((sweep_dir / "sweep.json").read_text())
    assert plan["status"] == "complete"
    assert plan["grid"] == {"optimizer.learning_rate": [0.1, 0.2, 0.3], "batch_size": [1, 4]}
    assert [p["name"] for p in plan["points"]] == names
    assert "sweep" not in plan["config"] and plan["config"]["epochs"] == 5
    assert (sweep_dir / "config.yaml").is_file()


def test_each_point_directory_holds_that_points_config(config, calls, tmp_path):
    points = sweep_points(config, ["learning_rate=0.1", "batch_size=4"])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    written = json.loads((sweep_dir / point_names(points)[0] / "manifest.json").read_text())
    expected = build_config(
        {**{k: v for k, v in BASE.items() if k != "sweep"}, "learning_rate": 0.1, "batch_size": 4}
    )
    assert written["config_hash"] == expected.config_hash()


def test_resume_redoes_only_incomplete_and_failed_points(config, calls, tmp_path):
    points = sweep_points(config, [])
    names = point_names(points)
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    first = pd.read_csv(sweep_dir / "sweep.csv")

    # Simulate a kill: no sweep.csv yet, point 0 caught mid-write (only its .partial build
    # exists), point 1 without its final manifest.
    (sweep_dir / "sweep.csv").unlink()
    shutil.rmtree(sweep_dir / names[0])
    (sweep_dir / f".{names[0]}.partial").mkdir()
    (sweep_dir / f".{names[0]}.partial" / "epochs.csv").write_text("half")
    (sweep_dir / names[1] / "manifest.json").unlink()
    marker = sweep_dir / names[3] / "kept.txt"
    marker.write_text("complete points are not touched")
    calls.clear()

    resumed = run_sweep(config, points, resume=sweep_dir)
    assert resumed == sweep_dir
    failed = [
        (p["optimizer.learning_rate"], p["batch_size"])
        for p in points
        if p["optimizer.learning_rate"] == FAILING_RATE
    ]
    expected = [(points[i]["optimizer.learning_rate"], points[i]["batch_size"]) for i in (0, 1)] + failed
    assert sorted(calls) == sorted(expected)
    assert marker.read_text() == "complete points are not touched"
    assert not (sweep_dir / f".{names[0]}.partial").exists()
    assert all(
        is_run_dir(sweep_dir / name)
        for name, p in zip(names, points)
        if p["optimizer.learning_rate"] != FAILING_RATE
    )
    timing = ["wall_time_s"]  # of the failed points, measured again
    pd.testing.assert_frame_equal(
        pd.read_csv(sweep_dir / "sweep.csv").drop(columns=timing), first.drop(columns=timing)
    )


def test_resuming_a_finished_sweep_trains_nothing(config, calls, tmp_path):
    points = sweep_points(config, ["learning_rate=0.1"])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    calls.clear()
    run_sweep(config, points, resume=sweep_dir)
    assert calls == []


def test_resume_without_grid_overrides_reuses_the_stored_grid(config, calls, tmp_path):
    points = sweep_points(config, ["learning_rate=0.5", "activation=sigmoid,tanh"])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    assert sweep_points(config, [], resume=sweep_dir) == points
    assert sweep_points(config, ["learning_rate=0.7"], resume=sweep_dir) != points


def test_resume_refuses_another_grid_or_config(config, calls, tmp_path):
    points = sweep_points(config, ["learning_rate=0.1"])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    with pytest.raises(
        UserError,
        match="another config or grid.*grid_overrides optimizer.learning_rate=0.1 grid_overrides batch_size=1,4",
    ):
        run_sweep(config, sweep_points(config, ["learning_rate=0.5"]), resume=sweep_dir)
    changed = build_config({**BASE, "epochs": 6})
    with pytest.raises(UserError, match="has a different config"):
        run_sweep(changed, sweep_points(changed, ["learning_rate=0.1"]), resume=sweep_dir)
    with pytest.raises(UserError, match="not a sweep directory"):
        run_sweep(config, points, resume=tmp_path)


def test_the_sweep_plot_is_drawn_when_plots_are_on(config, calls, tmp_path, monkeypatch):
    from perceptron_lab import report

    drawn = []
    monkeypatch.setattr(report, "plot_sweep", drawn.append)
    points = sweep_points(config, ["learning_rate=0.1"])
    off = run_sweep(config, points, out_root=tmp_path)
    on = run_sweep(config, points, out_root=tmp_path, plots=True)
    assert drawn == [on] and off != on


def test_ctrl_c_keeps_the_finished_points_and_names_the_directory_to_resume(
    config, calls, tmp_path, monkeypatch
):
    points = sweep_points(config, ["learning_rate=0.1", "batch_size=1,2,3"])
    real = sweep_module.execute_experiment

    def interrupted_at_the_second_point(cfg, progress=None, epoch_hook=None):
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(cfg, epoch_hook=epoch_hook)

    monkeypatch.setattr(sweep_module, "execute_experiment", interrupted_at_the_second_point)
    with pytest.raises(sweep_module.SweepInterrupted) as stop:
        run_sweep(config, points, out_root=tmp_path)
    sweep_dir = stop.value.sweep_dir
    names = point_names(points)
    assert is_run_dir(sweep_dir / names[0]) and not (sweep_dir / names[1]).exists()
    assert pd.read_csv(sweep_dir / "sweep.csv")["point"].tolist() == names[:1]

    monkeypatch.setattr(sweep_module, "execute_experiment", real)
    calls.clear()
    run_sweep(config, points, resume=sweep_dir)
    assert calls == [(0.1, 2), (0.1, 3)]
    assert pd.read_csv(sweep_dir / "sweep.csv")["point"].tolist() == names
