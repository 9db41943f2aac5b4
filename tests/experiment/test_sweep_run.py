"""Sweeps with the real trainer: the same numbers serially, in joblib processes, on a Dask cluster,
after a resume, and as `lab run` with the same overrides; failures and divergence are recorded."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config
from perceptron_lab.experiment import execute_experiment, is_run_dir
from perceptron_lab.experiment.executors import threads_per_worker
from perceptron_lab.experiment.grid import point_names
from perceptron_lab.experiment.sweep import final_metrics, run_sweep, sweep_points

XOR = {
    "name": "xor_sweep",
    "dataset": {"name": "gates", "function": "xor", "encoding": "bipolar"},
    "architecture": [2, 3, 1],
    "activation": "tanh",
    "loss": "sse",
    "optimizer": "sgd",
    "epochs": 50,
    "runs": 2,
    "test_size": 0,
    "output": {"plots": False, "save_models": False},
    "sweep": {"grid": {"learning_rate": [0.05, 0.2], "batch_size": [1, 4]}},
}
VARYING = ["wall_time_s"]


def numbers(sweep_dir) -> pd.DataFrame:
    """sweep.csv without the columns that legitimately differ between two runs (timings)."""
    return pd.read_csv(sweep_dir / "sweep.csv").drop(columns=VARYING)


@pytest.fixture(scope="module")
def config():
    return build_config(XOR)


@pytest.fixture(scope="module")
def points(config):
    return sweep_points(config, [])


@pytest.fixture(scope="module")
def serial_sweep(config, points, tmp_path_factory):
    return run_sweep(config, points, out_root=tmp_path_factory.mktemp("serial"))


def test_a_sweep_point_has_the_numbers_of_the_same_experiment_run_alone(config, points, serial_sweep):
    table = pd.read_csv(serial_sweep / "sweep.csv")
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    point = points[3]
    alone = execute_experiment(
        build_config(
            {**XOR, "learning_rate": point["optimizer.learning_rate"], "batch_size": point["batch_size"]}
        )
    )
    expected = final_metrics(alone.summary)
    row = table.iloc[3]
    assert "train_accuracy_mean" in expected
    for column, value in expected.items():
        assert row[column] == pytest.approx(value, rel=1e-12, abs=1e-12), column


def test_parallel_jobs_write_the_same_sweep_csv(config, points, serial_sweep, tmp_path):
    parallel = run_sweep(config, points, out_root=tmp_path, jobs=2)
    pd.testing.assert_frame_equal(numbers(parallel), numbers(serial_sweep))
    assert all(is_run_dir(parallel / name) for name in point_names(points))


@pytest.fixture(scope="module")
def cluster():
    """A real two-worker Dask cluster in local processes."""
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra is not installed: pip install -e '.[dask]'"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def worker_facts(task):
    """(task, worker pid, largest BLAS/OpenMP pool) as seen inside a Dask task."""
    import os

    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return task, os.getpid(), max(pool["num_threads"] for pool in threadpool_info())


def test_dask_executor_runs_every_task_on_the_workers_with_capped_blas_threads(cluster):
    import os

    from perceptron_lab.experiment.executors import DaskExecutor

    executor = DaskExecutor(cluster.scheduler_address)
    try:
        results = list(executor.map(worker_facts, ["a", "b", "c"]))
    finally:
        executor.close()
    assert sorted((r.index, r.value[0]) for r in results) == [(0, "a"), (1, "b"), (2, "c")]
    assert all(r.error is None and r.value[1] != os.getpid() for r in results)
    assert max(r.value[2] for r in results) <= threads_per_worker(1)


def test_a_dask_cluster_writes_the_same_sweep_csv(config, points, serial_sweep, cluster, tmp_path):
    on_dask = run_sweep(config, points, out_root=tmp_path, backend="dask", address=cluster.scheduler_address)
    pd.testing.assert_frame_equal(numbers(on_dask), numbers(serial_sweep))
    for name in point_names(points):
        local = pd.read_csv(serial_sweep / name / "epochs.csv")
        pd.testing.assert_frame_equal(pd.read_csv(on_dask / name / "epochs.csv"), local)


def test_resume_after_a_kill_recomputes_the_incomplete_points_to_the_same_numbers(
    config, points, serial_sweep, tmp_path
):
    killed = tmp_path / "killed"
    shutil.copytree(serial_sweep, killed)
    names = point_names(points)
    (killed / "sweep.csv").unlink()
    (killed / names[2] / "manifest.json").unlink()  # died before the final write
    shutil.move(killed / names[0], killed / f".{names[0]}.partial")  # died mid-write
    kept = (killed / names[1] / "manifest.json").read_text()

    assert run_sweep(config, points, resume=killed) == killed
    pd.testing.assert_frame_equal(numbers(killed), numbers(serial_sweep))
    assert (killed / names[1] / "manifest.json").read_text() == kept
    assert json.loads((killed / names[2] / "manifest.json").read_text())["finished"] is not None
    assert not (killed / f".{names[0]}.partial").exists()


def test_failing_and_diverging_points_are_recorded_and_the_sweep_goes_on(config, tmp_path):
    points = sweep_points(config, ["architecture=[2,3,1],[3,3,1]", "learning_rate=0.05", "batch_size=1"])
    diverging = build_config({**XOR, "activation": "identity", "sweep": None})
    table = pd.read_csv(run_sweep(config, points, out_root=tmp_path) / "sweep.csv")
    assert table["status"].tolist() == ["ok", "failed"]
    assert "architecture" in table.loc[1, "error"] and "ConfigError" in table.loc[1, "error"]
    assert table.loc[1, "architecture"] == "[3, 3, 1]"

    points = sweep_points(diverging, ["learning_rate=0.01,1000.0"])
    table = pd.read_csv(run_sweep(diverging, points, out_root=tmp_path) / "sweep.csv")
    assert table["status"].tolist() == ["ok", "diverged"]


def test_cli_dry_run_lists_the_points_and_a_bad_grid_exits_2(write_config, tmp_path):
    import yaml

    path = write_config(yaml.safe_dump(XOR))
    runner = CliRunner()
    listed = runner.invoke(app, ["sweep", str(path), "--grid", "architecture=[2,2,1],[2,4,1]", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert "8 points" in listed.output and "architecture=[2, 4, 1]" in listed.output
    bad = runner.invoke(app, ["sweep", str(path), "--grid", "batch_size=0", "--dry-run"])
    assert bad.exit_code == 2 and "batch_size" in bad.output
    assert not (tmp_path / "results").exists()


def test_cli_sweep_writes_the_sweep_and_warns_about_failed_points(write_config, tmp_path):
    import yaml

    path = write_config(yaml.safe_dump({**XOR, "epochs": 5, "sweep": None}))
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(path),
            "--grid",
            "architecture=[2,3,1],[3,3,1]",
            "--out",
            str(tmp_path / "results"),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    sweep_dir = tmp_path / "results" / "xor_sweep" / result.stdout.strip().rsplit("/", 1)[-1]
    table = pd.read_csv(sweep_dir / "sweep.csv")
    assert table["status"].tolist() == ["ok", "failed"]
    assert "point architecture-3x3x1 failed: ConfigError" in result.stderr
    assert is_run_dir(sweep_dir / "architecture-2x3x1")
