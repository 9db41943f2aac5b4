"""CLI conventions: `python -m perceptron_lab`, typed choices, help width, exit codes, extras."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perceptron_lab import __version__
from perceptron_lab.cli import app
from perceptron_lab.errors import UserError
from perceptron_lab.extras import require

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["run", "validate", "datasets", "sweep", "report", "predict"]


def invoke(*args, columns=80):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})


def test_python_dash_m_runs_the_cli():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "perceptron_lab", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert all(command in done.stdout for command in COMMANDS)
    version = subprocess.run(
        [sys.executable, "-m", "perceptron_lab", "--version"], capture_output=True, text=True, env=env
    )
    assert version.stdout.strip() == f"perceptron_lab {__version__}"


def test_format_bogus_is_rejected_by_the_parser_listing_the_choices(tmp_path):
    result = invoke("report", tmp_path, "--format", "bogus")
    assert result.exit_code == 2
    assert "'png', 'svg'" in result.output and "bogus" in result.output


def test_backend_choices_are_listed_and_enforced(tmp_path):
    assert "<local|dask>" in invoke("sweep", "--help").output
    result = invoke("sweep", tmp_path / "cfg.yaml", "--backend", "spark")
    assert result.exit_code == 2 and "'local', 'dask'" in result.output


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS], ["export"], ["export", "mlflow"]])
def test_help_fits_80_columns_and_documents_exit_codes(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    too_wide = [line for line in result.output.splitlines() if len(line) > 80]
    assert not too_wide
    if not command:  # no command summary cut short
        summaries = result.output.split("Commands:")[1].split("Exit codes")[0]
        assert "..." not in summaries
    assert "<list[str]>" not in result.output
    if command != ["datasets"]:
        assert "0 ok, 1 failed, 2 bad input" in " ".join(result.output.split())


def test_shell_completion_can_be_installed():
    assert "--install-completion" in invoke("--help").output


def test_the_version_is_defined_once():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "perceptron_lab.__version__"}


def test_every_optional_extra_is_in_the_test_extra():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name in ("dask", "optuna", "mlflow", "dill"):
        assert set(extras[name]) <= set(extras["test"]), name
    assert not any(
        d.startswith("dill")
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "dill", None)  # import dill now raises ImportError
    with pytest.raises(UserError, match=r"pip install 'perceptron_lab\[dill\]'"):
        require("dill", "dill", param="dill")


def test_run_with_dill_but_without_it_fails_before_training(tiny_iris, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dill", None)
    result = invoke("run", tiny_iris, "--out", tmp_path / "out", "--dill", "-q")
    assert result.exit_code == 2
    assert "perceptron_lab[dill]" in result.output
    assert not (tmp_path / "out").exists()
