"""End-to-end `lab` commands through typer's CliRunner."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from perceptron_lab import __version__
from perceptron_lab.cli import app

runner = CliRunner()


def lab(*args):
    return runner.invoke(app, [str(a) for a in args])


def only_run_dir(root):
    (name_dir,) = [p for p in root.iterdir()]
    (run_dir,) = [p for p in name_dir.iterdir()]
    return run_dir


def test_version():
    result = lab("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_run_writes_the_results_contract(tiny_iris, tmp_path):
    out = tmp_path / "results"
    result = lab("run", tiny_iris, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(out)
    assert run_dir.parent.name == "tiny_iris"
    for name in (
        "config.yaml",
        "manifest.json",
        "epochs.csv",
        "summary.csv",
        "confusion.csv",
        "predictions.csv",
    ):
        assert (run_dir / name).is_file(), name
    epochs = pd.read_csv(run_dir / "epochs.csv")
    assert list(epochs.columns[:5]) == ["run", "fold", "seed", "epoch", "split"]
    assert {"loss", "accuracy", "precision", "recall", "f1", "sse"} <= set(epochs.columns)
    # 2 runs x 3 folds, epochs 0..6, train and test splits
    assert len(epochs) == 6 * 7 * 2
    assert set(epochs["split"]) == {"train", "test"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["replicas"]) == 6
    model_dir = run_dir / "models" / "run0_fold0"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "model.json",
        "network.json",
        "network.npz",
        "preprocessing.npz",
    ]
    assert not any(p.name.endswith(".partial") for p in run_dir.parent.iterdir())


def test_same_config_and_seed_give_identical_epochs(tiny_iris, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert lab("run", tiny_iris, "--out", first, "-q").exit_code == 0
    assert lab("run", tiny_iris, "--out", second, "-q").exit_code == 0
    a = (only_run_dir(first) / "epochs.csv").read_text()
    b = (only_run_dir(second) / "epochs.csv").read_text()
    assert a == b


def test_set_overrides_reach_the_resolved_config(tiny_and, tmp_path):
    out = tmp_path / "r"
    result = lab(
        "run", tiny_and, "--out", out, "-q", "--set", "epochs=3", "--set", "optimizer.learning_rate=0.5"
    )
    assert result.exit_code == 0, result.output
    epochs = pd.read_csv(only_run_dir(out) / "epochs.csv")
    assert epochs["epoch"].max() == 3
    assert "learning_rate: 0.5" in (only_run_dir(out) / "config.yaml").read_text()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dataset: iris\narchitecture: [4, 3]\nepoch: 3\n", "unknown key 'epoch' (did you mean 'epochs'?)"),
        ("dataset: iris\narchitecture: [4, 3]\nbatch_size: -2\n", "cfg.yaml:3: batch_size"),
        ("dataset: iris\narchitecture: [5, 3]\n", "architecture: input size 5"),
        ("dataset: {name: csv, path: missing.csv}\narchitecture: [2, 1]\n", "missing.csv"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(write_config, tmp_path, text, expected):
    out = tmp_path / "results"
    result = lab("run", write_config(text), "--out", out)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not out.exists() or not any(out.rglob("*"))


def test_malformed_data_file_names_file_and_line(write_config, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    cfg = write_config(f"dataset: {{name: csv, path: {data}, target: label}}\narchitecture: [2, 2]\n")
    result = lab("run", cfg, "--out", tmp_path / "results")
    assert result.exit_code == 2
    assert "data.csv" in result.output and ":3" in result.output


def test_missing_config_file_exits_2(tmp_path):
    result = lab("run", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "no such config file" in result.output


def test_validate_checks_without_writing(tiny_iris, write_config):
    ok = lab("validate", tiny_iris)
    assert ok.exit_code == 0 and "ok" in ok.output
    bad = lab("validate", write_config("dataset: iris\narchitecture: [4, 3]\nactivation: sigmod\n"))
    assert bad.exit_code == 2 and "sigmoid" in bad.output


def test_datasets_lists_registry():
    result = lab("datasets")
    assert result.exit_code == 0
    for name in ("gates", "digits5x7", "iris", "logistic_map", "csv"):
        assert name in result.output
