"""lab report reuses figures drawn from unchanged results, and redraws them when the results change."""

import os
import shutil

from perceptron_lab.report import build, build_report


def test_a_second_report_reuses_the_figures_until_the_results_change(binary_run, tmp_path, monkeypatch):
    run = shutil.copytree(binary_run, tmp_path / "run")
    events = []
    html = build_report([run], progress=events.append)
    figures = {p.name: p.read_bytes() for p in html.parent.glob("*.png")}
    assert figures and [e.phase for e in events][0] == "load"
    assert {"load", "plot", "write"} <= {e.phase for e in events}

    drawn = []
    real = build.run_plots
    monkeypatch.setattr(build, "run_plots", lambda *args: drawn.append(args) or real(*args))
    again = build_report([run])
    assert drawn == [] and again.read_text() == html.read_text()
    assert {p.name: p.read_bytes() for p in html.parent.glob("*.png")} == figures

    build_report([run], metric="loss")  # other options: other figures
    assert len(drawn) == 1
    epochs = run / "epochs.csv"
    os.utime(epochs, ns=(epochs.stat().st_atime_ns, epochs.stat().st_mtime_ns + 10**9))
    build_report([run])
    assert len(drawn) == 2

    (html.parent / "curve_loss.png").unlink()  # a missing file is drawn again
    build_report([run])
    assert len(drawn) == 3 and (html.parent / "curve_loss.png").is_file()
