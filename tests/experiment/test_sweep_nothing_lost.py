"""Sweeps lose nothing: a locked directory, Ctrl-C keeps finished points, workers die with the driver."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from perceptron_lab.config import build_config
from perceptron_lab.errors import UserError
from perceptron_lab.experiment.executors import JoblibExecutor
from perceptron_lab.experiment.fork_executor import ForkExecutor, fork_available
from perceptron_lab.experiment.grid import point_names
from perceptron_lab.experiment.results_dir import is_run_dir
from perceptron_lab.experiment.sweep import _kept_points, read_plan, run_sweep, sweep_points
from perceptron_lab.locking import SweepLock, is_locked

SLOW = """\
name: slow
dataset: iris
architecture: [4, 8, 3]
activation: tanh
output_activation: softmax
epochs: 400
batch_size: 1
output: {plots: false}
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _lab(*args) -> list[str]:
    return [sys.executable, "-c", "from perceptron_lab.cli import app; app()", *map(str, args)]


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def finished_sweep(tmp_path, tiny_config):
    config = build_config(tiny_config())
    points = sweep_points(config, ["epochs=2,3"])
    return config, points, run_sweep(config, points, out_root=tmp_path)


def test_a_sweep_held_by_another_process_is_refused(finished_sweep):
    config, points, sweep_dir = finished_sweep
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('locked', flush=True); time.sleep(60)",
            str(sweep_dir / SweepLock.FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = (sweep_dir / "sweep.json").read_text()
        with pytest.raises(UserError, match="running in another process"):
            run_sweep(config, points, out_root=sweep_dir.parent.parent, resume=sweep_dir)
        assert (sweep_dir / "sweep.json").read_text() == before
    finally:
        holder.kill()
        holder.wait()
    run_sweep(config, points, resume=sweep_dir)  # free again


def test_two_concurrent_resumes_one_runs_one_is_refused(tmp_path):
    from perceptron_lab.experiment.sweep import make_plan, point_configs, write_plan

    config_file = tmp_path / "slow.yaml"
    config_file.write_text(SLOW)
    config = build_config(yaml.safe_load(SLOW))
    points = sweep_points(config, ["epochs=300,301"])
    names = point_names(points)
    sweep_dir = tmp_path / "results" / "slow" / "sweep-race"  # planned, nothing run yet
    sweep_dir.mkdir(parents=True)
    write_plan(sweep_dir, make_plan(config, points, names, point_configs(config, points, names)))

    resume = _lab("sweep", config_file, "--resume", sweep_dir, "-q")
    a = subprocess.Popen(resume, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait(lambda: is_locked(sweep_dir / SweepLock.FILE) or a.poll() is not None, 60, "the first resume")
    b = subprocess.run(resume, env=_env(), text=True, capture_output=True, timeout=120)
    _, err_a = a.communicate(timeout=300)
    assert a.returncode == 0, err_a
    assert b.returncode == 2 and len(b.stderr.strip().splitlines()) == 1, b.stderr
    assert "running in another process" in b.stderr
    table = pd.read_csv(sweep_dir / "sweep.csv")
    assert list(table["status"]) == ["ok", "ok"] and read_plan(sweep_dir)["status"] == "complete"
    assert all(is_run_dir(sweep_dir / name) for name in names)


def test_ctrl_c_keeps_the_points_that_finished(tmp_path):
    config_file = tmp_path / "slow.yaml"
    config_file.write_text(SLOW.replace("epochs: 400", "epochs: 4000"))
    root = tmp_path / "results"
    driver = subprocess.Popen(
        _lab("sweep", config_file, "--grid", "epochs=1,4000,4001", "--jobs", "2", "--out", root, "-q"),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    table = lambda: next(root.glob("slow/sweep-*/sweep.csv"), None)  # noqa: E731
    _wait(lambda: table() is not None or driver.poll() is not None, 120, "the first point")
    time.sleep(0.5)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    assert "--resume" in err
    sweep_dir = table().parent
    rows = pd.read_csv(sweep_dir / "sweep.csv")
    assert "epochs-1" in set(rows["point"]) and set(rows["status"]) == {"ok"}
    config = build_config(yaml.safe_load(config_file.read_text()))
    points = sweep_points(config, None, resume=sweep_dir)
    kept, todo = _kept_points(sweep_dir, points, point_names(points))
    assert 0 in kept and 0 not in todo and len(kept) == len(rows)


@pytest.mark.parametrize("executor_class", [JoblibExecutor, *([ForkExecutor] if fork_available() else [])])
def test_finished_hands_over_results_not_yet_yielded(executor_class):
    executor = executor_class(jobs=2)
    results = executor.map(_square, [0, 1, 2])
    first = next(results)
    _wait(lambda: all(f.done() for f in executor._unseen), 60, "the other tasks")
    results.close()  # what an interrupt does to the consumer's loop
    rest = executor.finished()
    executor.close()
    assert sorted([first.index] + [r.index for r in rest]) == [0, 1, 2]
    assert all(r.value == r.index * r.index for r in [first, *rest])
    assert executor.finished() == []


def _square(task):
    return task * task


def test_kill_9_of_the_driver_stops_its_workers(tmp_path):
    config_file = tmp_path / "slow.yaml"
    config_file.write_text(SLOW.replace("epochs: 400", "epochs: 4000"))
    driver = subprocess.Popen(
        _lab(
            "sweep", config_file, "--grid", "epochs=4000,4001", "--jobs", "2", "--out", tmp_path / "r", "-q"
        ),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(lambda: len(_children(driver.pid)) >= 2, 120, "the workers")
    time.sleep(3)  # the workers are training
    children = _children(driver.pid)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    _wait(lambda: not any(_alive(pid) for pid in children), 30, f"workers {children} to exit")
