"""Figures and a self-contained HTML report, read only from results directories.

Names are imported on first use: `lab run` draws its two figures without loading the modules
(and scikit-learn) the full report needs.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Animation": "style",
    "Plot": "style",
    "SweepResults": "sweep_plots",
    "best_point": "sweep_plots",
    "build_report": "build",
    "chosen_frames": "hyperplane",
    "classwise_figures": "classwise",
    "comparison_figure": "compare",
    "comparison_table": "compare",
    "confusion_figures": "confusion",
    "differing_keys": "compare",
    "flatten": "compare",
    "hyperplane_animation": "hyperplane",
    "hyperplane_grid": "hyperplane",
    "hyperplane_plots": "hyperplane",
    "is_sweep_dir": "sweep_plots",
    "learning_curves": "curves",
    "load_sweep": "sweep_plots",
    "noise_plots": "noise",
    "noise_table": "noise",
    "per_class_scores": "classwise",
    "plot_run": "build",
    "plot_sweep": "build",
    "region_plots": "regions",
    "roc_plots": "roc",
    "run_plots": "build",
    "sweep_figure": "sweep_plots",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
