"""`lab` commands keep their promises: config defaults honoured, failures reported, one line."""

import json

import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app


def lab(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "config_plots, flags, drawn",
    [(False, [], False), (False, ["--plots"], True), (True, ["--no-plots"], False), (True, [], True)],
)
def test_run_plots_follow_the_config_unless_a_flag_says_otherwise(
    tmp_path, config_plots, flags, drawn, tiny_config
):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config(output={"plots": config_plots})))
    result = lab("run", config, "--out", tmp_path / "results", "-q", *flags)
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "results" / "tiny").iterdir()
    assert (run_dir / "plots").is_dir() == drawn


def test_a_sweep_whose_every_point_failed_exits_non_zero_with_a_summary(tmp_path, monkeypatch, tiny_config):
    def broken(config, epoch_hook=None):
        raise RuntimeError(f"no memory for {config.epochs} epochs")

    monkeypatch.setattr("perceptron_lab.experiment.sweep.execute_experiment", broken)
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config()))
    result = lab("sweep", config, "--grid", "epochs=2,3", "--out", tmp_path / "results", "-q")
    assert result.exit_code == 1
    assert "all 2 points failed" in result.output and "RuntimeError: no memory for" in result.output


def test_a_sweep_with_some_points_ok_exits_0(tmp_path, monkeypatch, tiny_config):
    from perceptron_lab.experiment import sweep

    real = sweep.execute_experiment

    def fails_at_3(config, epoch_hook=None):
        if config.epochs == 3:
            raise RuntimeError("boom")
        return real(config, epoch_hook=epoch_hook)

    monkeypatch.setattr("perceptron_lab.experiment.sweep.execute_experiment", fails_at_3)
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config()))
    result = lab("sweep", config, "--grid", "epochs=2,3", "--out", tmp_path / "results", "-q")
    assert result.exit_code == 0 and "point epochs-3 failed: RuntimeError: boom" in result.output


def test_dask_address_that_is_not_an_address_is_one_line(tmp_path, tiny_config):
    import time

    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config()))
    started = time.monotonic()
    result = lab(
        "sweep",
        config,
        "--grid",
        "epochs=2,3",
        "--backend",
        "dask",
        "--address",
        "not a url",
        "--out",
        tmp_path / "results",
    )
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert (
        "--address: 'not a url'" in result.output and time.monotonic() - started < 15
    )  # no hang (it used to wait 30 s)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_output_under_a_file_is_one_line_before_training(tmp_path, command, tiny_config):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(tiny_config()))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    grid = ["--grid", "epochs=2,3"] if command == "sweep" else []
    result = lab(command, config, *grid, "--out", blocker / "results", "-q")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "nothing was trained" in result.output and blocker.read_text() == "x"


def test_a_bad_kernels_variable_stops_every_command_naming_it(monkeypatch):
    from perceptron_lab.nn.kernels import ENVIRONMENT_VARIABLE

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "fortran")
    result = CliRunner().invoke(app, ["layers"])
    assert result.exit_code == 2
    assert ENVIRONMENT_VARIABLE in result.output and "fortran" in result.output
