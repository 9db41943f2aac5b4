"""The figure helper process `lab run` draws in: same figures as in-process, errors as data."""

import pytest

from perceptron_lab.experiment.fork_executor import fork_available
from perceptron_lab.report import plot_run
from perceptron_lab.report.background import (
    FigureProcessError,
    current_figure_process,
    figures_in_background,
)

pytestmark = pytest.mark.skipif(not fork_available(), reason="the figure helper is forked")


def test_the_helper_draws_the_figures_plot_run_draws_and_stops_with_the_block(multiclass_run, tmp_path):
    expected = sorted(p.name for p in plot_run(multiclass_run, tmp_path / "here", essential=True))
    with figures_in_background() as helper:
        assert current_figure_process() is helper
        drawn = helper.draw(multiclass_run, tmp_path / "there")
        with pytest.raises(FigureProcessError, match=r"^UserError: .*missing"):
            helper.draw(tmp_path / "missing", tmp_path / "nowhere")
        assert helper.process.is_alive()
    assert current_figure_process() is None and not helper.process.is_alive()
    assert sorted(p.name for p in drawn) == expected
    assert {"confusion.png", "curves.png"} <= set(expected)
    for name in expected:
        assert (tmp_path / "there" / name).stat().st_size > 0


def test_no_helper_when_figures_are_off():
    with figures_in_background(enabled=False) as helper:
        assert helper is None and current_figure_process() is None
