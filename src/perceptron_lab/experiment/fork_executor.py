"""Local sweep workers forked from the driver, so that they start with its imports.

A fresh interpreter per worker (joblib's loky) spends about a second of CPU importing NumPy,
pandas, pydantic and scikit-learn before its first point; on two cores that is most of what a
small sweep gains from a second worker. Forked workers inherit the driver's modules, and
`warm_imports` loads beforehand what a point of the sweep will import. Where fork is unavailable
or unsafe (macOS, Windows) the sweep uses the joblib executor instead.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from threadpoolctl import threadpool_limits

from ..config import ExperimentConfig
from ..errors import UserError
from .executors import TaskResult, threads_per_worker


def fork_available() -> bool:
    """Fork where it is safe with threads and system libraries: Linux (macOS's frameworks are
    not fork-safe, Windows cannot fork)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def warm_imports(config: ExperimentConfig, figures: bool = False) -> None:
    """Import in this process the modules a run of `config` imports on use (scikit-learn's
    splitters, scalers and dataset loaders; matplotlib and the figure code when the workers draw
    `figures`), so forked workers do not import them each."""
    from ..data import DATASETS

    modules = ["perceptron_lab.experiment.results", *(["perceptron_lab.report.build"] if figures else [])]
    if config.kfolds > 1 or config.split.test_size > 0 or config.split.validation_split > 0:
        modules.append("sklearn.model_selection")
    if (config.preprocessing.inputs, config.preprocessing.targets) != ("none", "none"):
        modules.append("sklearn.preprocessing")
    entry = DATASETS.get(config.dataset.name)
    if entry is not None and entry.loader.__module__.endswith("sklearn_sets"):
        modules.append("sklearn.datasets")
    for module in modules:
        importlib.import_module(module)


def _limited(function: Callable, task: Any, threads: int) -> Any:
    """function(task) with this worker's BLAS pools limited to `threads`."""
    with threadpool_limits(limits=threads):
        return function(task)


class ForkExecutor:
    """Tasks in `jobs` worker processes forked from this one; results in completion order."""

    def __init__(self, jobs: int):
        if jobs < 1:
            raise UserError(f"--jobs must be >= 1 (got {jobs})")
        self.jobs = jobs
        self.threads = threads_per_worker(jobs)
        self.pool: ProcessPoolExecutor | None = None

    def map(self, function: Callable, tasks: Sequence) -> Iterator[TaskResult]:
        if not tasks:
            return
        self.pool = ProcessPoolExecutor(
            max_workers=min(self.jobs, len(tasks)), mp_context=multiprocessing.get_context("fork")
        )
        futures = {
            self.pool.submit(_limited, function, task, self.threads): index
            for index, task in enumerate(tasks)
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                try:
                    yield TaskResult(futures[future], future.result())
                except Exception as error:  # the worker died (BrokenProcessPool), not the point's failure
                    yield TaskResult(futures[future], error=f"{type(error).__name__}: {error}")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
