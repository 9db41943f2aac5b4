"""Writing a results directory atomically (the contract in docs/results-format.md)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from ..errors import UserError
from ..paths import unsafe_component_reason
from ..progress import Progress, report
from .partials import new_partial, remove_stale_partials
from .results_dir import read_run_dir
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
    """models/run<r>_fold<k>/: one complete Model per replica (see perceptron_lab.model)."""
    models_dir.mkdir()
    for model, replica in zip(result.models, result.manifest["replicas"]):
        model.save(models_dir / f"run{replica['run']}_fold{replica['fold']}", dill=dill)


def _draw_plots(run_dir: Path, manifest: dict, progress: Progress | None = None) -> None:
    """Draw the run's essential figures into the directory being built; a figure that fails
    costs a warning (and manifest["plot_error"]), not the results."""
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
            plot_run(read_run_dir(run_dir), run_dir / "plots", essential=True, progress=progress)
    except Exception as error:  # noqa: BLE001 - the trained results matter more than a figure
        helper_error = isinstance(error, FigureProcessError)  # already "<Type>: <message>"
        manifest["plot_error"] = str(error) if helper_error else f"{type(error).__name__}: {error}"
        warnings.warn(
            f"plots were not drawn ({manifest['plot_error']}); `lab report` can retry", stacklevel=3
        )


def check_writable(root: str | Path, name: str) -> None:
    """Before training: UserError (one line, nothing trained, nothing left) unless a results
    directory can be built under root/<name>/ (a read-only root, a too-long or unsafe name,
    an output.dir under a file all fail here)."""
    reason = unsafe_component_reason(name)
    if reason is not None:
        raise UserError(f"name: {name!r} {reason}")
    experiment = Path(root) / name
    created = [p for p in (experiment, *experiment.parents) if not p.exists()]
    try:
        experiment.mkdir(parents=True, exist_ok=True)
        probe, lock = new_partial(experiment)
        os.close(lock)
        probe.rmdir()
    except (OSError, ValueError) as error:
        raise UserError(
            f"output.dir: cannot write results under {experiment} ({_reason(error)}); nothing was trained"
        ) from None
    finally:
        for path in created:  # deepest first: leave no empty folders behind
            with contextlib.suppress(OSError):
                path.rmdir()


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _rename_into_place(partial: Path, directory: Path, rename_if_taken: bool) -> Path:
    """Rename the whole `partial` to `directory` (or `directory`-1, -2, ... when taken and
    rename_if_taken). rename(2) never replaces a non-empty directory, so nothing is merged or lost."""
    target, n = directory, 1
    while True:
        try:
            os.rename(partial, target)
            return target
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not rename_if_taken:
                raise
            target = directory.with_name(f"{directory.name}-{n}")
            n += 1


def write_run_dir(
    result: ExperimentResult,
    directory: str | Path,
    command: str | None = None,
    plots: bool | None = None,
    dill: bool | None = None,
    progress: Progress | None = None,
    figures: dict[str, bytes] | None = None,
    rename_if_taken: bool = False,
) -> Path:
    """Write `result` at `directory` (returns the path written): built in a uniquely named,
    locked `.<name>.<random>.partial` beside it, then renamed.

    Only the rename makes a directory complete: readers skip `.partial` names, and stale ones
    (whose writer died) are removed here. An existing directory is never overwritten: with
    rename_if_taken the result goes to `<directory>-1`, `-2`, ..., else FileExistsError.
    A write that fails raises UserError saying nothing was written. progress: a listener for
    the write and plot phases. figures: files already drawn elsewhere (name -> bytes), written
    into plots/ instead of drawing there.
    """
    directory = Path(directory)
    if directory.exists() and not rename_if_taken:
        raise FileExistsError(f"{directory} already exists")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(directory.parent)
        partial, lock = new_partial(directory)
    except (OSError, ValueError) as error:
        raise UserError(
            f"{directory}: cannot write the results ({_reason(error)}); nothing was written"
        ) from None
    config = result.config
    output = config.output
    steps = 6 + sum(x is not None for x in (result.confusion, result.weights_history, result.reconstructions))
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
        if result.reconstructions is not None:
            np.savez_compressed(partial / "reconstructions.npz", allow_pickle=False, **result.reconstructions)
            wrote("reconstructions.npz")
        if result.weights_history is not None:
            (partial / "history").mkdir()
            np.savez_compressed(
                partial / "history" / "weights.npz", allow_pickle=False, **result.weights_history
            )
            wrote("history")
        manifest = {
            **result.manifest,
            "status": "writing",
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
        manifest["status"] = "complete"
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
        # The rename is the commit: only a whole directory ever carries the final name.
        return _rename_into_place(partial, directory, rename_if_taken)
    except BaseException as error:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(error, OSError):
            raise UserError(
                f"{directory}: writing the results failed ({_reason(error)}); nothing was written"
            ) from None
        raise
    finally:
        os.close(lock)
