"""Sweeps: one full experiment (every run x fold) per point of a grid over config keys.

    results/<name>/sweep-<YYYYmmdd-HHMMSS>/
      sweep.json     the plan: base config, grid, and per point its name, parameters, config hash
      config.yaml    the base config every point starts from (without its sweep block)
      sweep.csv      one row per finished point (columns in docs/results-format.md)
      plots/         the sweep figure (report.plot_sweep)
      <point name>/  an ordinary run directory per point, named by its parameters (grid.py)

Points run where an executor puts them (executors.py); their results come back as data and only
this module writes files. A point directory is written atomically, so `resume` keeps exactly the
points whose directory is complete and redoes the others.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..config import ExperimentConfig, build_config
from ..errors import UserError
from ..locking import SweepLock
from ..modes import PlotsMode
from ..progress import Progress, report
from .executors import TaskResult, make_executor
from .fork_executor import ForkExecutor, warm_imports
from .grid import Point, grid_of, grid_points, listed_points, merge_grids, point_names
from .partials import remove_stale_partials
from .results_dir import is_run_dir
from .runner import EpochHook, ExperimentResult, execute_experiment

PLAN_FILE = "sweep.json"
TABLE_FILE = "sweep.csv"


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; `sweep_dir` keeps the finished points for `resume`."""

    def __init__(self, sweep_dir: Path):
        super().__init__(str(sweep_dir))
        self.sweep_dir = sweep_dir


# ---------------------------------------------------------------------------------------------
# Points and their configs


def sweep_points(
    config: ExperimentConfig, grid_overrides: list[str] | None = None, resume: str | Path | None = None
) -> list[Point]:
    """The grid points of `config.sweep.grid` extended by `grid_overrides` ('key=v1,v2' strings),
    or the `config.sweep.points` list as given.

    With `resume` and no grid overrides, the points are the ones stored in that sweep directory.
    Every point's config is validated here, so a bad value fails (ConfigError naming the key)
    before anything trains.
    """
    if resume is not None:
        _refuse_search(Path(resume), read_plan(Path(resume)))
    listed = config.sweep.points if config.sweep is not None else None
    if resume is not None and not grid_overrides:
        points = [p["params"] for p in read_plan(Path(resume)).get("points", [])]
    elif listed is not None:
        if grid_overrides:
            raise UserError(
                "grid_overrides cannot extend a sweep.points list; add the points to the list",
                param="grid_overrides",
            )
        points = listed_points(listed)
    else:
        yaml_grid = config.sweep.grid if config.sweep is not None else {}
        grid = merge_grids(yaml_grid, grid_overrides or [])
        points = grid_points(grid) if grid else []
    if not points:
        if config.sweep is not None and config.sweep.space:
            raise UserError(
                "nothing to sweep on a grid: the config declares sweep.space; use sampler tpe|random",
                param="sampler",
            )
        raise UserError(
            "nothing to sweep: give grid_overrides key=v1,v2,... or a sweep.grid or sweep.points block "
            "in the config",
            param="grid_overrides",
        )
    point_configs(config, points)
    return points


def base_config(config: ExperimentConfig) -> dict[str, Any]:
    """The canonical config dict every point starts from (without its `sweep` block)."""
    data = config.to_dict()
    data.pop("sweep", None)
    return data


def point_configs(
    config: ExperimentConfig, points: list[Point], names: list[str] | None = None
) -> list[ExperimentConfig]:
    """One validated ExperimentConfig per point: the base config with the point's values set."""
    base = base_config(config)
    names = names or point_names(points)
    return [
        build_config(base, overrides=point, source=f"sweep point {name}")
        for point, name in zip(points, names)
    ]


# ---------------------------------------------------------------------------------------------
# What a worker runs


@dataclass
class PointOutcome:
    """A point's experiment result, or the one-line error it failed with (picklable data).

    figures: the point's figures drawn where it ran (file name -> bytes), or None.
    """

    result: ExperimentResult | None
    error: str | None
    wall_time_s: float
    figures: dict[str, bytes] | None = None


def draw_point_figures(result: ExperimentResult) -> dict[str, bytes]:
    """The figures `lab run` draws for `result`, drawn in a scratch directory here and returned
    as data (file name -> bytes), so that a worker without the driver's filesystem can draw them."""
    from .results import write_run_dir

    with tempfile.TemporaryDirectory(prefix="perceptron_lab-") as scratch:
        run_dir = write_run_dir(result, Path(scratch) / "point", plots=True)
        plots = run_dir / "plots"
        return {path.name: path.read_bytes() for path in sorted(plots.iterdir())} if plots.is_dir() else {}


def execute_point(
    config: ExperimentConfig, draw_figures: bool = False, epoch_hook: EpochHook | None = None
) -> PointOutcome:
    """Run one point's experiment (and draw its figures when asked); a failure becomes data so
    the sweep goes on. epoch_hook: see execute_experiment (a search's pruning)."""
    started = time.perf_counter()
    try:
        result = execute_experiment(config, epoch_hook=epoch_hook)
    except Exception as error:  # any failure of one point is recorded, not raised
        message = " ".join(f"{type(error).__name__}: {error}".split())
        return PointOutcome(None, message, time.perf_counter() - started)
    wall_time_s = time.perf_counter() - started  # the experiment's time, as with plots off
    figures = draw_point_figures(result) if draw_figures else None
    return PointOutcome(result, None, wall_time_s, figures)


# ---------------------------------------------------------------------------------------------
# sweep.csv


def param_value(value: Any) -> Any:
    """A parameter as a sweep.csv cell: scalars as they are, lists and mappings as JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return value


def final_metrics(summary: pd.DataFrame) -> dict[str, float]:
    """{"<split>_<metric>_mean": ..., "<split>_<metric>_std": ...} from a summary.csv table.

    Uses the aggregate rows (run == "mean" / "std") of kind "final", splits in table order.
    """
    metrics = [
        c for c in summary.columns if c not in ("run", "fold", "seed", "split", "kind", "epoch", "status")
    ]
    final = summary[summary["kind"] == "final"]
    run = final["run"].astype(str)
    out: dict[str, float] = {}
    for split in dict.fromkeys(final["split"]):
        mean = final[(run == "mean") & (final["split"] == split)]
        std = final[(run == "std") & (final["split"] == split)]
        for metric in metrics:
            out[f"{split}_{metric}_mean"] = float(mean[metric].iloc[0]) if len(mean) else float("nan")
            out[f"{split}_{metric}_std"] = float(std[metric].iloc[0]) if len(std) else float("nan")
    return out


def _row(point: Point, name: str, status: str, wall_time_s: float | None, error: str) -> dict[str, Any]:
    """The sweep.csv columns every row starts with: point, its parameters, status, time, error."""
    return {
        "point": name,
        **{key: param_value(value) for key, value in point.items()},
        "status": status,
        "wall_time_s": wall_time_s,
        "error": error,
    }


def point_row(point: Point, name: str, run_dir: Path) -> dict[str, Any]:
    """The sweep.csv row of a point whose run directory is complete."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    diverged = any(replica["status"] == "diverged" for replica in manifest["replicas"])
    row = _row(point, name, "diverged" if diverged else "ok", manifest["wall_time_s"], "")
    row.update(final_metrics(pd.read_csv(run_dir / "summary.csv")))
    return row


def failed_row(point: Point, name: str, error: str, wall_time_s: float | None) -> dict[str, Any]:
    return _row(point, name, "failed", wall_time_s, error)


def pruned_row(point: Point, name: str, epoch: int, wall_time_s: float | None) -> dict[str, Any]:
    """The row of a search trial stopped early for its poor objective (no run directory)."""
    return _row(point, name, "pruned", wall_time_s, f"pruned after epoch {epoch}")


def _atomic_write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def write_table(sweep_dir: Path, rows: dict[int, dict[str, Any]]) -> Path:
    """Write sweep.csv (rows in grid order) atomically; no rows, no file."""
    path = sweep_dir / TABLE_FILE
    if not rows:
        path.unlink(missing_ok=True)
        return path
    table = pd.DataFrame([rows[i] for i in sorted(rows)])
    _atomic_write_text(path, table.to_csv(index=False))
    return path


# ---------------------------------------------------------------------------------------------
# The sweep directory and its plan


def new_sweep_dir(root: Path, name: str) -> Path:
    """Create results/<name>/sweep-<YYYYmmdd-HHMMSS> (suffixed -1, -2, ... if taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / name / f"sweep-{stamp}"
    candidate, n = base, 1
    base.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            candidate = base.with_name(f"{base.name}-{n}")
            n += 1


def make_plan(
    config: ExperimentConfig, points: list[Point], names: list[str], configs: list[ExperimentConfig]
) -> dict:
    """The content of sweep.json."""
    return {
        "name": config.name,
        "status": "running",
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "grid": grid_of(points),
        "listed": config.sweep is not None and config.sweep.points is not None,
        "points": [
            {"name": name, "params": point, "config_hash": cfg.config_hash()}
            for point, name, cfg in zip(points, names, configs)
        ],
        "config": base_config(config),
    }


def write_plan(sweep_dir: Path, plan: dict) -> None:
    """sweep.json, and config.yaml with the base config."""
    _atomic_write_text(sweep_dir / PLAN_FILE, json.dumps(plan, indent=2, default=str))
    _atomic_write_text(sweep_dir / "config.yaml", yaml.safe_dump(plan["config"], sort_keys=False))


def read_plan(sweep_dir: Path) -> dict:
    path = Path(sweep_dir) / PLAN_FILE
    if not path.is_file():
        raise UserError(f"{sweep_dir}: not a sweep directory (no {PLAN_FILE})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: unreadable ({error.msg} at line {error.lineno})") from None


def _grid_overrides(grid: dict[str, list[Any]]) -> tuple[str, int]:
    """The grid as grid overrides, each `grid_overrides key=v1,v2` with the override shell-quoted,
    and how many there are."""

    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    overrides = [shlex.quote(key + "=" + ",".join(text(v) for v in values)) for key, values in grid.items()]
    return " ".join(f"grid_overrides {override}" for override in overrides), len(overrides)


def _refuse_search(sweep_dir: Path, stored: dict) -> None:
    """A search directory (search.py) is resumed by a search, not as a grid."""
    if stored.get("search"):
        sampler, trials = stored["search"].get("sampler"), stored["search"].get("trials")
        raise UserError(
            f"resume {sweep_dir}: that sweep is a search; resume it with sampler {sampler} and trials {trials}",
            param=("resume", "sampler", "trials"),
        )


def check_resumable(sweep_dir: Path, plan: dict, stored: dict) -> None:
    """Raise UserError unless `stored` (the sweep.json found) plans the same points as `plan`."""
    _refuse_search(sweep_dir, stored)
    planned = [(p["name"], p["config_hash"]) for p in plan["points"]]
    found = [(p["name"], p["config_hash"]) for p in stored.get("points", [])]
    if planned == found:
        return
    names = {name for name, _ in found}
    hashes = dict(found)
    if [name for name, _ in planned] != [name for name, _ in found]:
        missing = next((name for name, _ in planned if name not in names), None)
        reason = f"point {missing} is not in it" if missing else "its points differ"
    else:
        changed = next(name for name, digest in planned if hashes[name] != digest)
        reason = f"point {changed} has a different config"
    same, n_overrides = "the same config", 0
    if not stored.get("listed"):
        overrides, n_overrides = _grid_overrides(stored.get("grid", {}))
        same += f" and {overrides}"
    raise UserError(
        f"resume {sweep_dir}: that sweep was started with another config or grid ({reason}); "
        f"resume it with {same}",
        param=("resume", *["grid_overrides"] * n_overrides),
    )


def clear_leftovers(run_dir: Path) -> None:
    """Remove an incomplete point directory and its `.partial` builds, if any (the sweep
    directory is locked: no other process is building them)."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    remove_stale_partials(run_dir.parent, run_dir.name, min_age_s=0)


# ---------------------------------------------------------------------------------------------
# Running a sweep


def record_point(outcome: TaskResult, point: Point, name: str, run_dir: Path, command: str | None) -> dict:
    """Write a finished point's run directory and return its sweep.csv row."""
    if outcome.error is not None:
        return failed_row(point, name, outcome.error, None)
    result: PointOutcome = outcome.value
    if result.error is not None:
        return failed_row(point, name, result.error, round(result.wall_time_s, 4))
    try:
        from .results import write_run_dir

        assert result.result is not None  # a point without an error has its result
        write_run_dir(result.result, run_dir, command=command, plots=False, figures=result.figures)
    except Exception as error:  # a point whose files cannot be written is a failed point
        message = " ".join(f"writing {run_dir.name}: {type(error).__name__}: {error}".split())
        return failed_row(point, name, message, round(result.wall_time_s, 4))
    return point_row(point, name, run_dir)


def _open_sweep_dir(plan: dict, root: Path, resume: str | Path | None, lock: SweepLock) -> Path:
    """A new sweep directory under root/<name>/, or the `resume` one after checking its plan;
    `lock` holds it from before its plan is read or written (UserError when another process has it)."""
    if resume is None:
        from .results import check_writable

        check_writable(root, plan["name"])
        sweep_dir = new_sweep_dir(root, plan["name"])
        lock.acquire(sweep_dir)
    else:
        sweep_dir = Path(resume)
        read_plan(sweep_dir)  # a sweep directory at all
        lock.acquire(sweep_dir)
        stored = read_plan(sweep_dir)
        check_resumable(sweep_dir, plan, stored)
        plan["created"] = stored.get("created", plan["created"])
    write_plan(sweep_dir, plan)
    return sweep_dir


def _kept_points(sweep_dir: Path, points: list[Point], names: list[str]) -> tuple[dict[int, dict], list[int]]:
    """sweep.csv rows of the points already complete, and the indices of the points to run.

    Leftovers of incomplete points are removed.
    """
    rows: dict[int, dict[str, Any]] = {}
    todo: list[int] = []
    for i, name in enumerate(names):
        run_dir = sweep_dir / name
        if is_run_dir(run_dir):
            rows[i] = point_row(points[i], name, run_dir)
        else:
            clear_leftovers(run_dir)
            todo.append(i)
    return rows, todo


def plots_mode(plots: PlotsMode | str | bool | None, config: ExperimentConfig) -> PlotsMode:
    """PlotsMode from a mode or its name; True is best, False none, None follows output.plots."""
    if plots is None:
        return PlotsMode.BEST if config.output.plots else PlotsMode.NONE
    if isinstance(plots, bool):
        return PlotsMode.BEST if plots else PlotsMode.NONE
    try:
        return PlotsMode(plots)
    except ValueError:
        raise UserError(f"plots: {plots!r} is not one of {', '.join(m.value for m in PlotsMode)}") from None


def best_so_far(sweep_dir: Path, plan: dict, rows: dict[int, dict[str, Any]]):
    """(best row, "split metric") among `rows` by the preferred result (accuracy, mse or loss on
    test, validation or train), or None before any point has finished ok."""
    from ..report.sweep_plots import SweepResults, best_point, choose_sweep_metric_split

    if not any(row["status"] == "ok" for row in rows.values()):
        return None
    table = pd.DataFrame([rows[i] for i in sorted(rows)])
    sweep = SweepResults(sweep_dir, table, [k for k in plan["grid"] if k in table], plan, None)
    try:
        metric, split = choose_sweep_metric_split(sweep, None, None)
    except UserError:
        return None
    best = best_point(sweep, metric, split)
    return None if best is None else (best, f"{split} {metric}")


def report_points(progress: Progress | None, sweep_dir: Path, plan: dict, rows: dict, total: int) -> None:
    if progress is None:
        return
    failed = sum(row["status"] == "failed" for row in rows.values())
    best = best_so_far(sweep_dir, plan, rows)
    status: dict[str, Any] = {"failed": failed, "remaining": total - len(rows)}
    if best is not None:
        status.update(best=best[0]["point"], result=best[1], best_value=float(best[0]["mean"]))
    report(progress, "points", len(rows), total, **status)


def run_sweep(
    config: ExperimentConfig,
    points: list[Point],
    out_root: str | Path | None = None,
    jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    resume: str | Path | None = None,
    progress: Progress | None = None,
    command: str | None = None,
    plots: PlotsMode | str | bool | None = None,
) -> Path:
    """Run one experiment per point and write the sweep directory; returns its path.

    config: the base config; points: from `sweep_points`. jobs: local worker processes
    (backend "local"); backend "dask" runs the points on the cluster at `address`.
    resume: an earlier sweep directory of the same config and points; its complete point
    directories are kept, the others redone. plots: a PlotsMode (or its name): "all" draws each
    point's figures in the worker that ran it, "best" only the best point's after the sweep,
    "none" nothing; any but none draws the sweep figure. Default: "best" when the config's
    output.plots is on, else "none". progress: a listener for the "points" phase (done/total,
    failures, the best point so far). command: recorded in each point's manifest.
    A point that fails or diverges is recorded in sweep.csv and the sweep goes on.
    """
    if not points:
        raise UserError("a sweep needs at least one point")
    names = point_names(points)
    configs = point_configs(config, points, names)
    plan = make_plan(config, points, names, configs)
    mode = plots_mode(plots, config)
    task = partial(execute_point, draw_figures=mode is PlotsMode.ALL)

    executor = make_executor(backend, jobs, address)
    lock = SweepLock()
    try:
        sweep_dir = _open_sweep_dir(plan, Path(out_root or config.output.dir), resume, lock)
        rows, todo = _kept_points(sweep_dir, points, names)
        write_table(sweep_dir, rows)
        report_points(progress, sweep_dir, plan, rows, len(points))
        if isinstance(executor, ForkExecutor) and todo:
            warm_imports(configs[todo[0]], figures=mode is PlotsMode.ALL)
        try:
            for outcome in executor.map(task, [configs[i] for i in todo]):
                i = todo[outcome.index]
                rows[i] = record_point(outcome, points[i], names[i], sweep_dir / names[i], command)
                write_table(sweep_dir, rows)
                report_points(progress, sweep_dir, plan, rows, len(points))
        except KeyboardInterrupt:
            for outcome in executor.finished():  # finished while interrupted: keep them too
                i = todo[outcome.index]
                rows[i] = record_point(outcome, points[i], names[i], sweep_dir / names[i], command)
                write_table(sweep_dir, rows)
            raise SweepInterrupted(sweep_dir) from None
        executor.close()

        plan["status"] = "complete"
        plan["finished"] = datetime.now().astimezone().isoformat(timespec="seconds")
        write_plan(sweep_dir, plan)
        if mode is not PlotsMode.NONE and any(row["status"] != "failed" for row in rows.values()):
            draw_sweep_figures(sweep_dir, plan, rows, mode, progress)
    finally:
        executor.close()
        lock.release()
    return sweep_dir


def draw_sweep_figures(
    sweep_dir: Path, plan: dict, rows: dict, mode: PlotsMode, progress: Progress | None
) -> None:
    """The sweep figure, and with mode best the best point's figures (unless it has them)."""
    from ..report import plot_run, plot_sweep

    best = best_so_far(sweep_dir, plan, rows) if mode is PlotsMode.BEST else None
    best_dir = sweep_dir / str(best[0]["point"]) if best is not None else None
    draw_best = best_dir is not None and is_run_dir(best_dir) and not (best_dir / "plots").is_dir()
    total = 1 + draw_best
    report(progress, "plot", 0, total, figure="sweep")
    plot_sweep(sweep_dir)
    report(progress, "plot", 1, total, figure="sweep")
    if draw_best and best_dir is not None:
        plot_run(best_dir, essential=True)
        report(progress, "plot", 2, total, figure=f"best point {best_dir.name}")
