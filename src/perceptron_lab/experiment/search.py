"""Search sweeps: Optuna samples points from a declared space; every trial is a sweep point.

    sweep:
      space:
        optimizer.learning_rate: {log_uniform: [1.0e-4, 1.0e-1]}
        regularization.l2: {uniform: [0.0, 0.01]}
        epochs: {int: [20, 200]}
        batch_size: [1, 8, 32]                     # a list: categorical choices
        architecture: [[4, 8, 3], [4, 16, 3]]      # choices may be lists
      objective: {metric: accuracy, split: validation, direction: maximize}

The sweep directory is the grid's (sweep.py): one ordinary run directory per trial, named
`trial-<n>__<its parameters>`, and the same sweep.csv (status `pruned` added), plus `study.db`,
the Optuna study in SQLite, which `resume` continues and optuna-dashboard opens.

Trials run in batches of `jobs`: ask that many, run them on the executor, tell their results.
The k-th trial counted by the study draws with a sampler seeded `config.seed + k`, so a study
that was interrupted and resumed draws the same points as one that was not. The objective is a
final `<split>_<metric>_mean` of sweep.csv (the mean over the trial's replicas). With a pruner,
each trial reports that mean after every evaluated epoch and stops when the pruner says so; a
pruned trial is a `pruned` row without a run directory. Pruning needs the study's SQLite file,
so it runs on the local backend only.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ExperimentConfig, build_config, canonical_path
from ..errors import ConfigError, UserError
from ..extras import require
from ..modes import PlotsMode
from ..progress import Progress
from ..train.metric_registry import METRICS, ORIGINAL_UNITS_SUFFIX, metric_direction, metrics_for
from .executors import TaskResult, make_executor
from .grid import Point, grid_of, point_names
from .results_dir import is_run_dir
from .sweep import (
    PointOutcome,
    SweepInterrupted,
    base_config,
    clear_leftovers,
    draw_sweep_figures,
    execute_point,
    failed_row,
    new_sweep_dir,
    plots_mode,
    point_row,
    pruned_row,
    read_plan,
    record_point,
    report_points,
    write_plan,
    write_table,
)

STUDY_FILE = "study.db"
SAMPLERS = ("random", "tpe")
PRUNERS = ("none", "median", "hyperband")
RANGES = ("uniform", "log_uniform", "int")
TPE_STARTUP_TRIALS = 4
"""TPE draws its first trials at random, then models the results (Optuna's default is 10)."""


def optuna_direction(metric: str) -> str:
    """Optuna's name for the direction that improves `metric` (the metrics registry's min/max)."""
    return "maximize" if metric_direction(metric) == "max" else "minimize"


# ---------------------------------------------------------------------------------------------
# The space


@dataclass(frozen=True)
class Dimension:
    """One searched key: a range (uniform, log_uniform, int) or categorical `choices`."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    def labels(self) -> list:
        """Optuna's categorical values: the choices, or their JSON when any is a list or mapping."""
        scalar = all(c is None or isinstance(c, (bool, int, float, str)) for c in self.choices)
        return list(self.choices) if scalar else [json.dumps(c) for c in self.choices]

    def suggest(self, trial) -> Any:
        """This key's value for an Optuna trial."""
        if self.kind == "choice":
            labels = self.labels()
            return self.choices[labels.index(trial.suggest_categorical(self.key, labels))]
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high))
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "log_uniform")

    def extremes(self) -> list:
        """Values to validate the key with: both bounds, or every choice."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _dimension(key: str, spec: Any, where: str) -> Dimension:
    """The dimension of canonical `key` from its spec; `where` names it in errors."""
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: the list of choices is empty")
        labels = Dimension(key, "choice", choices=tuple(spec)).labels()
        repeated = next((c for i, c in enumerate(labels) if c in labels[:i]), None)
        if repeated is not None:
            raise ConfigError(f"{where}: choice {repeated!r} is listed twice")
        return Dimension(key, "choice", choices=tuple(spec))
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"{where}: give {{uniform|log_uniform|int: [low, high]}} or a list of choices")
    ((kind, bounds),) = spec.items()
    if kind not in RANGES:
        raise ConfigError(f"{where}: unknown distribution {kind!r}; use {', '.join(RANGES)} or a list")
    if not isinstance(bounds, list) or len(bounds) != 2 or not all(map(_number, bounds)):
        raise ConfigError(f"{where}: {kind} takes [low, high], two numbers (got {bounds!r})")
    low, high = bounds
    if kind == "int" and not all(isinstance(b, int) for b in bounds):
        raise ConfigError(f"{where}: int takes integer bounds (got {bounds!r})")
    if low >= high:
        raise ConfigError(f"{where}: low {low} must be < high {high}")
    if kind == "log_uniform" and low <= 0:
        raise ConfigError(f"{where}: log_uniform needs low > 0 (got {low})")
    return Dimension(key, kind, low, high)


def parse_space(config: ExperimentConfig) -> list[Dimension]:
    """The dimensions of `config.sweep.space`, each checked: ConfigError (one line, the key) on a
    bad range, an empty choice list, or a key (or value) the config does not accept."""
    space = (config.sweep.space if config.sweep is not None else None) or {}
    if not space:
        raise UserError("nothing to search: the config has no sweep.space block")
    dimensions: dict[str, Dimension] = {}
    base = base_config(config)
    for key, spec in space.items():
        canonical = canonical_path(key)
        if canonical == "sweep" or canonical.startswith("sweep."):
            raise ConfigError(f"sweep.space.{key}: a sweep cannot vary its own sweep settings")
        if canonical in dimensions:
            raise ConfigError(f"sweep.space: {key} and {canonical} name the same key")
        dimension = _dimension(canonical, spec, f"sweep.space.{key}")
        for value in dimension.extremes():
            build_config(base, overrides={canonical: value}, source=f"sweep.space.{key}")
        dimensions[canonical] = dimension
    return list(dimensions.values())


# ---------------------------------------------------------------------------------------------
# The objective


@dataclass(frozen=True)
class Objective:
    metric: str
    split: str
    direction: str

    @property
    def column(self) -> str:
        """Its sweep.csv column."""
        return f"{self.split}_{self.metric}_mean"


def recorded_splits(config: ExperimentConfig) -> list[str]:
    """The splits a run of `config` evaluates (noise splits aside)."""
    splits = ["train"]
    if config.split.validation_split > 0:
        splits.append("validation")
    if config.test_dataset is not None or config.kfolds > 1 or config.split.test_size > 0:
        splits.append("test")
    return splits


def resolve_objective(config: ExperimentConfig) -> Objective:
    """sweep.objective with its defaults filled in; ConfigError for a split or metric not recorded."""
    spec = config.sweep.objective if config.sweep is not None else None
    metric = spec.metric if spec is not None else "loss"
    known = {*METRICS, *(m + ORIGINAL_UNITS_SUFFIX for m in metrics_for("regression"))}
    allowed = {"loss", *config.metrics} if config.metrics is not None else known
    if metric not in allowed:
        raise ConfigError(f"sweep.objective.metric: {metric!r} is not recorded; use one of {sorted(allowed)}")
    splits = recorded_splits(config)
    default = "validation" if "validation" in splits else splits[-1]
    split = spec.split if spec is not None and spec.split is not None else default
    noisy = split.startswith("test_noise_") and "test" in splits
    if split not in splits and not noisy:
        raise ConfigError(f"sweep.objective.split: {split!r} is not recorded; splits: {', '.join(splits)}")
    direction = spec.direction if spec is not None and spec.direction else optuna_direction(metric)
    return Objective(metric, split, direction)


def check_search(config: ExperimentConfig) -> None:
    """Check sweep.space and sweep.objective (ConfigError naming the key) without running anything."""
    parse_space(config)
    resolve_objective(config)


# ---------------------------------------------------------------------------------------------
# What a worker runs


@dataclass(frozen=True)
class PruningLink:
    """Where workers report per-epoch objectives: the study in SQLite, its pruner, the objective."""

    storage: str
    study: str
    pruner: str
    max_epochs: int
    objective: Objective


@dataclass
class TrialTask:
    config: ExperimentConfig
    trial_id: int
    pruning: PruningLink | None
    draw_figures: bool = False


@dataclass
class TrialOutcome:
    point: PointOutcome
    pruned_after: int | None
    """The epoch after which the pruner stopped the trial, or None."""


def make_pruner(name: str, max_epochs: int):
    optuna = require("optuna", "pruner", param="pruner")
    if name == "median":
        # Not before 3 trials have finished, nor in the first tenth of a trial's epochs.
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, max_epochs // 10))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise UserError(f"pruner: {name!r} is not one of {', '.join(PRUNERS)}", param="pruner")


def make_sampler(name: str, seed: int):
    optuna = require("optuna", "sampler", param="sampler")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP_TRIALS)
    raise UserError(f"sampler: {name!r} is not one of {', '.join(SAMPLERS)}", param="sampler")


def execute_trial(task: TrialTask) -> TrialOutcome:
    """Run a trial's experiment, reporting to its study and stopping when pruned (a worker runs this)."""
    link = task.pruning
    if link is None:
        return TrialOutcome(execute_point(task.config, task.draw_figures), None)
    import optuna

    study = optuna.load_study(
        study_name=link.study, storage=link.storage, pruner=make_pruner(link.pruner, link.max_epochs)
    )
    trial = optuna.trial.Trial(study, task.trial_id)
    split, metric = link.objective.split, link.objective.metric
    stopped: list[int] = []

    def report(epoch: int, logs: dict, active: np.ndarray) -> None:
        values = np.asarray(logs.get(split, {}).get(metric, []), dtype=np.float64)
        if epoch == 0 or not np.isfinite(values).any():  # epoch 0 is the untrained network
            return
        trial.report(float(np.nanmean(values)), epoch)
        if trial.should_prune():
            stopped.append(epoch)
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    outcome = execute_point(task.config, task.draw_figures, report)
    return TrialOutcome(outcome, stopped[0] if stopped else None)


# ---------------------------------------------------------------------------------------------
# The driver


@dataclass
class Trial:
    """A trial this driver asked for: Optuna's handle, its point, directory name and config."""

    handle: Any
    point: Point
    name: str
    config: ExperimentConfig | None
    error: str | None = None


def _task(trial: Trial, link: PruningLink | None, draw_figures: bool) -> TrialTask:
    assert trial.config is not None
    return TrialTask(trial.config, trial.handle._trial_id, link, draw_figures)


def trial_name(number: int, point: Point) -> str:
    return f"trial-{number:04d}__{point_names([point])[0]}"


def _settings(config: ExperimentConfig, sampler: str, trials: int, pruner: str, objective: Objective) -> dict:
    space = config.sweep.space if config.sweep is not None else {}
    return {
        "sampler": sampler,
        "trials": trials,
        "pruner": pruner,
        "space": {canonical_path(k): v for k, v in (space or {}).items()},
        "objective": {"metric": objective.metric, "split": objective.split, "direction": objective.direction},
        "base_config_hash": build_config(base_config(config)).config_hash(),
    }


def _check_resumable(sweep_dir: Path, stored: dict, settings: dict) -> None:
    found = stored.get("search")
    if not found:
        raise UserError(
            f"resume {sweep_dir}: that sweep is a grid; resume it without sampler",
            param=("resume", "sampler"),
        )
    for key in ("sampler", "space", "objective", "base_config_hash", "pruner"):
        if found.get(key) != settings[key]:
            what = "config" if key == "base_config_hash" else key
            raise UserError(
                f"resume {sweep_dir}: that search was started with another {what}", param="resume"
            )


def _counted(trial) -> bool:
    """A trial that finished (complete, pruned or failed), not one cut off by an interruption."""
    return trial.state.is_finished() and not trial.user_attrs.get("interrupted")


def _recover(study, sweep_dir: Path) -> dict[int, dict]:
    """sweep.csv rows of the finished trials in the study; trials left running by an
    interruption are closed as failed, not counted, and their leftovers removed."""
    optuna = require("optuna", "sampler", param="sampler")
    rows: dict[int, dict] = {}
    for trial in study.get_trials(deepcopy=False):
        name = trial.user_attrs.get("point")
        if trial.state == optuna.trial.TrialState.RUNNING:
            optuna.trial.Trial(study, trial._trial_id).set_user_attr("interrupted", True)
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            if name:
                clear_leftovers(sweep_dir / name)
        elif _counted(trial) and name:
            point = trial.user_attrs.get("params", {})
            if "row" in trial.user_attrs:
                rows[trial.number] = trial.user_attrs["row"]
            elif is_run_dir(sweep_dir / name):
                rows[trial.number] = point_row(point, name, sweep_dir / name)
    return rows


def _ask(study, dimensions: list[Dimension], config: ExperimentConfig, sampler: str, counted: int) -> Trial:
    study.sampler = make_sampler(sampler, config.seed + counted)
    handle = study.ask()
    point = {d.key: d.suggest(handle) for d in dimensions}
    name = trial_name(handle.number, point)
    handle.set_user_attr("point", name)
    handle.set_user_attr("params", point)
    try:
        trial_config = build_config(base_config(config), overrides=point, source=f"sweep point {name}")
    except ConfigError as error:  # a sampled value the config rejects is a failed trial
        return Trial(handle, point, name, None, str(error))
    return Trial(handle, point, name, trial_config)


def _check_objective_recorded(row: dict, objective: Objective) -> None:
    """ConfigError when a finished trial's results lack the objective (a metric of another task)."""
    if row["status"] in ("ok", "diverged") and objective.column not in row:
        recorded = sorted({c.rpartition("_")[0] for c in row if c.endswith("_mean")})
        raise ConfigError(
            f"sweep.objective: the runs record no {objective.split} {objective.metric} "
            f"(they record {', '.join(recorded)})"
        )


def _tell(study, trial: Trial, row: dict, objective: Objective) -> None:
    """Close the trial in the study with its objective, or as pruned / failed."""
    optuna = require("optuna", "sampler", param="sampler")
    state = optuna.trial.TrialState
    value = row.get(objective.column)
    if row["status"] == "pruned":
        trial.handle.set_user_attr("row", row)
        study.tell(trial.handle, state=state.PRUNED)
    elif row["status"] == "failed" or value is None or not math.isfinite(value):
        trial.handle.set_user_attr("row", row)
        study.tell(trial.handle, state=state.FAIL)
    else:
        study.tell(trial.handle, value)


def _row(trial: Trial, result: TaskResult, sweep_dir: Path, command: str | None) -> dict:
    outcome: TrialOutcome | None = result.value
    if result.error is None and outcome is not None and outcome.pruned_after is not None:
        return pruned_row(trial.point, trial.name, outcome.pruned_after, round(outcome.point.wall_time_s, 4))
    point_result = TaskResult(result.index, outcome.point if outcome is not None else None, result.error)
    return record_point(point_result, trial.point, trial.name, sweep_dir / trial.name, command)


def _plan(config: ExperimentConfig, settings: dict, rows: dict[int, dict], study, created: str) -> dict:
    """sweep.json: the grid's plan with the search settings; `points` are the finished trials."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    points = [
        {"name": trials[n].user_attrs["point"], "params": trials[n].user_attrs["params"]}
        for n in sorted(rows)
    ]
    return {
        "name": config.name,
        "status": "running",
        "created": created,
        "search": settings,
        "grid": grid_of([p["params"] for p in points]),
        "points": points,
        "config": base_config(config),
    }


def run_search(
    config: ExperimentConfig,
    sampler: str = "tpe",
    trials: int = 10,
    pruner: str = "none",
    out_root: str | Path | None = None,
    jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    resume: str | Path | None = None,
    progress: Progress | None = None,
    command: str | None = None,
    plots: PlotsMode | str | bool | None = None,
) -> Path:
    """Search `config.sweep.space` with `trials` Optuna trials; returns the sweep directory.

    sampler: "random" or "tpe"; pruner: "none", "median" or "hyperband". jobs, backend, address,
    progress, command and plots as for run_sweep. resume: an earlier search directory of the
    same config and space; its finished trials count towards `trials`.
    """
    optuna = require("optuna", "sampler", param="sampler")
    if sampler not in SAMPLERS:
        raise UserError(f"sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}", param="sampler")
    if trials < 1:
        raise UserError(f"trials must be >= 1 (got {trials})", param="trials")
    if backend == "dask" and pruner != "none":
        raise UserError(
            "pruner needs backend local: Dask workers cannot reach the study's SQLite file",
            param=("pruner", "backend"),
        )
    dimensions = parse_space(config)
    objective = resolve_objective(config)
    settings = _settings(config, sampler, trials, pruner, objective)
    mode = plots_mode(plots, config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    executor = make_executor(backend, jobs, address)
    try:
        created = datetime.now().astimezone().isoformat(timespec="seconds")
        if resume is None:
            sweep_dir = new_sweep_dir(Path(out_root or config.output.dir), config.name)
        else:
            sweep_dir = Path(resume)
            stored = read_plan(sweep_dir)
            _check_resumable(sweep_dir, stored, settings)
            created = stored.get("created", created)
        storage = f"sqlite:///{(sweep_dir / STUDY_FILE).absolute()}"
        study = optuna.create_study(
            storage=optuna.storages.RDBStorage(storage),
            study_name=config.name,
            direction=objective.direction,
            pruner=make_pruner(pruner, config.epochs),
            load_if_exists=resume is not None,
        )
        rows = _recover(study, sweep_dir)
        link = (
            None if pruner == "none" else PruningLink(storage, config.name, pruner, config.epochs, objective)
        )
        plan = _plan(config, settings, rows, study, created)
        write_plan(sweep_dir, plan)
        write_table(sweep_dir, rows)
        report_points(progress, sweep_dir, plan, rows, trials)
        try:
            while len(rows) < trials:
                batch = [
                    _ask(study, dimensions, config, sampler, len(rows) + i)
                    for i in range(min(jobs, trials - len(rows)))
                ]
                runnable = [t for t in batch if t.config is not None]
                rejected = [
                    (t, failed_row(t.point, t.name, t.error or "", None)) for t in batch if t.config is None
                ]
                draw = mode is PlotsMode.ALL
                results = executor.map(execute_trial, [_task(t, link, draw) for t in runnable])
                finished = (
                    (runnable[r.index], _row(runnable[r.index], r, sweep_dir, command)) for r in results
                )
                for trial, row in itertools.chain(rejected, finished):
                    _check_objective_recorded(row, objective)
                    _tell(study, trial, row, objective)
                    rows[trial.handle.number] = row
                    write_table(sweep_dir, rows)
                    plan = _plan(config, settings, rows, study, created)
                    report_points(progress, sweep_dir, plan, rows, trials)
                write_plan(sweep_dir, plan)
        except KeyboardInterrupt:
            raise SweepInterrupted(sweep_dir) from None
    finally:
        executor.close()

    plan = _plan(config, settings, rows, study, created)
    plan["status"] = "complete"
    plan["finished"] = datetime.now().astimezone().isoformat(timespec="seconds")
    write_plan(sweep_dir, plan)
    if mode is not PlotsMode.NONE and any(row["status"] in ("ok", "diverged") for row in rows.values()):
        draw_sweep_figures(sweep_dir, plan, rows, mode, progress)
    return sweep_dir
