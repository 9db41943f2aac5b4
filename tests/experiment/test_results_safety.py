"""Results directories: unique builds, a rename that never merges, kill -9 leaves nothing
complete-looking, output checked before training, names that stay inside results/."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perceptron_lab.config import build_config
from perceptron_lab.errors import ConfigError, UserError
from perceptron_lab.experiment import execute_experiment, partials, run_experiment
from perceptron_lab.experiment.results import check_writable, write_run_dir
from perceptron_lab.experiment.results_dir import is_run_dir
from perceptron_lab.report.compare import resolve_run_dir


def _write_after_barrier(barrier, config: dict, directory: str, seed: int, out) -> None:
    result = execute_experiment(build_config({**config, "seed": seed}))
    barrier.wait()
    out.put(str(write_run_dir(result, directory, command=f"seed {seed}", rename_if_taken=True)))


def test_two_writers_of_one_name_in_the_same_instant_keep_both(tmp_path, tiny_config):
    context = multiprocessing.get_context("fork")
    directory = tmp_path / "tiny" / "20261125-120000-abcdef12"
    for attempt in range(3):
        barrier, out = context.Barrier(2), context.Queue()
        workers = [
            context.Process(
                target=_write_after_barrier, args=(barrier, tiny_config(), str(directory), seed, out)
            )
            for seed in (10 * attempt, 10 * attempt + 1)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        written = {Path(out.get(timeout=5)) for _ in workers}
        assert len(written) == 2 and all(is_run_dir(path) for path in written)
        commands = {json.loads((path / "manifest.json").read_text())["command"] for path in written}
        assert commands == {f"seed {10 * attempt}", f"seed {10 * attempt + 1}"}  # neither replaced
    runs = [p for p in (tmp_path / "tiny").iterdir()]
    assert len(runs) == 6 and not [p for p in runs if partials.is_partial(p)]


def test_a_complete_directory_is_never_overwritten(tmp_path, tiny_config):
    result = execute_experiment(build_config(tiny_config()))
    first = write_run_dir(result, tmp_path / "run")
    with pytest.raises(FileExistsError):
        write_run_dir(result, first)
    assert write_run_dir(result, first, rename_if_taken=True) == tmp_path / "run-1"


KILLED_IN_PLOTS = """
import sys, time
from pathlib import Path
import perceptron_lab.report as report
from perceptron_lab.config import build_config
from perceptron_lab.experiment import run_experiment

def hang(*args, **kwargs):
    Path(sys.argv[2]).write_text("plotting")
    time.sleep(60)

report.plot_run = hang
config = build_config(%r)
run_experiment(config, out_root=sys.argv[1])
"""


def test_kill_9_while_plotting_leaves_nothing_complete_looking(tmp_path, monkeypatch, tiny_config):
    root, marker = tmp_path / "results", tmp_path / "plotting"
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_IN_PLOTS % (tiny_config(output={"plots": True}),)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, str(script), str(root), str(marker)], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the run should reach its plot phase"
    process.send_signal(signal.SIGKILL)
    process.wait()
    leftovers = list((root / "tiny").iterdir())
    assert len(leftovers) == 1 and partials.is_partial(leftovers[0])
    assert json.loads((leftovers[0] / "manifest.json").read_text())["status"] != "complete"
    assert not is_run_dir(leftovers[0])
    with pytest.raises(UserError, match=r"not a complete run directory.*1 interrupted write"):
        resolve_run_dir(root / "tiny")
    assert partials.stale_partials(root / "tiny", min_age_s=0) == leftovers
    monkeypatch.setattr("perceptron_lab.experiment.results.remove_stale_partials", _remove_now)
    run_dir = run_experiment(build_config(tiny_config()), out_root=root)
    assert list((root / "tiny").iterdir()) == [run_dir]  # the stale build was cleaned


def _remove_now(parent, name=None):
    return partials.remove_stale_partials(parent, name, min_age_s=0)


def test_a_partial_being_built_is_not_stale(tmp_path):
    partial, lock = partials.new_partial(tmp_path / "run")
    try:
        assert partials.stale_partials(tmp_path, min_age_s=0) == []
    finally:
        os.close(lock)
    assert partials.stale_partials(tmp_path, min_age_s=0) == [partial]


@pytest.mark.parametrize(
    "name", ["../../x", "/abs/path", "..", ".", "", ".hidden", "a\0b", "x" * 300, "a/b"], ids=repr
)
def test_a_name_must_be_one_safe_directory_name(name, tiny_config):
    with pytest.raises(ConfigError, match=r"^<config>: name: .*results/<name>/"):
        build_config(tiny_config(name=name), source="<config>")


def test_cli_refuses_a_traversing_name_and_writes_nothing(tmp_path, write_config):
    from typer.testing import CliRunner

    from perceptron_lab.cli import app

    config = write_config("name: tiny\ndataset: {name: gates, function: and}\narchitecture: [2, 1]\n")
    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(
        app, ["run", str(config), "--set", "name=../../x", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "name" in result.output
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path.parent / "x").exists()


def test_output_under_a_file_fails_before_training(tmp_path, monkeypatch, tiny_config):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("perceptron_lab.experiment.runner.execute_experiment", no_training)
    with pytest.raises(UserError, match="output.dir: cannot write results under .*nothing was trained"):
        run_experiment(build_config(tiny_config()), out_root=blocker / "results")
    assert blocker.read_text() == "not a folder"


def test_check_writable_leaves_no_folder_behind(tmp_path):
    check_writable(tmp_path / "a" / "b", "tiny")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="name"):
        check_writable(tmp_path, "y" * 300)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_root_fails_before_training(tmp_path, tiny_config):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(UserError, match="nothing was trained"):
            run_experiment(build_config(tiny_config()), out_root=tmp_path / "results")
    finally:
        tmp_path.chmod(0o700)


def test_concurrent_lab_runs_of_one_config_all_keep_their_results(tmp_path, tiny_config):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config()))  # JSON is YAML
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", "from perceptron_lab.cli import app; app()", "run", str(config)]
    command += ["--out", str(tmp_path / "results"), "-q"]
    for _ in range(2):
        runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)]
        printed = [run.communicate(timeout=300)[0].strip() for run in runs]
        assert all(run.returncode == 0 for run in runs)
        assert len(set(printed)) == 3 and all(is_run_dir(Path(p)) for p in printed)
    found = list((tmp_path / "results" / "tiny").iterdir())
    assert len(found) == 6 and all(is_run_dir(p) for p in found)
