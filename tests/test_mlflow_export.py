"""`lab export mlflow`: a round trip through a real local MLflow store, read back with MlflowClient."""

import sys

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from perceptron_lab.cli import app

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install -e '.[mlflow]'")

from perceptron_lab.mlflow_export import IDENTITY_TAG, flatten  # noqa: E402

RUNNER = CliRunner()
SWEEP_CONFIG = """\
name: and_sweep
dataset: {name: gates, function: and}
architecture: [2, 1]
activation: tanh
epochs: 5
runs: 2
test_size: 0
output: {plots: false}
sweep: {grid: {learning_rate: [0.05, 0.5]}}
"""


def lab(*args):
    result = RUNNER.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A run (with plots and report.html) and a 2-point sweep, exported twice into one store."""
    root = tmp_path_factory.mktemp("mlflow")
    (root / "iris.yaml").write_text(
        "name: tiny_iris\ndataset: iris\narchitecture: [4, 5, 3]\noutput_activation: softmax\n"
        "epochs: 4\nbatch_size: 16\nruns: 2\nkfolds: 2\neval_every: 2\n"
    )
    (root / "sweep.yaml").write_text(SWEEP_CONFIG)
    lab("run", root / "iris.yaml", "--out", root / "results", "-q")
    (run_dir,) = (root / "results" / "tiny_iris").iterdir()
    lab("report", run_dir)
    lab("sweep", root / "sweep.yaml", "--out", root / "results", "-q")
    (sweep_dir,) = (root / "results" / "and_sweep").iterdir()
    uri = f"sqlite:///{root / 'store' / 'mlruns.db'}"
    (root / "store").mkdir()
    first = lab("export", "mlflow", run_dir, sweep_dir, "--tracking-uri", uri)
    second = lab("export", "mlflow", run_dir, sweep_dir, "--tracking-uri", uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    return run_dir, sweep_dir, client, first.output, second.output, uri


def runs_of(client, name):
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id])


def test_exporting_twice_makes_no_duplicates(exported):
    _, _, client, first, second, _ = exported
    assert "4 runs exported, 0 already there" in first  # the run, the sweep and its 2 points
    assert "0 runs exported, 4 already there" in second
    assert len(runs_of(client, "tiny_iris")) == 1 and len(runs_of(client, "and_sweep")) == 3


def test_metric_histories_equal_epochs_csv(exported):
    run_dir, _, client, _, _, _ = exported
    (run,) = runs_of(client, "tiny_iris")
    epochs = pd.read_csv(run_dir / "epochs.csv")
    metrics = [c for c in epochs.columns if c not in ("run", "fold", "seed", "epoch", "split")]
    assert set(epochs["epoch"]) == {0, 2, 4}
    for (r, fold, split), rows in epochs.groupby(["run", "fold", "split"]):
        for metric in metrics:
            history = client.get_metric_history(run.info.run_id, f"{split}.{metric}.run{r}_fold{fold}")
            got = sorted((m.step, m.value) for m in history)
            assert got == list(zip(rows["epoch"], rows[metric]))
    mean = epochs.groupby(["split", "epoch"])["accuracy"].mean()
    for split in ("train", "test"):
        history = client.get_metric_history(run.info.run_id, f"{split}.accuracy")
        assert sorted((m.step, m.value) for m in history) == list(mean[split].items())


def test_params_final_metrics_tags_and_artifacts(exported):
    run_dir, _, client, _, _, _ = exported
    (run,) = runs_of(client, "tiny_iris")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert run.data.params == flatten(config)
    assert run.data.params["optimizer.learning_rate"] == str(config["optimizer"]["learning_rate"])
    assert run.data.params["architecture"] == "[4, 5, 3]"
    summary = pd.read_csv(run_dir / "summary.csv")
    final = summary[(summary["kind"] == "final") & (summary["run"] == "mean") & (summary["split"] == "test")]
    assert run.data.metrics["final.test.accuracy"] == pytest.approx(final["accuracy"].iloc[0])
    manifest = yaml.safe_load((run_dir / "manifest.json").read_text())
    assert run.data.tags["perceptron_lab.config_hash"] == manifest["config_hash"]
    assert run.data.tags["perceptron_lab.dataset"] == "iris"
    assert run.data.tags["perceptron_lab.version"] == manifest["versions"]["perceptron_lab"]
    assert run.info.status == "FINISHED"
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "manifest.json", "report"} <= top
    report = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert "report/report.html" in report and any(p.endswith(".png") for p in report)


def test_a_sweep_is_a_parent_run_with_a_child_per_point(exported):
    _, sweep_dir, client, _, _, _ = exported
    runs = runs_of(client, "and_sweep")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    table = pd.read_csv(sweep_dir / "sweep.csv")
    assert sorted(c.info.run_name for c in children) == sorted(table["point"])
    for child in children:
        row = table[table["point"] == child.info.run_name].iloc[0]
        assert float(child.data.params["optimizer.learning_rate"]) == row["optimizer.learning_rate"]
        assert child.data.metrics["final.train.loss"] == pytest.approx(row["train_loss_mean"])
    assert parent.data.params["epochs"] == "5"
    # The sweep had no report/: one was rendered for the export (points keep their own figures).
    report = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert "report/report.html" in report
    assert not (sweep_dir / "report").exists()


def test_an_unfinished_export_is_replaced(exported):
    run_dir, _, _, _, _, uri = exported
    lab("export", "mlflow", run_dir, "--tracking-uri", uri, "--experiment", "runs")
    client = mlflow.MlflowClient(tracking_uri=uri)
    (done,) = runs_of(client, "runs")
    identity = done.data.tags[IDENTITY_TAG]
    client.set_terminated(done.info.run_id, "RUNNING")  # as if the export had been cut off
    lab("export", "mlflow", run_dir, "--tracking-uri", uri, "--experiment", "runs")
    (again,) = runs_of(client, "runs")
    assert again.info.run_id != done.info.run_id and again.data.tags[IDENTITY_TAG] == identity
    assert again.info.status == "FINISHED"


def test_a_results_name_folder_exports_every_run_in_it(exported):
    run_dir, sweep_dir, client, _, _, uri = exported
    result = lab("export", "mlflow", run_dir.parent, sweep_dir.parent, "--tracking-uri", uri)
    assert "0 runs exported, 4 already there" in result.output


def test_a_directory_that_is_no_results_is_one_line_exit_2(tmp_path):
    result = RUNNER.invoke(
        app, ["export", "mlflow", str(tmp_path), "--tracking-uri", f"sqlite:///{tmp_path}/m.db"]
    )
    assert result.exit_code == 2 and "not a run or sweep directory" in result.output


def test_without_mlflow_the_command_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    result = RUNNER.invoke(app, ["export", "mlflow", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'perceptron_lab[mlflow]'" in result.output
