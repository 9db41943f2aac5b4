"""A report from a real `run_experiment` directory: Rosenblatt's step perceptron learning AND."""

import pytest
from PIL import Image

from perceptron_lab.config import build_config
from perceptron_lab.experiment import load_results, run_experiment
from perceptron_lab.report import build_report

from .checks import assert_image
from .test_html import parse

AND = {
    "name": "and_step",
    "dataset": {"name": "gates", "function": "and", "encoding": "bipolar"},
    "architecture": [2, 1],
    "activation": "step",
    "loss": "sse",
    "learning_rate": 0.1,
    "epochs": 12,
    "batch_size": 1,
    "runs": 2,
    "test_size": 0,
    "record": {"weights": True},
    "output": {"plots": False},
}


@pytest.fixture(scope="module")
def and_run(tmp_path_factory):
    return run_experiment(build_config(AND), out_root=tmp_path_factory.mktemp("results"))


def test_report_of_a_real_run_from_its_experiment_folder(and_run):
    html = build_report([and_run.parent])  # results/and_step/ means its newest complete run
    assert html == and_run / "report" / "report.html"
    figures = sorted(p for p in html.parent.iterdir() if p.suffix in (".png", ".gif"))
    names = [p.name for p in figures]
    for expected in (
        "curve_accuracy.png",
        "curve_sse.png",
        "confusion_train.png",
        "classwise_train.png",
        "hyperplane_frames.png",
        "hyperplane.gif",
        "decision_regions.png",
        "roc_pr.png",
    ):
        assert expected in names
    for path in figures:
        if path.suffix == ".png":
            assert_image(path)
    recorded = load_results(and_run).weights_history["epochs"]
    assert list(recorded) == list(range(13))  # epochs 0..12
    with Image.open(html.parent / "hyperplane.gif") as gif:
        assert gif.n_frames == len(recorded)
    page = parse(html)
    assert page.title == "and_step" and len(page.images) == len(figures)
