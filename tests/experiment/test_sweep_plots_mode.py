"""lab sweep --plots none|best|all: which point figures a sweep writes, and its progress events."""

import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config
from perceptron_lab.experiment.sweep import run_sweep, sweep_points
from perceptron_lab.modes import PlotsMode
from perceptron_lab.report import best_point, load_sweep
from perceptron_lab.report.sweep_plots import choose_sweep_metric_split

BASE = {
    "name": "plots_mode",
    "dataset": {"name": "digits5x7", "target": "digit"},
    "architecture": [35, 6, 10],
    "activation": "sigmoid",
    "epochs": 6,
    "batch_size": 2,
    "runs": 2,
    "test_size": 0.3,
    "stratify": False,
    "output": {"plots": True, "save_models": False},
}
GRID = ["learning_rate=0.05,0.5,2.0"]


@pytest.fixture(scope="module")
def config():
    return build_config(BASE)


def pngs(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.png"))


def best_name(sweep_dir):
    sweep = load_sweep(sweep_dir)
    return best_point(sweep, *choose_sweep_metric_split(sweep, None, None))["point"]


def test_plots_none_writes_no_figure(config, tmp_path):
    sweep_dir = run_sweep(config, sweep_points(config, GRID), out_root=tmp_path, plots=PlotsMode.NONE)
    assert pngs(sweep_dir) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_plots_best_draws_the_best_point_and_the_sweep_figure_only(config, tmp_path, jobs):
    sweep_dir = run_sweep(config, sweep_points(config, GRID), out_root=tmp_path, plots="best", jobs=jobs)
    best = best_name(sweep_dir)
    point_figures = [p for p in pngs(sweep_dir) if not p.startswith("plots/")]
    assert point_figures and {p.split("/")[0] for p in point_figures} == {best}
    assert sorted(p.split("/")[-1] for p in point_figures) == ["confusion.png", "curves.png"]
    assert any(p.startswith("plots/sweep_") for p in pngs(sweep_dir))


def test_plots_all_brings_every_points_figures_back_from_the_workers(config, tmp_path):
    points = sweep_points(config, GRID)
    sweep_dir = run_sweep(config, points, out_root=tmp_path, plots=PlotsMode.ALL, jobs=2)
    sweep = load_sweep(sweep_dir)
    for name in sweep.table["point"]:
        assert sorted(p.name for p in (sweep_dir / name / "plots").iterdir()) == [
            "confusion.png",
            "curves.png",
        ]
        assert (sweep_dir / name / "plots" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_progress_counts_points_and_names_the_best_so_far(config, tmp_path):
    events = []
    sweep_dir = run_sweep(
        config, sweep_points(config, GRID), out_root=tmp_path, plots="none", progress=events.append
    )
    points = [e for e in events if e.phase == "points"]
    assert [(e.done, e.total) for e in points] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert "best" not in points[0].status and points[-1].status["failed"] == 0
    assert points[-1].status["best"] == best_name(sweep_dir)
    assert points[-1].status["result"] == "test accuracy"


def test_lab_sweep_ends_with_a_table_of_the_best_points(tmp_path, write_config):
    import json

    path = write_config(json.dumps(BASE))
    result = CliRunner().invoke(
        app, ["sweep", str(path), "--grid", GRID[0], "--plots", "none", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "best 3 of 3 points by final test accuracy" in result.stdout
    assert "learning_rate" in result.stdout and "2.0" in result.stdout
    bad = CliRunner().invoke(app, ["sweep", str(path), "--grid", GRID[0], "--plots", "some"])
    assert bad.exit_code == 2
