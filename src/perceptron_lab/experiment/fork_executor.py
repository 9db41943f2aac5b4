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
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from ..config import ExperimentConfig
from .executors import JoblibExecutor, _watch_driver


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


class ForkExecutor(JoblibExecutor):
    """JoblibExecutor's contract (results as they complete, `finished()` after an interrupt,
    workers that exit when the driver dies) with workers forked from this process."""

    def _make_pool(self, n_tasks: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=min(self.jobs, n_tasks),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_watch_driver,
            initargs=(os.getpid(),),
        )

    @staticmethod
    def _shutdown(pool: ProcessPoolExecutor) -> None:
        workers = list(getattr(pool, "_processes", {}).values())  # running tasks are abandoned
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
