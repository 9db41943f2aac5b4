"""`lab report SWEEP_A SWEEP_B` compares the best point of each sweep, not its newest."""

from perceptron_lab.config import build_config
from perceptron_lab.experiment.sweep import run_sweep, sweep_points
from perceptron_lab.report import build_report
from perceptron_lab.report.compare import newest_run_dir

IRIS = {
    "name": "iris_cmp",
    "dataset": "iris",
    "architecture": [4, 6, 3],
    "activation": "tanh",
    "output_activation": "softmax",
    "optimizer": {"name": "adam", "learning_rate": 0.05},
    "batch_size": 8,
    "runs": 2,
    "preprocessing": {"inputs": "standard"},
    "output": {"plots": False},
}


def test_each_sweep_stands_for_its_best_point(tmp_path):
    sweeps = []
    for lr in (0.05, 0.02):
        config = build_config({**IRIS, "optimizer": {"name": "adam", "learning_rate": lr}})
        # The last (newest) point trains 2 epochs: the worst; the first trains 100.
        sweeps.append(run_sweep(config, sweep_points(config, ["epochs=100,2"]), out_root=tmp_path / str(lr)))
    html = build_report(sweeps, out_dir=tmp_path / "cmp", metric="accuracy", split="test")
    text = html.read_text()
    assert text.count("epochs-100") >= 2 and "epochs-2" not in text
    for sweep in sweeps:
        assert newest_run_dir(sweep).name == "epochs-2"  # what the comparison used to show
