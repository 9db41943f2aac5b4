"""The shipped image configs validate, and their layer sizes fit the data their loaders return."""

from pathlib import Path

import pytest
from data_files import make_cifar_archive, make_mnist_files

from perceptron_lab.config import ExperimentConfig
from perceptron_lab.config_files import read_config_file
from perceptron_lab.data import DATASETS, load_dataset

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["mnist_784_32_10", "mnist_deep", "fashion_mnist", "cifar10"])
def test_image_config_fits_its_dataset(name, tmp_path):
    raw, _ = read_config_file(CONFIGS / f"{name}.yaml")
    config = ExperimentConfig.model_validate(raw)
    assert config.name == name and config.test_dataset is not None
    for spec in (config.dataset, config.test_dataset):
        DATASETS[spec.name].params(**spec.params())

    # Same loader params, but reading small generated files instead of the real downloads.
    if config.dataset.name == "cifar10":
        make_cifar_archive(tmp_path / "cifar-10-python.tar.gz", per_batch=30)
        checks = {"cifar-10-python.tar.gz": None}
    else:
        make_mnist_files(tmp_path, n_train=40, n_test=20)
        checks = {p.name: None for p in tmp_path.glob("*.gz")}
    for spec in (config.dataset, config.test_dataset):
        params = {**spec.params(), "data_dir": str(tmp_path), "sha256": checks, "download": False}
        data = load_dataset(spec.name, **params)
        assert data.n_features == config.architecture[0]
        assert data.n_outputs == config.architecture[-1]
