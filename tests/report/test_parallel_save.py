"""Figures saved by forked workers are the files this process would write, in the same order."""

import pytest

from perceptron_lab.report import parallel_save
from perceptron_lab.report.style import Plot, new_figure


def plots(n):
    out = []
    for i in range(n):
        figure = new_figure(3, 2)
        figure.add_subplot().plot(range(10), [x * (i + 1) for x in range(10)], label=f"line {i}")
        out.append(Plot(f"figure_{i}", f"figure {i}", "Test", figure))
    return out


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_parallel_and_sequential_saves_write_the_same_files(tmp_path, monkeypatch, fmt):
    saved = []
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    parallel = parallel_save.save_plots(plots(5), tmp_path / "a", fmt, lambda plot: saved.append(plot.name))
    monkeypatch.setattr(parallel_save, "MIN_FIGURES", 100)
    sequential = parallel_save.save_plots(plots(5), tmp_path / "b", fmt)
    assert (
        [p.name for p in parallel] == [p.name for p in sequential] == [f"figure_{i}.{fmt}" for i in range(5)]
    )
    assert sorted(saved) == [f"figure_{i}" for i in range(5)]
    for a, b in zip(parallel, sequential):
        assert a.parent == tmp_path / "a"
        if fmt == "png":  # SVG ids are salted per process
            assert a.read_bytes() == b.read_bytes()
        else:
            assert a.read_text().rstrip().endswith("</svg>")


def test_a_figure_that_fails_in_a_worker_raises_here(tmp_path):
    broken = plots(4)
    broken[2].save = lambda directory, fmt: (_ for _ in ()).throw(ValueError("no fonts"))
    with pytest.raises(ValueError, match="no fonts"):
        parallel_save.save_plots(broken, tmp_path, "png")
