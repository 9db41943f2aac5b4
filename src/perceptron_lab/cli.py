"""The `lab` command line: thin typed commands over the library."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .cli_progress import progress_view
from .errors import UserError
from .modes import PlotsMode

EXIT_CODES = "Exit codes: 0 ok, 1 failed, 2 bad input (config, data file, argument), 130 interrupted."

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Run neural-network experiments from YAML configs: lab run, lab sweep, lab report.",
    epilog=EXIT_CODES
    + " PERCEPTRON_LAB_KERNELS=auto|numpy|numba: compiled kernels for large ops when numba (the fast"
    " extra) is installed, never, or with numba required.",
)
console = Console()
err_console = Console(stderr=True)


SET_HELP = "Override a config key, e.g. --set optimizer.learning_rate=0.1 (repeatable)."


class FigureFormat(str, Enum):
    png = "png"
    svg = "svg"


class Backend(str, Enum):
    local = "local"
    dask = "dask"


class Search(str, Enum):
    grid = "grid"
    random = "random"
    tpe = "tpe"


class Pruner(str, Enum):
    none = "none"
    median = "median"
    hyperband = "hyperband"


def _command_line() -> str:
    return " ".join(["lab", *sys.argv[1:]])


# Library parameters that are command-line options under another name.
OPTION_OF_PARAM = {
    "jobs": "--jobs",
    "backend": "--backend",
    "address": "--address",
    "resume": "--resume",
    "out_root": "--out",
    "max_replicas": "--max-replicas",
    "grid_overrides": "--grid",
    "sampler": "--search",
    "trials": "--trials",
    "pruner": "--pruner",
    "dill": "--dill",
    "dataset_spec": "--dataset",
    "replica": "--replica",
    "ensemble": "--ensemble",
}


def _as_cli_message(error: UserError) -> str:
    """The error's message with the parameters it names shown as the options the user typed
    (the rule is in UserError's docstring)."""
    message = str(error)
    position = 0
    for param in getattr(error, "params", ()):
        found = re.compile(rf"(?<![^\s(]){re.escape(param)}(?=$|[\s),:;])").search(message, position)
        if found is None:
            continue
        option = OPTION_OF_PARAM.get(param, param)
        message = message[: found.start()] + option + message[found.end() :]
        position = found.start() + len(option)
    return message


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as error:
        err_console.print(
            f"[bold red]error:[/] {escape(_as_cli_message(error))}", highlight=False, soft_wrap=True
        )
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
    from .nn import kernels

    with user_errors():
        try:
            kernels.mode()  # a bad PERCEPTRON_LAB_KERNELS stops every command before it starts
        except ValueError as error:
            raise UserError(str(error)) from None


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


@app.command(short_help="Train a config's network on every run x fold.", epilog=EXIT_CODES)
def run(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
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
    from .experiment.specs import load_data, network_plan, network_summary, static_input_shape

    with user_errors():
        overrides = [*set_, *([f"max_replicas={max_replicas}"] if max_replicas else [])]
        cfg = load_config(config, overrides)
        datasets = None  # loaded here only when the summary needs the data's shape; training reuses them
        if not quiet and not as_json:
            shape = static_input_shape(cfg)
            if shape is None:
                datasets = load_data(cfg)
                shape = network_plan(cfg, datasets[0]).input_shape
            console.print(str(network_summary(cfg, shape)), markup=False, highlight=False)
        with progress_view(err_console, quiet) as progress:
            run_dir = run_experiment(
                cfg,
                out_root=out,
                progress=progress,
                command=_command_line(),
                plots=plots,
                dill=dill or None,
                datasets=datasets,
            )
        if as_json or not quiet:
            _print_summary(run_dir, as_json)
    if not as_json:
        console.print(str(run_dir), soft_wrap=True, highlight=False)


@app.command(short_help="Check a config without training.", epilog=EXIT_CODES)
def validate(
    config: Path = typer.Argument(..., help="Experiment YAML file."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No network summary."),
) -> None:
    """Check a config as a run would (schema, names, data, splits, memory) without training or downloading."""
    from .config import load_config
    from .experiment.checks import validate_experiment
    from .experiment.specs import network_summary

    with user_errors():
        cfg = load_config(config, set_)
        if cfg.sweep is not None and cfg.sweep.space:
            from .experiment.search import check_search

            check_search(cfg)
        validation = validate_experiment(cfg)
        if not quiet and validation.input_shape is not None:
            summary = network_summary(cfg, validation.input_shape)
            console.print(str(summary), markup=False, highlight=False)
    console.print(f"{config}: ok ({validation.summary()})", highlight=False, soft_wrap=True)


@app.command(short_help="List the datasets a config can name.")
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
        if entry.image_shape is not None:
            shape += f" ({'x'.join(map(str, entry.image_shape))} images)"
        table.add_row(name, entry.task, shape, entry.description)
    console.print(table)


@app.command(short_help="List the layer kinds of a typed architecture list.")
def layers() -> None:
    """List the layer kinds an `architecture` layer list can use, with their parameters.

    Every kind also takes `name` and `inputs` (earlier layers it reads; `input`: the network input).
    """
    from .layer_specs import LAYER_KINDS, parameter_summary

    table = Table(title="layer kinds")
    for column in ("kind", "parameters", "description"):
        table.add_column(column)
    for kind in LAYER_KINDS.values():
        table.add_row(kind.name, parameter_summary(kind), kind.description)
    console.print(table)


@app.command(short_help="One experiment per grid point or search trial.", epilog=EXIT_CODES)
def sweep(
    config: Path = typer.Argument(
        ..., help="Experiment YAML file (its `sweep.grid` or `sweep.points` block is used too)."
    ),
    grid: list[str] = typer.Option(
        [], "--grid", metavar="KEY=V1,V2", help="Values of a key (repeatable); points: their product."
    ),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    out: Path | None = typer.Option(None, "--out", help="Results root (default: output.dir of the config)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Points trained in parallel (local processes)."),
    backend: Backend = typer.Option(Backend.local, "--backend", help="Where points run."),
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
    search: Search = typer.Option(
        Search.grid, "--search", help="grid: every point; random/tpe: Optuna samples sweep.space."
    ),
    trials: int | None = typer.Option(None, "--trials", min=1, help="Trials of a random/tpe search."),
    pruner: Pruner = typer.Option(Pruner.none, "--pruner", help="Stop poor search trials early."),
) -> None:
    """Run one full experiment per point of a grid, or per trial of an Optuna search."""
    from .cli_tables import best_points_table
    from .config import load_config
    from .experiment.sweep import SweepInterrupted, run_sweep, sweep_points
    from .report import load_sweep

    with user_errors():
        cfg = load_config(config, set_)
        if search is Search.grid:
            if trials is not None or pruner is not Pruner.none:
                raise UserError("--trials and --pruner are for --search random or tpe")
            points = sweep_points(cfg, grid, resume=resume)
            total = f"{len(points)} points"
        else:
            from .experiment.search import parse_space

            if grid:
                raise UserError("--grid is for --search grid; a search samples the config's sweep.space")
            if trials is None:
                raise UserError(f"--search {search.value} needs --trials N")
            n_trials = trials
            dimensions = parse_space(cfg)
            total = f"{trials} trials"
        if dry_run:
            if search is Search.grid:
                for i, point in enumerate(points):
                    console.print(
                        f"{i:3d}  " + "  ".join(f"{k}={v}" for k, v in point.items()), highlight=False
                    )
            else:
                for d in dimensions:
                    values = d.choices if d.kind == "choice" else f"[{d.low}, {d.high}]"
                    console.print(f"{d.key}: {d.kind} {values}", highlight=False)
            console.print(total)
            return
        try:
            with progress_view(err_console, quiet) as progress:
                common: dict[str, Any] = dict(
                    out_root=out,
                    jobs=jobs,
                    backend=backend.value,
                    address=address,
                    resume=resume,
                    progress=progress,
                    command=_command_line(),
                    plots=plots.value if plots is not None else None,
                )
                if search is Search.grid:
                    sweep_dir = run_sweep(cfg, points, **common)
                else:
                    from .experiment.search import run_search

                    sweep_dir = run_search(
                        cfg, sampler=search.value, trials=n_trials, pruner=pruner.value, **common
                    )
        except SweepInterrupted as stop:
            again = "" if search is Search.grid else f" --search {search.value} --trials {trials}"
            err_console.print(
                f"interrupted: finished points are kept; continue with{again} --resume {stop.sweep_dir}",
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
        for _, row in table[~table["status"].isin(["ok", "pruned"])].iterrows():
            detail = f": {row['error']}" if row["status"] == "failed" else " (loss became NaN/inf)"
            err_console.print(
                f"[yellow]warning:[/] point {escape(str(row['point']))} {row['status']}{escape(detail)}",
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


export_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Export results to a tracking tool.", epilog=EXIT_CODES
)
app.add_typer(export_app, name="export", short_help="Export results to a tracking tool (MLflow).")


@export_app.command("mlflow", short_help="Log runs and sweeps to an MLflow store.", epilog=EXIT_CODES)
def export_mlflow(
    paths: list[Path] = typer.Argument(
        ..., metavar="DIR", help="Run or sweep directories, or results/<name> folders."
    ),
    tracking_uri: str = typer.Option(
        "sqlite:///mlruns.db",
        "--tracking-uri",
        help="MLflow store; the default, a file here, needs no server.",
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="MLflow experiment (default: each directory's config name)."
    ),
    reports: bool = typer.Option(
        True, "--report/--no-report", help="Render report.html where a directory has none."
    ),
) -> None:
    """Log runs (config, per-epoch metrics, figures, report.html) to MLflow; a sweep becomes a
    parent run with one child run per point. Runs already in the store are skipped."""
    from .mlflow_export import export_mlflow as export

    with user_errors():
        exported, skipped = export(
            list(paths), tracking_uri=tracking_uri, experiment=experiment, reports=reports
        )
    console.print(f"{exported} runs exported, {skipped} already there: {tracking_uri}", highlight=False)


@app.command(short_help="Figures and report.html from results directories.", epilog=EXIT_CODES)
def report(
    paths: list[Path] = typer.Argument(
        ..., metavar="DIR", help="Run directories, a sweep directory, or results/<name> folders."
    ),
    out: Path | None = typer.Option(None, "--out", help="Where to write report.html and the figures."),
    fmt: FigureFormat = typer.Option(FigureFormat.png, "--format", help="Figure format."),
    metric: str | None = typer.Option(None, "--metric", help="Metric to compare (several directories)."),
    split: str | None = typer.Option(None, "--split", help="Split to compare (several directories)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Render figures and a self-contained report.html from results directories.

    Figures already drawn from the same, unchanged results are reused."""
    from .report import build_report

    with user_errors():
        with progress_view(err_console, quiet) as progress:
            html = build_report(
                list(paths), out_dir=out, fmt=fmt.value, metric=metric, split=split, progress=progress
            )
    console.print(str(html), soft_wrap=True, highlight=False)


class EnsembleChoice(str, Enum):
    mean = "mean"
    vote = "vote"


def _replica_choice(value: str) -> int | Literal["all", "best"]:
    if value == "all":
        return "all"
    if value == "best":
        return "best"
    if value.isdigit():
        return int(value)
    raise UserError(f"--replica: {value!r} is not all, best or a replica number")


@app.command(short_help="Predict new rows with a run's saved models.", epilog=EXIT_CODES)
def predict(
    run_dir: Path = typer.Argument(..., help="A run directory written by lab run, or one saved model's."),
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
    from .experiment.predict import predict_with, prediction_metrics, run_models, write_table
    from .experiment.predict_inputs import read_rows_csv, read_rows_dataset

    with user_errors():
        choice = _replica_choice(replica)
        if (data is None) == (dataset is None):
            raise UserError("predict: give exactly one of --data FILE.csv or --dataset SPEC")
        models, chosen = run_models(run_dir, choice)
        if data is not None:
            rows = read_rows_csv(models[0], data)
        else:
            assert dataset is not None  # exactly one of --data and --dataset was given
            rows = read_rows_dataset(models[0], dataset)
        predictions = predict_with(models, rows.X, ensemble=ensemble.value, replicas=chosen)
        table = predictions.table(rows.truth)
        if out is None:
            sys.stdout.write(table.to_csv(index=False))
        else:
            write_table(table, out)
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
