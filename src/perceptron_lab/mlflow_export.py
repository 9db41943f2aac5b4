"""Export results directories to an MLflow tracking store (`lab export mlflow`).

Per run directory, one MLflow run holding:
  params     the config (config.yaml) flattened to dotted keys, e.g. `optimizer.learning_rate`;
             lists and mappings as JSON
  metrics    `<split>.<metric>` per evaluated epoch (step = epoch), the mean over replicas;
             `<split>.<metric>.run<r>_fold<k>` the same per replica (epochs.csv);
             `final.<split>.<metric>` and `final.<split>.<metric>.std` (summary.csv, final rows)
  artifacts  config.yaml, manifest.json, plots/ and report/ (report.html and its figures;
             rendered for the export when a run or sweep directory has none)
  tags       perceptron_lab.config_hash, .dataset, .version, .source (the directory) and
             .identity, which makes exporting again skip what the store already has.

A sweep directory becomes a parent run (the base config as params, its settings as tags) with
one child run per finished point. The identity of a run directory is a hash of its manifest.json,
so a directory moved elsewhere is still recognized. A run found unfinished in the store (an export
that was interrupted) is deleted and exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import UserError
from .experiment.results_dir import is_run_dir, load_results
from .extras import require

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
IDENTITY_TAG = "perceptron_lab.identity"
BATCH = 1000
"""Most metrics MLflow takes in one log_batch call (params: 100)."""
ID_COLUMNS = ("run", "fold", "seed", "epoch", "split", "kind", "status")


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1, "c": [1, 2]}} -> {"a.b": "1", "a.c": "[1, 2]"} (strings, as MLflow params)."""
    if isinstance(data, dict) and data:
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    text = data if isinstance(data, str) else json.dumps(data)
    return {prefix: text}


def _replica(run: Any, fold: Any) -> str:
    return f"run{run}_fold{fold}"


def epoch_metrics(epochs: pd.DataFrame) -> Iterator[tuple[str, int, float]]:
    """(key, step, value) of every per-epoch metric: per replica and the mean over replicas.

    epochs: epochs.csv. NaN values (a replica that stopped early) are left out.
    """
    metrics = [c for c in epochs.columns if c not in ID_COLUMNS]
    for (run, fold, split), rows in epochs.groupby(["run", "fold", "split"], sort=False):
        for metric in metrics:
            for epoch, value in zip(rows["epoch"], rows[metric]):
                if pd.notna(value):
                    yield f"{split}.{metric}.{_replica(run, fold)}", int(epoch), float(value)
    means = epochs.groupby(["split", "epoch"], sort=False)[metrics].mean()
    for (split, epoch), row in means.iterrows():
        for metric in metrics:
            if pd.notna(row[metric]):
                yield f"{split}.{metric}", int(epoch), float(row[metric])


def final_metrics(summary: pd.DataFrame) -> dict[str, float]:
    """{"final.<split>.<metric>": mean, "final.<split>.<metric>.std": std} from summary.csv."""
    metrics = [c for c in summary.columns if c not in ID_COLUMNS]
    final = summary[summary["kind"] == "final"]
    out: dict[str, float] = {}
    for stat, suffix in (("mean", ""), ("std", ".std")):
        for _, row in final[final["run"].astype(str) == stat].iterrows():
            for metric in metrics:
                if pd.notna(row[metric]):
                    out[f"final.{row['split']}.{metric}{suffix}"] = float(row[metric])
    return out


def run_identity(run_dir: Path) -> str:
    """A run directory's identity: 16 hex digits of its manifest.json's hash."""
    return hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()[:16]


def sweep_identity(plan: dict) -> str:
    return hashlib.sha256(f"sweep:{plan.get('name')}:{plan.get('created')}".encode()).hexdigest()[:16]


def _milliseconds(stamp: str | None) -> int:
    try:
        return int(datetime.fromisoformat(str(stamp)).timestamp() * 1000)
    except ValueError:
        return 0


class Exporter:
    """Writes runs and sweeps into one MLflow tracking store."""

    def __init__(
        self, tracking_uri: str = DEFAULT_TRACKING_URI, experiment: str | None = None, reports: bool = True
    ):
        mlflow = require("mlflow", "lab export mlflow")
        for name in ("mlflow", "alembic"):  # their INFO lines about creating the store's tables
            logging.getLogger(name).setLevel(logging.WARNING)
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.reports = reports
        self.exported = 0
        self.skipped = 0

    # -- the store -------------------------------------------------------------------------
    def experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if self.tracking_uri.startswith("sqlite:///"):
            # Artifacts beside the database file, whatever the working directory.
            database = Path(self.tracking_uri.removeprefix("sqlite:///"))
            location = (database.parent.absolute() / "mlartifacts").as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    def _existing(self, experiment_id: str, identity: str):
        """The finished run tagged with `identity`, or None (unfinished ones are deleted)."""
        runs = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{IDENTITY_TAG}` = '{identity}'", max_results=10
        )
        for run in runs:
            if run.info.status == "FINISHED":
                return run
            self.client.delete_run(run.info.run_id)
        return None

    def _log(
        self, run_id: str, params: dict[str, str], metrics: list[tuple[str, int, float]], stamp: int
    ) -> None:
        entities = require("mlflow.entities", "lab export mlflow")
        items = [entities.Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])
        values = [entities.Metric(k, v, stamp, step) for k, step, v in metrics]
        for i in range(0, len(values), BATCH):
            self.client.log_batch(run_id, metrics=values[i : i + BATCH])

    def _log_figures(self, run_id: str, directory: Path, build: bool) -> None:
        """plots/ and report/ (report.html and its figures) of a run or sweep directory.

        build: when the directory has no report/, render one into a temporary folder first
        (sweep points are left as they are: their parent carries the sweep's report).
        """
        if (directory / "plots").is_dir():
            self.client.log_artifacts(run_id, str(directory / "plots"), artifact_path="plots")
        if (directory / "report").is_dir():
            self.client.log_artifacts(run_id, str(directory / "report"), artifact_path="report")
        elif build and self.reports:
            from .report import build_report

            with tempfile.TemporaryDirectory() as temporary:
                build_report([directory], out_dir=temporary)
                self.client.log_artifacts(run_id, temporary, artifact_path="report")

    # -- what is exported --------------------------------------------------------------------
    def export_run(self, run_dir: Path, experiment_id: str, parent_id: str | None = None) -> str:
        """One run directory as one MLflow run (a child of `parent_id`); returns its run id."""
        identity = run_identity(run_dir)
        existing = self._existing(experiment_id, identity)
        if existing is not None:
            self.skipped += 1
            return existing.info.run_id
        results = load_results(run_dir)
        manifest = results.manifest
        tags = {
            IDENTITY_TAG: identity,
            "perceptron_lab.source": str(run_dir.absolute()),
            "perceptron_lab.config_hash": str(manifest.get("config_hash", "")),
            "perceptron_lab.dataset": str(manifest.get("dataset", {}).get("name", "")),
            "perceptron_lab.version": str(manifest.get("versions", {}).get("perceptron_lab", "")),
        }
        if parent_id is not None:
            tags["mlflow.parentRunId"] = parent_id
        stamp = _milliseconds(manifest.get("finished"))
        run = self.client.create_run(
            experiment_id, start_time=_milliseconds(manifest.get("started")), tags=tags, run_name=run_dir.name
        )
        run_id = run.info.run_id
        metrics = list(epoch_metrics(results.epochs))
        metrics += [(key, 0, value) for key, value in final_metrics(results.summary).items()]
        self._log(run_id, flatten(results.config), metrics, stamp)
        for name in ("config.yaml", "manifest.json"):
            self.client.log_artifact(run_id, str(run_dir / name))
        self._log_figures(run_id, run_dir, build=parent_id is None)
        self.client.set_terminated(run_id, "FINISHED", end_time=stamp or None)
        self.exported += 1
        return run_id

    def export_sweep(self, sweep_dir: Path, experiment_id: str) -> str:
        """A sweep directory as a parent run with one child run per finished point."""
        from .report import load_sweep

        sweep = load_sweep(sweep_dir)
        identity = sweep_identity(sweep.plan)
        existing = self._existing(experiment_id, identity)
        if existing is None:
            tags = {
                IDENTITY_TAG: identity,
                "perceptron_lab.source": str(sweep_dir.absolute()),
                "perceptron_lab.sweep": json.dumps(
                    sweep.plan.get("search") or {"grid": sweep.plan.get("grid")}
                ),
            }
            run = self.client.create_run(experiment_id, tags=tags, run_name=sweep_dir.name)
            parent_id = run.info.run_id
            self._log(parent_id, flatten(sweep.config or {}), [], 0)
            if (sweep_dir / "sweep.csv").is_file():
                self.client.log_artifact(parent_id, str(sweep_dir / "sweep.csv"))
            self._log_figures(parent_id, sweep_dir, build=True)
            self.exported += 1
        else:
            parent_id = existing.info.run_id
            self.skipped += 1
        for point in sweep.table["point"]:
            if is_run_dir(sweep_dir / str(point)):
                self.export_run(sweep_dir / str(point), experiment_id, parent_id)
        if existing is None:
            self.client.set_terminated(parent_id, "FINISHED")
        return parent_id

    def export(self, path: Path) -> str:
        """Export a run or sweep directory, or every one in a results/<name> folder; returns the
        (last) top-level MLflow run id."""
        from .report.sweep_plots import is_sweep_dir

        path = Path(path)
        if is_run_dir(path):
            name = json.loads((path / "manifest.json").read_text()).get("name", path.parent.name)
            return self.export_run(path, self.experiment_id(self.experiment or name))
        if is_sweep_dir(path):
            plan_file = path / "sweep.json"
            plan = json.loads(plan_file.read_text()) if plan_file.is_file() else {}
            config = path / "config.yaml"
            name = plan.get("name") or (yaml.safe_load(config.read_text()) or {}).get(
                "name", path.parent.name
            )
            return self.export_sweep(path, self.experiment_id(self.experiment or name))
        inside = sorted(p for p in path.iterdir() if p.is_dir() and (is_run_dir(p) or is_sweep_dir(p)))
        if not inside:
            raise UserError(f"{path}: not a run or sweep directory, nor a folder of them (results/<name>)")
        return [self.export(p) for p in inside][-1]


def export_mlflow(
    paths: list[str | Path],
    tracking_uri: str = DEFAULT_TRACKING_URI,
    experiment: str | None = None,
    reports: bool = True,
) -> tuple[int, int]:
    """Export run and sweep directories to MLflow; returns (runs exported, runs already there).

    experiment: the MLflow experiment name (default: each directory's config name).
    reports: render report.html for a run or sweep directory that has none (`lab report`).
    """
    directories = [Path(p) for p in paths]
    for directory in directories:
        if not directory.exists():
            raise UserError(f"{directory}: no such directory")
    exporter = Exporter(tracking_uri, experiment, reports)
    for directory in directories:
        exporter.export(directory)
    return exporter.exported, exporter.skipped
