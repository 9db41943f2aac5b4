"""Experiments: splits, stacked training of runs x folds, results directories, sweeps."""

from .results import new_run_dir, write_run_dir
from .results_dir import RunResults, is_run_dir, load_results
from .runner import ExperimentResult, execute_experiment, run_experiment
from .sweep import SweepInterrupted, run_sweep, sweep_points

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
