"""Experiments: splits, stacked training of runs x folds, results directories."""
from .results import new_run_dir, write_run_dir
from .results_dir import RunResults, is_run_dir, load_results
from .runner import ExperimentResult, execute_experiment, run_experiment

__all__ = [
    "ExperimentResult", "RunResults", "execute_experiment", "is_run_dir", "load_results",
    "new_run_dir", "run_experiment", "write_run_dir",
]
