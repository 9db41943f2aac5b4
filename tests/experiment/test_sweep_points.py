"""`sweep.points`: explicit point lists run as given, in order; duplicates are errors; dry-run and
resume work as for grids."""

import json
import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config
from perceptron_lab.errors import ConfigError, UserError
from perceptron_lab.experiment import sweep as sweep_module
from perceptron_lab.experiment.grid import listed_points, point_names
from perceptron_lab.experiment.sweep import run_sweep, sweep_points

# Three chosen rows, not a product: a grid over these values would have 2 x 2 x 2 = 8 points.
POINTS = [
    {"learning_rate": 0.2, "batch_size": 4},
    {"learning_rate": 0.05, "batch_size": 1, "epochs": 3},
    {"optimizer": {"name": "momentum", "learning_rate": 0.05, "momentum": 0.5}},
]
XOR = {
    "name": "xor_points",
    "dataset": {"name": "gates", "function": "xor", "encoding": "bipolar"},
    "architecture": [2, 3, 1],
    "activation": "tanh",
    "loss": "sse",
    "optimizer": "sgd",
    "epochs": 6,
    "runs": 2,
    "test_size": 0,
    "output": {"plots": False, "save_models": False},
    "sweep": {"points": POINTS},
}


@pytest.fixture
def ran(monkeypatch):
    """Record the (learning rate, batch size, epochs, optimizer) of every experiment the sweep trains."""
    calls = []
    real = sweep_module.execute_experiment

    def execute(config, progress=None, epoch_hook=None):
        calls.append(
            (config.optimizer.learning_rate, config.batch_size, config.epochs, config.optimizer.name)
        )
        return real(config, epoch_hook=epoch_hook)

    monkeypatch.setattr(sweep_module, "execute_experiment", execute)
    return calls


EXPECTED_RUNS = [(0.2, 4, 6, "sgd"), (0.05, 1, 3, "sgd"), (0.05, 1, 6, "momentum")]


def test_listed_points_resolve_shorthands_and_keep_the_listed_order():
    assert listed_points(POINTS) == [
        {"optimizer.learning_rate": 0.2, "batch_size": 4},
        {"optimizer.learning_rate": 0.05, "batch_size": 1, "epochs": 3},
        {"optimizer": {"name": "momentum", "learning_rate": 0.05, "momentum": 0.5}},
    ]


def test_a_sweep_runs_the_listed_points_only_and_in_order(ran, tmp_path):
    config = build_config(XOR)
    points = sweep_points(config, [])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    assert ran == EXPECTED_RUNS
    table = pd.read_csv(sweep_dir / "sweep.csv")
    assert table["point"].tolist() == point_names(points)
    assert table["optimizer.learning_rate"].tolist()[:2] == [0.2, 0.05]
    assert pd.isna(table["epochs"].iloc[0]) and table["epochs"].iloc[1] == 3  # only point 1 sets epochs
    assert set(table["status"]) == {"ok"}
    for point, name in zip(points, point_names(points)):
        manifest = json.loads((sweep_dir / name / "manifest.json").read_text())
        assert manifest["config_hash"] == build_config({**XOR, "sweep": None}, overrides=point).config_hash()


@pytest.mark.parametrize(
    "duplicate",
    [
        {"learning_rate": 0.2, "batch_size": 4},
        {"batch_size": 4, "optimizer.learning_rate": 0.2},  # the same point, keys reordered and canonical
    ],
)
def test_a_point_listed_twice_is_a_config_error_before_anything_trains(ran, duplicate):
    config = build_config({**XOR, "sweep": {"points": [*POINTS, duplicate]}})
    with pytest.raises(ConfigError, match=r"sweep.points.3: the same point as sweep.points.0"):
        sweep_points(config, [])
    assert ran == []


def test_one_and_one_point_zero_are_different_points():
    assert len(listed_points([{"epochs": 1}, {"epochs": 1.0}])) == 2


@pytest.mark.parametrize(
    "sweep, error, fragment",
    [
        ({"points": POINTS, "grid": {"epochs": [1, 2]}}, ConfigError, "sweep.grid or sweep.points, not both"),
        ({"points": [{}]}, ConfigError, "sweep.points.0: a point needs at least one key"),
        ({"points": [{"sweep.grid": {}}]}, ConfigError, "cannot vary its own sweep settings"),
        ({"points": [{"epochs": 0}]}, ConfigError, "epochs"),
    ],
)
def test_bad_point_lists_are_config_errors(sweep, error, fragment):
    with pytest.raises(error, match=fragment):
        sweep_points(build_config({**XOR, "sweep": sweep}), [])


def test_grid_overrides_cannot_extend_a_point_list():
    with pytest.raises(UserError, match="^grid_overrides cannot extend a sweep.points list"):
        sweep_points(build_config(XOR), ["epochs=1,2"])


def test_resume_keeps_the_listed_points_and_redoes_only_the_missing_one(ran, tmp_path):
    config = build_config(XOR)
    points = sweep_points(config, [])
    sweep_dir = run_sweep(config, points, out_root=tmp_path)
    first = pd.read_csv(sweep_dir / "sweep.csv").drop(columns=["wall_time_s"])
    assert sweep_points(config, [], resume=sweep_dir) == points

    shutil.rmtree(sweep_dir / point_names(points)[1])
    ran.clear()
    run_sweep(config, sweep_points(config, [], resume=sweep_dir), resume=sweep_dir)
    assert ran == [EXPECTED_RUNS[1]]
    resumed = pd.read_csv(sweep_dir / "sweep.csv").drop(columns=["wall_time_s"])
    pd.testing.assert_frame_equal(resumed, first)

    other = build_config({**XOR, "sweep": {"points": POINTS[:2]}})
    with pytest.raises(UserError, match=r"another config or grid .*resume it with the same config$"):
        run_sweep(other, sweep_points(other, []), resume=sweep_dir)


def test_cli_dry_run_lists_the_points_in_order_and_a_duplicate_exits_2(write_config, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(
        app, ["sweep", str(write_config(yaml.safe_dump(XOR, sort_keys=False))), "--dry-run"]
    )
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["0", "optimizer.learning_rate=0.2", "batch_size=4"]
    assert lines[1].split() == ["1", "optimizer.learning_rate=0.05", "batch_size=1", "epochs=3"]
    assert lines[2].split()[0] == "2" and "momentum" in lines[2]
    assert lines[-1] == "3 points"

    duplicated = {**XOR, "sweep": {"points": [POINTS[0], POINTS[0]]}}
    bad = runner.invoke(
        app,
        ["sweep", str(write_config(yaml.safe_dump(duplicated, sort_keys=False), "dup.yaml")), "--dry-run"],
    )
    assert bad.exit_code == 2
    assert "sweep.points.1: the same point as sweep.points.0" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()
