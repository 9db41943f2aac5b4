"""perceptron_lab: neural-network experiments from YAML configs.

The same functions the `lab` command uses, for notebooks:

    from perceptron_lab import load_config, run_experiment, load_results, build_report

Names are imported on first use, so the `lab` command's quick answers (its version, a config
validated) start quickly.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ExperimentConfig": "config",
    "build_config": "config",
    "load_config": "config",
    "Dataset": "data",
    "load_dataset": "data",
    "ConfigError": "errors",
    "DataError": "errors",
    "UserError": "errors",
    "execute_experiment": "experiment",
    "load_results": "experiment",
    "run_experiment": "experiment",
    "run_sweep": "experiment",
    "sweep_points": "experiment",
    "Dense": "nn",
    "Dropout": "nn",
    "Network": "nn",
    "load_network": "nn",
    "build_report": "report",
    "plot_run": "report",
    "Model": "model",
    "load_model": "model",
    "predict_run": "experiment.predict",
    "EarlyStopping": "train",
    "Trainer": "train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'perceptron_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
