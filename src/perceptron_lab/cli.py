"""The `lab` command line: thin typed commands over the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .cli_progress import progress_view
from .errors import UserError
from .modes import PlotsMode

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Run neural-network experiments from YAML configs: lab run, lab sweep, lab report.",
)
console = Console()
err_console = Console(stderr=True)


SET_HELP = "Override a config key, e.g. --set optimizer.learning_rate=0.1 (repeatable)."


def _command_line() -> str:
    return " ".join(["lab", *sys.argv[1:]])


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: no results directory was completed")
        raise typer.Exit(code=130) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"perceptron_lab {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """perceptron_lab: neural-network experiments from YAML configs."""


def _print_summary(run_dir: Path, as_json: bool) -> None:
    """The final metrics of a run: tables that fit the console, or JSON on stdout."""
    from .cli_tables import final_summary, summary_tables
    from .experiment import load_results

    results = load_results(run_dir)
    summary = final_summary(results)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        for table in summary_tables(summary, console.width):
            console.print(table)
    diverged = [r for r in results.manifest["replicas"] if r["status"] == "diverged"]
    if diverged:
        names = ", ".join(f"run {r['run']} fold {r['fold']}" for r in diverged)
        err_console.print(f"[yellow]warning:[/] diverged (loss became NaN/inf): {names}")


@app.command()
def run(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    out: Path | None = typer.Option(
        None, "--out", help="Results root (default: output.dir of the config, 'results')."
    ),
    max_replicas: int | None = typer.Option(
        None, "--max-replicas", min=1, help="Train at most this many replicas at once (memory)."
    ),
    dill: bool = typer.Option(False, "--dill", help="Also pickle every model with dill."),
    plots: bool | None = typer.Option(
        None, "--plots/--no-plots", help="Draw the run's plots (default: output.plots of the config)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary table."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the summary as JSON on stdout (with the run directory), no table."
    ),
) -> None:
    """Train the configured network on every run x fold and write a results directory."""
    from .config import load_config
    from .experiment import run_experiment

    with user_errors():
        overrides = [*set_, *([f"max_replicas={max_replicas}"] if max_replicas else [])]
        cfg = load_config(config, overrides)
        with progress_view(err_console, quiet) as progress:
            run_dir = run_experiment(
                cfg, out_root=out, progress=progress, command=_command_line(), plots=plots, dill=dill or None
            )
        if as_json or not quiet:
            _print_summary(run_dir, as_json)
    if not as_json:
        console.print(str(run_dir), soft_wrap=True, highlight=False)


@app.command()
def validate(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Check a config (schema, names, dataset and architecture) without training."""
    from .config import load_config
    from .experiment.specs import load_data, target_coding, task_metrics

    with user_errors():
        cfg = load_config(config, set_)
        dataset, _ = load_data(cfg)
        target_coding(cfg, dataset)
        task_metrics(cfg, dataset.task)
    console.print(
        f"{config}: ok ({cfg.n_replicas} replicas, dataset {cfg.dataset.name} {dataset.X.shape})",
        highlight=False,
    )


@app.command()
def datasets() -> None:
    """List the datasets a config can name, with their task and shape."""
    from .data import DATASETS, load_dataset

    table = Table(title="datasets")
    for column in ("name", "task", "shape", "description"):
        table.add_column(column)
    for name, entry in sorted(DATASETS.items()):
        shape = "from files"
        fields = entry.params.model_fields
        needs_files = any(f in fields for f in ("path", "download", "data_dir")) or any(
            f.is_required() for f in fields.values()
        )
        if not needs_files:
            data = load_dataset(name)
            shape = f"{data.n_samples} x {data.n_features} -> {data.n_outputs}"
        table.add_row(name, entry.task, shape, entry.description)
    console.print(table)


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="Experiment YAML file (its `sweep.grid` block is used too)."),
    grid: list[str] = typer.Option(
        [], "--grid", help="key=v1,v2,... (repeatable); points are the cartesian product."
    ),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    out: Path | None = typer.Option(None, "--out", help="Results root (default: output.dir of the config)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Points trained in parallel (local processes)."),
    backend: str = typer.Option("local", "--backend", help="local or dask."),
    address: str | None = typer.Option(
        None, "--address", help="Dask scheduler address, e.g. tcp://HOST:8786."
    ),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the sweep in this directory."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the points and exit."),
    plots: PlotsMode | None = typer.Option(
        None,
        "--plots",
        help="Point figures: none, best (the best point's, after the sweep) or all (each drawn where "
        "its point ran). Default: best, or none when the config's output.plots is false.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table of the best points."),
) -> None:
    """Run one full experiment per point of a grid over any config keys."""
    from .cli_tables import best_points_table
    from .config import load_config
    from .experiment.sweep import SweepInterrupted, run_sweep, sweep_points
    from .report import load_sweep

    with user_errors():
        cfg = load_config(config, set_)
        points = sweep_points(cfg, grid, resume=resume)
        if dry_run:
            for i, point in enumerate(points):
                console.print(f"{i:3d}  " + "  ".join(f"{k}={v}" for k, v in point.items()), highlight=False)
            console.print(f"{len(points)} points")
            return
        try:
            with progress_view(err_console, quiet) as progress:
                sweep_dir = run_sweep(
                    cfg,
                    points,
                    out_root=out,
                    jobs=jobs,
                    backend=backend,
                    address=address,
                    resume=resume,
                    progress=progress,
                    command=_command_line(),
                    plots=plots.value if plots is not None else None,
                )
        except SweepInterrupted as stop:
            err_console.print(
                f"interrupted: finished points are kept; continue with --resume {stop.sweep_dir}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=130) from None
        results = load_sweep(sweep_dir)
        table = results.table
        if not quiet:
            best = best_points_table(results)
            if best is not None:
                console.print(best)
        for _, row in table[table["status"] != "ok"].iterrows():
            detail = f": {row['error']}" if row["status"] == "failed" else " (loss became NaN/inf)"
            err_console.print(
                f"[yellow]warning:[/] point {row['point']} {row['status']}{detail}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(str(sweep_dir), soft_wrap=True, highlight=False)
    if len(table) and (table["status"] == "failed").all():
        errors = table["error"].value_counts()
        err_console.print(
            f"[bold red]error:[/] all {len(table)} points failed; most common error "
            f"({errors.iloc[0]} of {len(table)}): {errors.index[0]}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1)


@app.command()
def report(
    paths: list[Path] = typer.Argument(
        ..., help="Run directories, a sweep directory, or results/<name> folders."
    ),
    out: Path | None = typer.Option(None, "--out", help="Where to write report.html and the figures."),
    fmt: str = typer.Option("png", "--format", help="Figure format: png or svg."),
    metric: str | None = typer.Option(None, "--metric", help="Metric to compare (several directories)."),
    split: str | None = typer.Option(None, "--split", help="Split to compare (several directories)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Render figures and a self-contained report.html from results directories.

    Figures already drawn from the same, unchanged results are reused."""
    from .report import build_report

    with user_errors():
        if fmt not in ("png", "svg"):
            raise UserError(f"--format: {fmt!r} is not one of png, svg")
        with progress_view(err_console, quiet) as progress:
            html = build_report(
                list(paths), out_dir=out, fmt=fmt, metric=metric, split=split, progress=progress
            )
    console.print(str(html), soft_wrap=True, highlight=False)


class EnsembleChoice(str, Enum):
    mean = "mean"
    vote = "vote"


def _replica_choice(value: str) -> str | int:
    if value in ("all", "best"):
        return value
    if value.isdigit():
        return int(value)
    raise UserError(f"--replica: {value!r} is not all, best or a replica number")


@app.command()
def predict(
    run_dir: Path = typer.Argument(..., help="A run directory written by lab run."),
    data: Path | None = typer.Option(None, "--data", help="CSV of new rows (header: the model's features)."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="A dataset, NAME[,key=value...], e.g. digits5x7,target=digit."
    ),
    replica: str = typer.Option(
        "all", "--replica", help="all (ensemble), best (by validation or test metric), or a replica number."
    ),
    ensemble: EnsembleChoice = typer.Option(EnsembleChoice.mean, "--ensemble", help="Combine replicas by."),
    out: Path | None = typer.Option(None, "--out", help="Write the predictions CSV here (default: stdout)."),
) -> None:
    """Predict new rows with a run's saved models; print metrics when the rows have targets."""
    from .experiment.predict import predict_with, prediction_metrics, run_models
    from .experiment.predict_inputs import read_rows_csv, read_rows_dataset

    with user_errors():
        choice = _replica_choice(replica)
        if (data is None) == (dataset is None):
            raise UserError("predict: give exactly one of --data FILE.csv or --dataset SPEC")
        models, chosen = run_models(run_dir, choice)
        rows = read_rows_csv(models[0], data) if data is not None else read_rows_dataset(models[0], dataset)
        predictions = predict_with(models, rows.X, ensemble=ensemble.value, replicas=chosen)
        table = predictions.table(rows.truth)
        if out is None:
            sys.stdout.write(table.to_csv(index=False))
        else:
            partial = out.with_name(f".{out.name}.partial")
            table.to_csv(partial, index=False)
            partial.replace(out)
    report = err_console if out is None else console
    if rows.truth is not None:
        scores = prediction_metrics(predictions, rows.truth)
        report.print(
            f"{len(table)} rows, replicas {choice if choice == 'all' else predictions.replicas}: "
            + ", ".join(f"{k} {v:.6g}" for k, v in scores.items()),
            highlight=False,
        )
    if out is not None:
        console.print(str(out), soft_wrap=True, highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
