"""Writing a results directory atomically (the contract in docs/results-format.md)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from ..progress import Progress, report
from .runner import ExperimentResult


def new_run_dir(root: Path, config) -> Path:
    """results/<name>/<YYYYmmdd-HHMMSS>-<hash8>, made unique if that name is taken."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / config.name / f"{stamp}-{config.config_hash()[:8]}"
    candidate, n = base, 1
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def _write_models(result: ExperimentResult, models_dir: Path, dill: bool) -> None:
    models_dir.mkdir()
    for network, replica in zip(result.models, result.manifest["replicas"]):
        stem = models_dir / f"run{replica['run']}_fold{replica['fold']}"
        network.save(stem)
        if dill:
            import dill as dill_module

            with open(stem.with_suffix(".dill"), "wb") as handle:
                dill_module.dump(network, handle)


def _draw_plots(run_dir: Path, manifest: dict, progress: Progress | None = None) -> None:
    """Draw the run's essential figures; a figure that fails costs a warning, not the results."""
    from ..report import plot_run
    from ..report.background import FigureProcessError, current_figure_process

    helper = current_figure_process()
    try:
        if helper is not None:
            report(progress, "plot", 0, None, where="helper")
            drawn = helper.draw(run_dir, run_dir / "plots")
            report(progress, "plot", len(drawn), len(drawn))
        else:
            report(progress, "plot", 0, None)  # importing matplotlib and building the figures
            plot_run(run_dir, run_dir / "plots", essential=True, progress=progress)
    except Exception as error:  # noqa: BLE001 - the trained results matter more than a figure
        helper_error = isinstance(error, FigureProcessError)  # already "<Type>: <message>"
        manifest["plot_error"] = str(error) if helper_error else f"{type(error).__name__}: {error}"
        (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        warnings.warn(
            f"plots were not drawn ({manifest['plot_error']}); `lab report` can retry", stacklevel=3
        )


def write_run_dir(
    result: ExperimentResult,
    directory: str | Path,
    command: str | None = None,
    plots: bool | None = None,
    dill: bool | None = None,
    progress: Progress | None = None,
    figures: dict[str, bytes] | None = None,
) -> Path:
    """Write `result` at `directory`: built as `.<name>.partial` beside it, then renamed.

    A leftover `.partial` from an interrupted write is replaced; an existing complete directory
    is never overwritten. progress: a listener for the write and plot phases. figures: files
    already drawn elsewhere (name -> bytes), written into plots/ instead of drawing there.
    """
    directory = Path(directory)
    if directory.exists():
        raise FileExistsError(f"{directory} already exists")
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.with_name(f".{directory.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    config = result.config
    output = config.output
    steps = 6 + (result.confusion is not None) + (result.weights_history is not None)
    written = 0

    def wrote(what: str) -> None:
        nonlocal written
        written += 1
        report(progress, "write", written, steps, file=what)

    try:
        report(progress, "write", 0, steps)
        (partial / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        wrote("config.yaml")
        result.epochs.to_csv(partial / "epochs.csv", index=False)
        wrote("epochs.csv")
        result.summary.to_csv(partial / "summary.csv", index=False)
        wrote("summary.csv")
        if result.confusion is not None:
            result.confusion.to_csv(partial / "confusion.csv", index=False)
            wrote("confusion.csv")
        result.predictions.to_csv(partial / "predictions.csv", index=False)
        wrote("predictions.csv")
        if output.save_models:
            _write_models(result, partial / "models", output.dill if dill is None else dill)
        wrote("models")
        if result.weights_history is not None:
            (partial / "history").mkdir()
            np.savez_compressed(partial / "history" / "weights.npz", **result.weights_history)
            wrote("history")
        manifest = {
            **result.manifest,
            "status": "complete",
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
        wrote("manifest.json")
        if figures:
            (partial / "plots").mkdir(exist_ok=True)
            for name, data in figures.items():
                (partial / "plots" / Path(name).name).write_bytes(data)
        elif output.plots if plots is None else plots:
            _draw_plots(partial, manifest, progress)
        # The rename is the commit: only a whole directory ever carries the final name.
        os.replace(partial, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return directory
