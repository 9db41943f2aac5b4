"""From result directories to figures and report.html: `plot_run` and `build_report`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml

from ..errors import UserError
from ..experiment.results_dir import RunResults, is_run_dir, load_results
from ..layer_specs import describe_architecture
from ..progress import Progress, report
from .classwise import classwise_figures
from .compare import (
    choose_metric_split,
    comparison_figure,
    comparison_table,
    differing_keys,
    resolve_run_dir,
    short_key,
)
from .confusion import confusion_figures
from .curves import learning_curves
from .figure_cache import inputs_stamp, reuse_or_draw
from .html import CodeItem, FactsItem, FigureItem, Section, TableItem, write_html
from .hyperplane import has_hyperplanes, hyperplane_grid, hyperplane_plots
from .inputs import choose, metric_names, split_names
from .noise import noise_plots
from .overview import confusion_overview, curves_overview
from .parallel_save import save_plots
from .reconstruction import reconstruction_plots
from .regions import region_plots
from .roc import roc_plots
from .safe_files import save_files
from .style import Plot, check_format
from .sweep_plots import (
    best_point,
    choose_sweep_metric_split,
    is_sweep_dir,
    load_sweep,
    sweep_figure,
    sweep_table,
)
from .tables import final_metrics_table, replica_table, timing_table

MAX_OVERLAID_POINTS = 12


def run_plots(results: RunResults, metric: str | None = None, split: str | None = None) -> list[Plot]:
    """Every figure of one run, in report order.

    metric: only this metric's learning curve and noise panel; split: only this split's
    confusion matrices and per-class scores. Both are checked against what the run recorded.
    """
    chosen_metrics = (
        [choose(metric, metric_names(results.epochs), (), "metric")] if metric is not None else None
    )
    chosen_splits = [choose(split, split_names(results.epochs), (), "split")] if split is not None else None
    return [
        *learning_curves(results, chosen_metrics),
        *confusion_figures(results, chosen_splits),
        *classwise_figures(results, chosen_splits),
        *roc_plots(results),
        *noise_plots(results, chosen_metrics),
        *reconstruction_plots(results),
        *hyperplane_plots(results),
        *region_plots(results),
    ]


def _save(
    plots: list[Plot], out_dir: Path, fmt: str, prefix: str = "", progress: Progress | None = None
) -> list[tuple[Plot, Path]]:
    """Save each figure into out_dir (never through a symlink there, see safe_files), on every
    core when there are enough of them (parallel_save.py)."""
    for plot in plots:
        plot.name = prefix + plot.name

    done: list[Plot] = []

    def saved(plot: Plot) -> None:
        done.append(plot)
        report(progress, "plot", len(done), len(plots), figure=plot.name)

    def save_all(staging: Path) -> list[Path]:
        return save_plots(plots, staging, fmt, saved)

    return list(zip(plots, save_files(out_dir, save_all)))


def essential_plots(results: RunResults) -> list[Plot]:
    """The figures `lab run` draws at once: one panel of every learning curve, one of the final
    confusion matrices, the hyperplanes' frames when weights were recorded (their animation is
    left to `lab report`), and reconstructions."""
    confusion = confusion_overview(results)
    hyperplanes = [hyperplane_grid(results)] if has_hyperplanes(results) else []
    return [
        curves_overview(results),
        *([confusion] if confusion else []),
        *hyperplanes,
        *reconstruction_plots(results),
    ]


def plot_run(
    run_dir: str | Path | RunResults,
    out_dir: str | Path | None = None,
    fmt: str = "png",
    essential: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Draw the single-run figures of `run_dir` (a path or loaded RunResults) into `out_dir`
    (default run_dir/plots); returns the files.

    essential: the panel figures of `essential_plots` (what `lab run` draws); `lab report` draws
    everything. progress: a listener for the plot phase (one event per saved figure).
    """
    check_format(fmt)
    results = run_dir if isinstance(run_dir, RunResults) else load_results(run_dir)
    out = Path(out_dir) if out_dir is not None else results.path / "plots"
    plots = essential_plots(results) if essential else run_plots(results)
    return [path for _, path in _save(plots, out, fmt, progress=progress)]


def plot_sweep(
    sweep_dir: str | Path,
    out_dir: str | Path | None = None,
    fmt: str = "png",
    metric: str | None = None,
    split: str | None = None,
) -> list[Path]:
    """Draw the sweep figure of `sweep_dir` into `out_dir` (default sweep_dir/plots); returns the files."""
    check_format(fmt)
    sweep = load_sweep(sweep_dir)
    metric, split = choose_sweep_metric_split(sweep, metric, split)
    out = Path(out_dir) if out_dir is not None else sweep.path / "plots"
    return [path for _, path in _save([sweep_figure(sweep, metric, split)], out, fmt)]


# ---------------------------------------------------------------------------------------------
# Sections


def _figure_sections(saved: list[tuple[Plot, Path]], prefix: str = "") -> list[Section]:
    sections: dict[str, Section] = {}
    for plot, path in saved:
        title = f"{prefix}{plot.section}"
        sections.setdefault(title, Section(title)).items.append(FigureItem(path, plot.title))
    return list(sections.values())


def _run_facts(results: RunResults) -> dict[str, object]:
    config, manifest = results.config or {}, results.manifest
    optimizer = config.get("optimizer") or {}
    facts = {
        "directory": str(results.path),
        "task": manifest.get("task", ""),
        "dataset": (config.get("dataset") or {}).get("name", ""),
        "architecture": describe_architecture(config.get("architecture") or []),
        "activation": f"{config.get('activation', '')} / output {config.get('output_activation') or config.get('activation', '')}",
        "loss": manifest.get("loss", config.get("loss", "")),
        "optimizer": ", ".join(f"{k}={v}" for k, v in optimizer.items() if v is not None),
        "epochs / batch size": f"{config.get('epochs', '')} / {config.get('batch_size', '')}",
        "runs x folds": f"{config.get('runs', '')} x {config.get('kfolds', '')}",
        "seed": config.get("seed", ""),
        "finished": manifest.get("finished", manifest.get("created", "")),
        "wall time (s)": manifest.get("wall_time_s", ""),
        "command": manifest.get("command", ""),
    }
    return {k: v for k, v in facts.items() if v not in ("", None)}


def _run_sections(results: RunResults, saved: list[tuple[Plot, Path]], prefix: str = "") -> list[Section]:
    overview = Section(
        f"{prefix}Overview",
        [
            FactsItem(_run_facts(results)),
            TableItem("Final epoch, mean ± std over runs x folds", final_metrics_table(results)),
        ],
    )
    timing = timing_table(results)
    replicas = Section(
        f"{prefix}Runs", [TableItem("Per run x fold: status, epochs and wall time", replica_table(results))]
    )
    if not timing.empty:
        replicas.items.insert(0, TableItem("Whole run (seconds)", timing))
    config = Section(
        f"{prefix}Config",
        [CodeItem("config.yaml (resolved)", yaml.safe_dump(results.config, sort_keys=False))],
    )
    return [overview, *_figure_sections(saved, prefix), replicas, config]


def _figures(
    out: Path,
    fmt: str,
    group: str,
    inputs: list[Path],
    make: Callable[[], list[Plot]],
    progress: Progress | None,
    prefix: str = "",
    **options: object,
) -> list:
    """The figures `make()` draws, saved in `out`; reused instead when `out` holds them already,
    drawn from the same `inputs` with the same options (figure_cache.py)."""
    stamp = inputs_stamp(inputs, fmt=fmt, prefix=prefix, **options)

    def draw() -> list[tuple[Plot, Path]]:
        report(progress, "plot", 0, None, figure=f"building the {group} figures")
        return _save(make(), out, fmt, prefix, progress)

    saved, reused = reuse_or_draw(out, group, stamp, draw)
    if reused:
        report(progress, "plot", len(saved), len(saved), figure=f"{group} figures up to date, reused")
    return saved


# ---------------------------------------------------------------------------------------------
# The three kinds of report


def _run_report(
    run_dir: Path,
    out_dir: Path | None,
    fmt: str,
    metric: str | None,
    split: str | None,
    progress: Progress | None,
) -> Path:
    results = load_results(run_dir)
    out = Path(out_dir) if out_dir is not None else results.path / "report"
    saved = _figures(
        out,
        fmt,
        "run",
        [results.path],
        lambda: run_plots(results, metric, split),
        progress,
        metric=metric,
        split=split,
    )
    subtitle = f"{results.path.name}: {len(results.manifest.get('replicas', []))} replicas"
    report(progress, "write", 0, 1, file="report.html")
    return write_html(out / "report.html", results.name, subtitle, _run_sections(results, saved))


def _sweep_report(
    sweep_dir: Path,
    out_dir: Path | None,
    fmt: str,
    metric: str | None,
    split: str | None,
    progress: Progress | None,
) -> Path:
    sweep = load_sweep(sweep_dir)
    metric, split = choose_sweep_metric_split(sweep, metric, split)
    out = Path(out_dir) if out_dir is not None else sweep.path / "report"
    saved = _figures(
        out,
        fmt,
        "sweep",
        [sweep.path],
        lambda: [sweep_figure(sweep, metric, split)],
        progress,
        metric=metric,
        split=split,
    )
    best = best_point(sweep, metric, split)
    facts = {
        "directory": str(sweep.path),
        "swept keys": ", ".join(sweep.keys),
        "points": len(sweep.table),
        "chosen result": f"final {metric} on {split}",
    }
    counts = sweep.table["status"].value_counts() if "status" in sweep.table else {}
    facts["status"] = (
        f"{sweep.status or 'unknown'}: {len(sweep.table)} of {sweep.n_planned} points finished"
        + "".join(f", {n} {s}" for s, n in counts.items())
    )
    if best is not None:
        facts["best point"] = (
            f"{best['point']} ({', '.join(f'{k}={best[k]}' for k in sweep.keys)}): {best['mean']:.4g} ± {best['std']:.2g}"
        )
    sections = [
        Section("Overview", [FactsItem(facts)]),
        *_figure_sections(saved),
        Section(
            "Points",
            [TableItem(f"Sweep points, best {metric} on {split} first", sweep_table(sweep, metric, split))],
        ),
    ]
    run_dirs = sweep.run_dirs()
    runs = {d: load_results(d) for d in run_dirs} if 1 < len(run_dirs) <= MAX_OVERLAID_POINTS else {}
    if runs and metric in metric_names(runs[run_dirs[0]].epochs):
        overlay = _figures(
            out,
            fmt,
            "points",
            run_dirs,
            lambda: [comparison_figure(list(runs.values()), metric, split)],
            progress,
            metric=metric,
            split=split,
        )
        sections += _figure_sections(overlay, "Points: ")
    best_dir = sweep.point_dir(best["point"]) if best is not None else None
    if best_dir is not None and is_run_dir(best_dir):
        best_results = runs.get(best_dir) or load_results(best_dir)
        best_saved = _figures(
            out, fmt, "best point", [best_dir], lambda: run_plots(best_results), progress, "best_"
        )
        sections += _run_sections(best_results, best_saved, prefix="Best point: ")
    report(progress, "write", 0, 1, file="report.html")
    return write_html(out / "report.html", f"{sweep.name}: sweep", sweep.path.name, sections)


def results_root(run_dir: Path) -> Path:
    """results/ of results/<name>/<run> and of results/<name>/sweep-<stamp>/<point>."""
    experiment = run_dir.parent.parent if is_sweep_dir(run_dir.parent) else run_dir.parent
    return experiment.parent


def _comparison_report(
    run_dirs: list[Path],
    out_dir: Path | None,
    fmt: str,
    metric: str | None,
    split: str | None,
    progress: Progress | None,
) -> Path:
    runs = [load_results(d) for d in run_dirs]
    metric, split = choose_metric_split(runs, metric, split)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out_dir) if out_dir is not None else results_root(runs[0].path) / f"compare-{stamp}"
    saved = _figures(
        out,
        fmt,
        "comparison",
        run_dirs,
        lambda: [comparison_figure(runs, metric, split)],
        progress,
        metric=metric,
        split=split,
    )
    keys = differing_keys([r.config for r in runs])
    facts: dict[str, object] = {f"run {i}": f"{r.name}/{r.path.name}" for i, r in enumerate(runs)}
    facts["config keys that differ"] = ", ".join(short_key(k) for k in keys) or "none"
    sections = [
        Section("Overview", [FactsItem(facts)]),
        *_figure_sections(saved),
        Section(
            "Table",
            [
                TableItem(
                    f"Final epoch on {split}, mean ± std over replicas; times in seconds",
                    comparison_table(runs, split),
                )
            ],
        ),
    ]
    names = " vs ".join(dict.fromkeys(r.name for r in runs))
    report(progress, "write", 0, 1, file="report.html")
    return write_html(out / "report.html", f"Comparison: {names}", f"{metric} on {split}", sections)


def build_report(
    paths: list[str | Path],
    out_dir: str | Path | None = None,
    fmt: str = "png",
    metric: str | None = None,
    split: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write figures and a self-contained report.html; returns the report.html path.

    One path: a run directory (or results/<name>/, its newest complete run) or a sweep
    directory; default out_dir <path>/report. Several paths: a comparison of runs (a sweep
    directory stands for its best point on the chosen metric and split); default
    out_dir results/compare-<timestamp>/ beside the first run's experiment folder.
    Figures already in out_dir, drawn from unchanged results with the same options, are reused
    (figure_cache.py). progress: a listener for the load, plot and write phases.
    """
    check_format(fmt)
    dirs = [Path(p) for p in paths]
    if not dirs:
        raise UserError("no results directory given")
    report(progress, "load", 0, None, dataset="reading the results")
    out = Path(out_dir) if out_dir is not None else None
    if len(dirs) == 1:
        if is_sweep_dir(dirs[0]):
            return _sweep_report(dirs[0], out, fmt, metric, split, progress)
        return _run_report(resolve_run_dir(dirs[0]), out, fmt, metric, split, progress)
    compared = [_compared_run_dir(p, metric, split) for p in dirs]
    return _comparison_report(compared, out, fmt, metric, split, progress)


def _compared_run_dir(path: Path, metric: str | None, split: str | None) -> Path:
    """The run directory a comparison shows for `path`: itself, results/<name>/'s newest run,
    or a sweep's best point on the chosen metric and split."""
    if not is_sweep_dir(path):
        return resolve_run_dir(path)
    sweep = load_sweep(path)
    best = best_point(sweep, *choose_sweep_metric_split(sweep, metric, split))
    point_dir = sweep.point_dir(best["point"]) if best is not None else None
    if point_dir is None or not is_run_dir(point_dir):
        raise UserError(f"{path}: no point of this sweep finished ok; nothing to compare")
    return point_dir
