"""Reproduce the course seeds' experiments and write docs/reproductions.md.

    python benchmarks/reproduce.py                     # every row; rewrites docs/reproductions.md
    python benchmarks/reproduce.py --quick --out FILE  # a tiny subset with fewer epochs (CI)

Each configs/seeds/<seed>/expected.yaml lists that seed's experiments: the config (or a point of
its `sweep.points`) or a worked example to run, the figure the seed reports quoted with where it
appears, the lab's figures to show and a note on setup differences. Every row whose data is on
this machine runs; a row whose dataset needs a download that is not present says
"needs <dataset>". Plot-only rows link a figure drawn by `lab report` (docs/reproductions/).

Exit status: 0 when every available row ran, 1 when one failed (its error is in the table),
2 for a bad expected.yaml or argument.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from seed_checks import CHECKS
from seed_plans import EXPECTED_FILE, Row, SeedPlan, load_plan, load_plans, row_config

from perceptron_lab.data.download import DownloadNeeded, no_downloads
from perceptron_lab.errors import UserError
from perceptron_lab.experiment import load_results, run_experiment

ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = ROOT / "configs" / "seeds"
DOCUMENT = ROOT / "docs" / "reproductions.md"
FIGURES_DIR = "reproductions"
__all__ = ["CHECKS", "UserError", "load_plan", "load_plans", "reproduce", "row_config", "run_row"]


@dataclass
class Outcome:
    """What running a row gave: status ok / needs / failed, the lab's figures, wall seconds."""

    status: str
    text: str
    wall_s: float | None = None
    figure: Path | None = None
    run_dir: Path | None = None


# ---------------------------------------------------------------------------------------------
# The lab's figures


def _mean_std(summary, split: str, metric: str, kind: str) -> tuple[float, float]:
    rows = summary[(summary["kind"] == kind) & (summary["split"] == split)]
    run = rows["run"].astype(str)
    mean, std = rows[run == "mean"], rows[run == "std"]
    if mean.empty or metric not in rows.columns:
        raise UserError(
            f"no {kind} {split}.{metric} in this run (splits: {', '.join(dict.fromkeys(summary['split']))})"
        )
    return float(mean[metric].iloc[0]), float(std[metric].iloc[0])


def _number(mean: float, std: float) -> str:
    """'0.962 ± 0.004', '997.9 ± 616.2', '18983 ± 12': three decimals below 10, fewer above."""
    decimals = 3 if abs(mean) < 10 else 1 if abs(mean) < 1000 else 0
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def lab_figures(run_dir: Path, wanted: list[str]) -> str:
    """'test accuracy 0.962 ± 0.004; ...' for each wanted figure, over the run's replicas."""
    results = load_results(run_dir)
    summary = results.summary
    parts = []
    for item in wanted:
        if item == "epochs":
            stopped = np.array([r["stopped_epoch"] for r in results.manifest["replicas"]], dtype=float)
            parts.append(f"epochs trained {_number(stopped.mean(), stopped.std())}")
            continue
        name, _, kind = item.partition("@")
        split, _, metric = name.rpartition(".")
        mean, std = _mean_std(summary, split, metric, "best" if kind == "best" else "final")
        label = f"{split} {metric}" + (" (best epoch)" if kind == "best" else "")
        parts.append(f"{label} {_number(mean, std)}")
    replicas = results.manifest["replicas"]
    runs = len({r["run"] for r in replicas})
    folds = len({r["fold"] for r in replicas})
    over = f"{runs} run{'s' * (runs > 1)}" + (f" x {folds} folds" if folds > 1 else "")
    return "; ".join(parts) + f" ({over})"


def draw_figure(
    run_dirs: list[Path], figure: str, dest: Path, metric: str | None = None, split: str | None = None
) -> Path:
    """Copy `lab report`'s figure `figure` of `run_dirs` (one run, or several compared on
    `metric` and `split`) to `dest` (a .png path)."""
    from perceptron_lab.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        build_report(list(run_dirs), out_dir=tmp, metric=metric, split=split)
        drawn = Path(tmp) / f"{figure}.png"
        if not drawn.is_file():
            names = ", ".join(sorted(p.stem for p in Path(tmp).glob("*.png")))
            raise UserError(f"`lab report` drew no figure {figure!r} (it drew: {names})")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(drawn, dest)
    return dest


# ---------------------------------------------------------------------------------------------
# Running rows


def _figure(row: Row, run_dir: Path, earlier: dict[int, Path], dest: Path) -> Path:
    """Draw the row's figure: of its own run, or comparing it with the earlier rows' runs."""
    assert row.figure is not None
    if row.compare is None:
        return draw_figure([run_dir], row.figure, dest)
    missing = [i for i in row.compare.rows if i not in earlier]
    if missing:
        raise UserError(f"compare: rows {missing} have no run to compare (not run, or not earlier rows)")
    runs = [earlier[i] for i in row.compare.rows] + [run_dir]
    return draw_figure(runs, row.figure, dest, row.compare.metric, row.compare.split)


def run_row(
    seed_dir: Path,
    row: Row,
    overrides: dict[str, Any],
    results_root: Path,
    figure_path: Path | None,
    earlier: dict[int, Path] | None = None,
) -> Outcome:
    """Run one row; any failure becomes a `failed` Outcome carrying its one-line error.

    earlier: the run directories of the seed's rows already run, by row index (comparisons)."""
    started = time.perf_counter()
    try:
        if row.check is not None:
            text = CHECKS[row.check]()
            return Outcome("ok", text, time.perf_counter() - started)
        config = row_config(seed_dir, row, {"output.plots": False, **overrides})
        started = time.perf_counter()
        try:
            with no_downloads():
                run_dir = run_experiment(config, out_root=results_root)
        except DownloadNeeded as needed:  # the files are not on this machine; nothing was written
            return Outcome("needs", f"needs {needed.target.name}")
        wall = time.perf_counter() - started
        text = lab_figures(run_dir, row.lab)
        figure = _figure(row, run_dir, earlier or {}, figure_path) if row.figure and figure_path else None
        return Outcome("ok", text, wall, figure, run_dir)
    except Exception as error:  # a failing row is reported in its table and in the exit status
        if not isinstance(error, UserError):
            traceback.print_exc()
        message = " ".join(f"{type(error).__name__}: {error}".split())
        return Outcome("failed", f"FAILED: {message}", time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# The document


def machine_line() -> str:
    """CPU, cores, OS, Python and NumPy versions, for the document's header."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )


def _shown(path: Path) -> str:
    """`path` relative to the repository when inside it."""
    return path.resolve().relative_to(ROOT).as_posix() if path.resolve().is_relative_to(ROOT) else str(path)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row_line(seed_dir: Path, row: Row, outcome: Outcome, overrides: dict[str, Any], doc_dir: Path) -> str:
    """One table row: experiment (config), the seed's figure (where), the lab's, wall, note."""
    source = "worked example"
    if row.config:
        link = os.path.relpath(seed_dir / row.config, doc_dir)
        source = f"[`{row.config}`]({link})" + (f" point {row.point}" if row.point is not None else "")
    lab = outcome.text
    if outcome.figure is not None:
        lab += f" [figure]({os.path.relpath(outcome.figure, doc_dir)})"
    wall = f"{outcome.wall_s:.1f} s" if outcome.wall_s is not None else "-"
    note = row.note
    if overrides and outcome.status == "ok":
        note += " Run here with " + ", ".join(f"{k}={v}" for k, v in overrides.items()) + "."
    cells = (f"{row.experiment} ({source})", f"{row.reported} ({row.where})", lab, wall, note)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_table(
    seed_dir: Path, plan: SeedPlan, outcomes: list[tuple[Row, Outcome, dict[str, Any]]], doc_dir: Path
) -> list[str]:
    """The seed's section: its title, where the quotes come from, one row per experiment run."""
    lines = [
        f"## Seed {plan.seed}: {plan.title}",
        "",
        f"Quoted from `{plan.source}` (line numbers refer to it); rows from "
        f"[`{_shown(seed_dir / EXPECTED_FILE)}`]"
        f"({os.path.relpath(seed_dir / EXPECTED_FILE, doc_dir)})." + (f" {plan.about}" if plan.about else ""),
        "",
        "| experiment (config) | the seed reports (where) | the lab: mean ± std | wall | setup differences |",
        "|---|---|---|---|---|",
    ]
    lines += [_row_line(seed_dir, row, outcome, overrides, doc_dir) for row, outcome, overrides in outcomes]
    return [*lines, ""]


def render(tables: list[list[str]], header: dict[str, str], quick: bool) -> str:
    intro = [
        "# Reproductions of the course seeds",
        "",
        "Generated by `python benchmarks/reproduce.py`"
        + (" --quick (a tiny subset, few epochs)" if quick else "")
        + "; do not edit by hand.",
        "",
        "Each row runs one config of `configs/seeds/` (or one point of its `sweep.points`) as `lab run`",
        "would and sets the lab's figures beside what the seed reports. The lab's figures are final",
        "values (of the weights each replica keeps) as mean ± std over the run's replicas (runs x",
        "folds); wall is the run's time end to end (training, evaluation, files). A row whose data is",
        'not on this machine says "needs <dataset>"; a machine with the files fills it in. Figures',
        "come from `lab report` of the row's run (or a comparison of several rows' runs).",
        "",
        f"- date: {header['date']}",
        f"- machine: {header['machine']}",
        f"- load average (1 min) at the start and the end: {header['load']}",
        f"- total wall time: {header['total']}",
        "",
    ]
    return "\n".join(intro + [line for table in tables for line in table])


def run_tables(
    plans: list[tuple[Path, SeedPlan]], quick: bool, results_root: Path, figures: Path | None, doc_dir: Path
) -> tuple[list[list[str]], int]:
    """Run every row (the quick ones with their quick overrides when `quick`); returns the seed
    tables and the number of failed rows. Figures are drawn into `figures` (None: none drawn)
    and linked as doc_dir/reproductions/<name>."""
    tables, failed = [], 0
    for seed_dir, plan in plans:
        outcomes = []
        run_dirs: dict[int, Path] = {}
        for i, row in enumerate(plan.rows):
            if quick and row.quick is None:
                continue
            overrides = dict(row.quick or {}) if quick else dict(row.budget)
            figure = figures / f"seed{plan.seed}-{i:02d}-{row.figure}.png" if figures and row.figure else None
            print(f"seed {plan.seed} row {i}: {row.experiment}", file=sys.stderr, flush=True)
            outcome = run_row(seed_dir, row, overrides, results_root, figure, run_dirs)
            if outcome.run_dir is not None:
                run_dirs[i] = outcome.run_dir
            if outcome.figure is not None:
                outcome.figure = doc_dir / FIGURES_DIR / outcome.figure.name
            failed += outcome.status == "failed"
            took = f" [{outcome.wall_s:.1f} s]" if outcome.wall_s else ""
            print(f"  {outcome.text}{took}", file=sys.stderr, flush=True)
            outcomes.append((row, outcome, overrides))
        if outcomes:
            tables.append(render_table(seed_dir, plan, outcomes, doc_dir))
    return tables, failed


def reproduce(out: Path, quick: bool, results_root: Path, seeds_dir: Path = SEEDS_DIR) -> int:
    """Run the rows and write the document to `out` (and, unless quick, its figures to
    <out's folder>/reproductions/, replacing the old ones); returns the number of failed rows.

    Both are written under temporary names and renamed at the end, so an interrupted run leaves
    the previous document and figures as they were."""
    plans = load_plans(seeds_dir)
    doc_dir = out.resolve().parent
    doc_dir.mkdir(parents=True, exist_ok=True)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    figures = None if quick else Path(tempfile.mkdtemp(prefix=f".{FIGURES_DIR}-", dir=doc_dir))
    partial = out.with_name(f".{out.name}.partial")
    try:
        tables, failed = run_tables(plans, quick, results_root, figures, doc_dir)
        header = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_line(),
            "load": f"{load_start:.2f}, {os.getloadavg()[0]:.2f}",
            "total": f"{time.perf_counter() - started:.0f} s",
        }
        partial.write_text(render(tables, header, quick))
        if figures is not None:
            shutil.rmtree(doc_dir / FIGURES_DIR, ignore_errors=True)
            figures.chmod(0o755)
            figures.rename(doc_dir / FIGURES_DIR)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        if figures is not None:
            shutil.rmtree(figures, ignore_errors=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the rows marked quick, with fewer epochs")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"the document (default {DOCUMENT.relative_to(ROOT)})"
    )
    parser.add_argument("--results", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args(argv)
    out = args.out or (DOCUMENT if not args.quick else ROOT / "results" / "reproductions-quick.md")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            failed = reproduce(out, args.quick, args.results or Path(tmp))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(out)
    if failed:
        print(f"{failed} row(s) failed: see their FAILED cells in {out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
