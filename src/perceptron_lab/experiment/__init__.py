"""Experiments: splits, stacked training of runs x folds, results directories, sweeps.

The sweep names are imported on first use: a single run does not load the sweep executors
(joblib).
"""

from .results import new_run_dir, write_run_dir
from .results_dir import RunResults, is_run_dir, load_results
from .runner import ExperimentResult, execute_experiment, run_experiment

__all__ = [
    "ExperimentResult",
    "RunResults",
    "SweepInterrupted",
    "execute_experiment",
    "is_run_dir",
    "load_results",
    "new_run_dir",
    "run_experiment",
    "run_sweep",
    "sweep_points",
    "write_run_dir",
]

_SWEEP_NAMES = ("SweepInterrupted", "run_sweep", "sweep_points")


def __getattr__(name: str):
    if name in _SWEEP_NAMES:
        from . import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
