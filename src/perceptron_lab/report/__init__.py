"""Figures and a self-contained HTML report, read only from results directories."""

from .build import build_report, plot_run, plot_sweep, run_plots
from .classwise import classwise_figures, per_class_scores
from .compare import comparison_figure, comparison_table, differing_keys, flatten
from .confusion import confusion_figures
from .curves import learning_curves
from .hyperplane import chosen_frames, hyperplane_animation, hyperplane_grid, hyperplane_plots
from .noise import noise_plots, noise_table
from .regions import region_plots
from .roc import roc_plots
from .style import Animation, Plot
from .sweep_plots import SweepResults, best_point, is_sweep_dir, load_sweep, sweep_figure

__all__ = [
    "Animation",
    "Plot",
    "SweepResults",
    "best_point",
    "build_report",
    "chosen_frames",
    "classwise_figures",
    "comparison_figure",
    "comparison_table",
    "confusion_figures",
    "differing_keys",
    "flatten",
    "hyperplane_animation",
    "hyperplane_grid",
    "hyperplane_plots",
    "is_sweep_dir",
    "learning_curves",
    "load_sweep",
    "noise_plots",
    "noise_table",
    "per_class_scores",
    "plot_run",
    "plot_sweep",
    "region_plots",
    "roc_plots",
    "run_plots",
    "sweep_figure",
]
