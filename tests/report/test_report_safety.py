"""`lab report` never writes through symlinks and turns malformed run directories into one line."""

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config
from perceptron_lab.experiment import run_experiment


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, tiny_config):
    config = build_config(tiny_config(record={"weights": True}))
    return run_experiment(config, out_root=tmp_path_factory.mktemp("results"))


@pytest.fixture
def run_dir(pristine, tmp_path):
    copy = tmp_path / "results" / "tiny" / pristine.name
    shutil.copytree(pristine, copy)
    return copy


def _report(*args):
    return CliRunner().invoke(app, ["report", *map(str, args)])


def test_a_symlinked_report_file_is_replaced_not_followed(run_dir, tmp_path):
    victim = tmp_path / "victim.html"
    victim.write_text("keep me")
    (run_dir / "report").mkdir()
    (run_dir / "report" / "report.html").symlink_to(victim)
    (run_dir / "report" / "curves_loss.png").symlink_to(tmp_path / "victim.png")
    result = _report(run_dir)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me" and not (tmp_path / "victim.png").exists()
    assert not (run_dir / "report" / "report.html").is_symlink()
    assert "<html" in (run_dir / "report" / "report.html").read_text()


def test_a_symlinked_report_directory_is_refused(run_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run_dir / "report").symlink_to(elsewhere)
    result = _report(run_dir)
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert list(elsewhere.iterdir()) == []


def _object_weights(run_dir):
    np.savez(run_dir / "history" / "weights.npz", epochs=np.array([{"a": 1}], dtype=object))


def _python_tag(run_dir):
    (run_dir / "config.yaml").write_text("name: !!python/object/apply:os.system ['echo hi']\n")


def _garbage_manifest(run_dir):
    (run_dir / "manifest.json").write_text("[1, 2")


def _list_manifest(run_dir):
    (run_dir / "manifest.json").write_text("[1, 2]")


def _no_epochs(run_dir):
    (run_dir / "epochs.csv").unlink()


def _foreign_summary(run_dir):
    (run_dir / "summary.csv").write_text("garbage,,\n1,2,3\n")


def _empty_epochs(run_dir):
    (run_dir / "epochs.csv").write_text("")


@pytest.mark.parametrize(
    "damage, expected",
    [
        (_object_weights, "weights.npz: unreadable"),
        (_python_tag, "config.yaml: unreadable"),
        (_garbage_manifest, "not a complete run directory"),
        (_list_manifest, "not a complete run directory"),
        (_no_epochs, "epochs.csv: missing"),
        (_foreign_summary, "summary.csv: unreadable (no column run,"),
        (_empty_epochs, "epochs.csv: unreadable"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:],
)
def test_a_malformed_run_directory_is_one_line_and_exit_2(run_dir, damage, expected):
    damage(run_dir)
    for target in (run_dir, run_dir.parent):
        result = _report(target)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and (expected in lines[0] or "not a complete run directory" in lines[0]), lines
    assert not (run_dir / "report").exists()
