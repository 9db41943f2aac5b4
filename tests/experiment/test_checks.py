"""`lab validate` runs every check `lab run` makes before training, and downloads nothing."""

import gzip
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config, load_config
from perceptron_lab.data.idx import read_idx
from perceptron_lab.errors import ConfigError, DataError, UserError
from perceptron_lab.experiment import execute_experiment
from perceptron_lab.experiment.budget import check_memory, estimate_memory, parameter_count
from perceptron_lab.experiment.checks import check_experiment, split_names, validate_experiment
from perceptron_lab.experiment.executors import make_executor
from perceptron_lab.experiment.grid import MAX_POINTS, grid_points
from perceptron_lab.experiment.specs import load_data

runner = CliRunner()
XOR = {
    "dataset": {"name": "gates", "function": "xor", "encoding": "bipolar"},
    "architecture": [2, 3, 1],
    "activation": "tanh",
    "epochs": 2,
    "test_size": 0,
}


def lab(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_and_validate_agree(config, *exceptions):
    """Both the pre-training checks of a run and validate_experiment raise the same error."""
    with pytest.raises(exceptions or UserError) as from_run:
        execute_experiment(config)
    with pytest.raises(exceptions or UserError) as from_validate:
        validate_experiment(config)
    assert str(from_run.value) == str(from_validate.value)
    return str(from_run.value)


def test_kfolds_larger_than_the_xor_set_fails_in_validate_as_in_run():
    message = run_and_validate_agree(build_config({**XOR, "kfolds": 5}), ConfigError)
    assert message == "kfolds: 5 folds need at least 5 samples, the dataset has 4"


def test_an_unrecorded_early_stopping_monitor_fails_in_validate():
    config = build_config({**XOR, "early_stopping": {"monitor": "validation.loss"}})
    message = run_and_validate_agree(config, ConfigError)
    assert message.startswith("early_stopping.monitor: 'validation.loss' is not recorded; splits: train;")


def test_single_class_csv_is_a_data_error_in_validate_and_run(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n")
    config = build_config({"dataset": {"name": "csv", "path": str(path)}, "architecture": [2, 1]})
    message = run_and_validate_agree(config, DataError)
    assert message == "dataset: 'csv' has 1 class (0); classification needs at least two"


def test_huge_hidden_layer_is_refused_with_the_estimate_before_allocating():
    config = build_config({**XOR, "architecture": [2, 1_000_000_000, 1], "runs": 5})
    message = run_and_validate_agree(config, ConfigError)
    assert message.startswith("architecture/runs: the experiment needs about ")
    assert "4,000,000,001 parameters x 5 replicas" in message and "of memory available" in message


def test_a_hundred_million_runs_are_refused_before_making_splits():
    config = build_config({**XOR, "runs": 100_000_000})
    with pytest.raises(ConfigError, match="13 parameters x 100,000,000 replicas"):
        validate_experiment(config)


def test_memory_estimate_counts_parameters_replicas_and_dtype():
    assert parameter_count([35, 10, 10]) == 36 * 10 + 11 * 10
    small = build_config({**XOR, "runs": 10})
    wide = build_config({**XOR, "runs": 10, "architecture": [2, 3000, 1]})
    double = build_config({**XOR, "runs": 10, "architecture": [2, 3000, 1], "dtype": "float64"})
    chunked = build_config({**XOR, "runs": 10, "architecture": [2, 3000, 1], "max_replicas": 1})
    sizes = [estimate_memory(c, 4, 2).total_bytes for c in (small, wide, double, chunked)]
    assert sizes[0] < sizes[1] < sizes[2] and sizes[3] < sizes[1]
    # the parameters of every kept model are a floor of the estimate: 10 replicas x P x 4 bytes
    assert sizes[1] >= 10 * parameter_count([2, 3000, 1]) * 4
    with pytest.raises(ConfigError, match="max_replicas"):
        check_memory(wide, 4, 2, available=sizes[1] - 1)
    assert check_memory(wide, 4, 2, available=sizes[1]).total_bytes == sizes[1]


def test_checks_name_the_splits_a_run_records():
    config = build_config(
        {"dataset": "iris", "architecture": [4, 3], "validation_split": 0.2, "noise_alpha": [0.1, 0.3]}
    )
    dataset, test = load_data(config)
    assert split_names(config, dataset, test) == [
        "train",
        "validation",
        "test",
        "test_noise_0.1",
        "test_noise_0.3",
    ]
    checked = check_experiment(config, dataset, test)
    assert checked.metrics == ["loss", "accuracy", "precision", "recall", "f1", "sse"]


def test_validate_reports_downloads_instead_of_making_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PERCEPTRON_LAB_DATA", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("validate must not download")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    path = tmp_path / "mnist.yaml"
    path.write_text("dataset: mnist\narchitecture: [784, 10]\n")
    result = lab("validate", path)
    assert result.exit_code == 0, result.output
    assert "a run would download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in result.output
    assert "checks that need the data were skipped" in result.output
    assert not (tmp_path / "cache").exists()
    big = lab("validate", path, "--set", "architecture=[784, 1e9, 10]")
    assert big.exit_code == 2 and "parameters x 1 replicas" in big.output


def test_validate_prints_ok_with_the_dataset_shape(tmp_path):
    path = tmp_path / "iris.yaml"
    path.write_text("dataset: iris\narchitecture: [4, 3]\nruns: 2\n")
    result = lab("validate", path)
    assert result.exit_code == 0 and "ok (2 replicas, dataset (150, 4), needs about" in result.output


def test_grid_counts_points_before_making_them():
    grid = {"epochs": list(range(1, 1001)), "seed": list(range(1000))}
    with pytest.raises(ConfigError, match=r"grid: 1000 epochs x 1000 seed is 1,000,000 points, more than"):
        grid_points(grid)
    assert len(grid_points({"seed": list(range(MAX_POINTS))})) == MAX_POINTS


def test_sweep_dry_run_of_a_huge_grid_answers_with_one_line(tmp_path):
    path = tmp_path / "xor.yaml"
    path.write_text("dataset: {name: gates, function: xor}\narchitecture: [2, 1]\n")
    values = ",".join(str(i) for i in range(1, 1001))
    result = lab("sweep", path, "--grid", f"epochs={values}", "--grid", f"seed={values}", "--dry-run")
    assert result.exit_code == 2 and "1,000,000 points" in result.output


def test_library_errors_name_parameters_and_the_cli_names_options():
    with pytest.raises(UserError, match=r"^jobs must be >= 1 \(got 0\)$"):
        make_executor("local", jobs=0)
    with pytest.raises(UserError, match=r"^backend: 'nope' is not one of"):
        make_executor("nope")
    from perceptron_lab.cli import _as_cli_message

    error = UserError("jobs must be >= 1 (got 0)", param="jobs")
    assert _as_cli_message(error) == "--jobs must be >= 1 (got 0)"
    assert _as_cli_message(UserError("jobs table is empty")) == "jobs table is empty"


def test_idx_header_declaring_billions_of_images_is_refused_before_allocating(tmp_path):
    header = struct.pack(">4B3I", 0, 0, 0x08, 3, 4_000_000_000, 28, 28)
    plain = tmp_path / "huge-idx3-ubyte"
    plain.write_bytes(header + bytes(100))
    with pytest.raises(
        DataError, match=r"header declares shape \(4000000000, 28, 28\) .* more than a 116-byte"
    ):
        read_idx(plain)
    packed = tmp_path / "huge-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(DataError, match="more than a"):
        read_idx(packed)
    fine = tmp_path / "fine-idx1-ubyte"
    fine.write_bytes(struct.pack(">4BI", 0, 0, 0x08, 1, 3) + bytes([1, 2, 3]))
    assert read_idx(fine).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,a,y\n1,2,0\n3,4,1\n", ":1: duplicate column 'a'"),
        ("a,b,y\n", ": no data rows after the header"),
    ],
)
def test_csv_files_that_cannot_be_a_dataset(tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    config = build_config({"dataset": {"name": "csv", "path": str(path)}, "architecture": [2, 1]})
    with pytest.raises(DataError) as error:
        validate_experiment(config)
    assert str(error.value) == f"{path}{message}"


def test_a_config_that_validates_runs(tmp_path):
    path = tmp_path / "xor.yaml"
    path.write_text(
        "dataset: {name: gates, function: xor}\narchitecture: [2, 3, 1]\ntest_size: 0\nepochs: 2\nrecord: {epochs: [0, 2]}\n"
    )
    config = load_config(path)
    validation = validate_experiment(config)
    assert validation.checked is not None and validation.memory.replicas == 1
    result = execute_experiment(config)
    assert sorted(np.unique(result.epochs["epoch"])) == [0, 1, 2]


def test_estimate_takes_the_networks_own_counts_for_other_architectures():
    from perceptron_lab.experiment.budget import dense_shape

    # a typed layer list (not layer sizes): the config cannot count its parameters itself
    config = build_config({**XOR, "runs": 3}).model_copy(update={"architecture": [2, {"type": "dense"}]})

    assert dense_shape(config) == (0, 0)
    counted = estimate_memory(config, 4, 2, parameters=1000, units=50)
    assert counted.parameters == 1000 and counted.total_bytes >= 3 * 1000 * 4


def test_a_million_noisy_copies_of_each_sample_are_refused_before_drawing_them():
    config = build_config(
        {
            "dataset": "iris",
            "architecture": [4, 3],
            "noise": {"alpha": 0.1, "copies": 1_000_000, "apply_to": "train"},
        }
    )
    needed = estimate_memory(config, 150, 4).total_bytes
    assert needed >= 150 * 1_000_000 * (4 * 4 + 8)
    with pytest.raises(ConfigError, match="needs about"):
        check_memory(config, 150, 4, available=needed - 1)


def test_early_stopping_can_monitor_a_noisy_split_whose_name_has_a_dot(tmp_path):
    config = build_config(
        {
            "dataset": "iris",
            "architecture": [4, 3],
            "epochs": 3,
            "noise_alpha": 0.1,
            "early_stopping": {"monitor": "test_noise_0.1.accuracy", "patience": 2},
        }
    )
    assert config.early_stopping.mode == "max"
    assert "test_noise_0.1" in validate_experiment(config).checked.splits
    result = execute_experiment(config)
    assert "test_noise_0.1" in set(result.epochs["split"])
