"""What `lab` prints: the summary table at 80 columns, --json, progress bars only on a terminal
and never with --quiet, and the progress events behind them."""

import dataclasses
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from perceptron_lab import cli
from perceptron_lab.cli_tables import final_summary, split_header, summary_tables
from perceptron_lab.config import build_config
from perceptron_lab.experiment import load_results, run_experiment

runner = CliRunner()
ANSI = re.compile(r"\x1b\[")

NOISY_DIGITS = {
    "name": "noisy_digits",
    "dataset": {"name": "digits5x7", "target": "digit"},
    "test_dataset": {"name": "digits5x7", "target": "digit"},
    "architecture": [35, 8, 10],
    "activation": "sigmoid",
    "learning_rate": 0.5,
    "epochs": 12,
    "batch_size": 2,
    "runs": 2,
    "noise": {"alpha": [0.3, 0.5, 0.7], "copies": 2, "apply_to": "test"},
    "eval_every": 4,
    "output": {"plots": False, "save_models": False},
}


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    return run_experiment(build_config(NOISY_DIGITS), out_root=tmp_path_factory.mktemp("results"))


def rendered(tables, width):
    console = Console(width=width, file=io.StringIO(), color_system=None)
    for table in tables:
        console.print(table)
    return console.file.getvalue()


def test_the_summary_fits_80_columns_and_keeps_every_split_name_distinct(noisy_run):
    summary = final_summary(load_results(noisy_run))
    text = rendered(summary_tables(summary, 80), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing truncated
    headers = [split_header(s) for s in summary["splits"]]
    assert len(set(headers)) == len(headers) == 5
    for header in ["train", "test", "noise 0.3", "noise 0.5", "noise 0.7"]:
        assert header in text
    for metric in ["loss", "accuracy", "precision", "recall", "f1", "sse"]:
        assert re.search(rf"^│ {metric} ", text, re.MULTILINE), metric


def test_a_narrow_console_spreads_the_splits_over_several_tables(noisy_run):
    summary = final_summary(load_results(noisy_run))
    tables = summary_tables(summary, 40)
    assert len(tables) > 1
    text = rendered(tables, 40)
    assert max(len(line) for line in text.splitlines()) <= 40
    for header in ["noise 0.3", "noise 0.5", "noise 0.7"]:
        assert text.count(header) == 1


def test_json_prints_the_final_mean_and_std_of_summary_csv(noisy_run, tmp_path, write_config):
    config = write_config(json.dumps(NOISY_DIGITS))
    result = runner.invoke(cli.app, ["run", str(config), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    summary = pd.read_csv(noisy_run / "summary.csv")
    final = summary[summary["kind"] == "final"]
    assert set(printed["splits"]) == set(final["split"])
    for split, metrics in printed["splits"].items():
        mean = final[(final["run"] == "mean") & (final["split"] == split)].iloc[0]
        std = final[(final["run"] == "std") & (final["split"] == split)].iloc[0]
        for metric, value in metrics.items():
            assert value["mean"] == pytest.approx(mean[metric]) and value["std"] == pytest.approx(std[metric])
    assert printed["replicas"] == 2 and printed["run_dir"].startswith(str(tmp_path))


@pytest.mark.parametrize(
    "terminal, quiet, bars", [(True, False, True), (True, True, False), (False, False, False)]
)
def test_progress_bars_only_on_a_terminal_and_never_with_quiet(
    write_config, tmp_path, monkeypatch, terminal, quiet, bars
):
    stderr = Console(file=io.StringIO(), force_terminal=terminal, width=100)
    monkeypatch.setattr(cli, "err_console", stderr)
    config = write_config(json.dumps(NOISY_DIGITS))
    args = ["run", str(config), "--out", str(tmp_path), *(["--quiet"] if quiet else [])]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    shown = stderr.file.getvalue()
    assert ("training" in shown and "epoch" in shown) is bars
    assert ("writing files" in shown) is bars
    if not bars:
        assert shown == "" and not ANSI.search(result.stdout)


def test_run_reports_each_phase_with_the_latest_mean_loss_and_accuracy(tmp_path):
    events = []
    config = build_config({**NOISY_DIGITS, "output": {"plots": True, "save_models": False}})
    run_dir = run_experiment(config, out_root=tmp_path, progress=events.append)
    phases = list(dict.fromkeys(e.phase for e in events))
    assert phases == ["load", "train", "write", "plot"]
    train = [e for e in events if e.phase == "train"]
    assert [e.status["epoch"] for e in train] == [0, 4, 8, 12]
    assert [e.done for e in train] == [0, 4, 8, 12] and {e.total for e in train} == {12}
    epochs = pd.read_csv(run_dir / "epochs.csv")
    last = epochs[(epochs["split"] == "train") & (epochs["epoch"] == 12)]
    assert train[-1].status["loss"] == pytest.approx(last["loss"].mean(), rel=1e-5)
    assert train[-1].status["accuracy"] == pytest.approx(last["accuracy"].mean())
    assert [e.status.get("step") for e in events if e.phase == "write"][0] == "building the tables"
    write = [e for e in events if e.phase == "write" and e.total is not None]
    assert write[-1].done == write[-1].total and np.all(np.diff([e.done for e in write]) == 1)
    plot = [e for e in events if e.phase == "plot"]
    assert plot[-1].done == plot[-1].total == len(list((run_dir / "plots").iterdir())) == 2


@pytest.mark.parametrize("flags", [[], ["-q"]])
def test_run_loads_the_data_once_even_for_the_summary_of_a_layer_list(
    tmp_path, monkeypatch, write_config, flags
):
    from perceptron_lab.data import DATASETS

    loads = []
    entry = DATASETS["iris"]

    def counted(**params):
        loads.append(params)
        return entry.loader(**params)

    monkeypatch.setitem(DATASETS, "iris", dataclasses.replace(entry, loader=counted))
    config = write_config(
        """\
        name: layers
        dataset: iris
        architecture: [{dense: 5}, {dense: {units: 3, activation: softmax}}]
        epochs: 2
        runs: 1
        output: {plots: false}
        """
    )
    result = runner.invoke(cli.app, ["run", str(config), "--out", str(tmp_path / "out"), *flags])
    assert result.exit_code == 0, result.output
    assert len(loads) == 1
    if not flags:  # the summary, with the input width only the loaded data gives: 4*5+5 + 5*3+3
        assert re.search(r"input \(input\) +\(None, 4\)", result.output)
        assert "Total params: 43" in result.output
