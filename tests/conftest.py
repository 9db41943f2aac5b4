"""Shared fixtures: tiny configs that train in well under a second."""

import copy
import textwrap

import pytest


@pytest.fixture
def write_config(tmp_path):
    """write_config(text, name="cfg.yaml") -> Path of a YAML file in tmp_path."""

    def write(text: str, name: str = "cfg.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


TINY_AND = """\
    name: tiny_and
    dataset: {name: gates, function: and}
    architecture: [2, 1]
    activation: step
    learning_rate: 0.1
    epochs: 8
    batch_size: 1
    runs: 2
    test_size: 0
    record: {weights: true}
    output: {plots: false}
    """

TINY_IRIS = """\
    name: tiny_iris
    dataset: iris
    architecture: [4, 5, 3]
    activation: tanh
    output_activation: softmax
    optimizer: {name: adam, learning_rate: 0.05}
    epochs: 6
    batch_size: 16
    runs: 2
    kfolds: 3
    preprocessing: {inputs: standard}
    output: {plots: false}
    """


@pytest.fixture
def tiny_and(write_config):
    return write_config(TINY_AND, "tiny_and.yaml")


@pytest.fixture
def tiny_iris(write_config):
    return write_config(TINY_IRIS, "tiny_iris.yaml")


TINY = {
    "name": "tiny",
    "dataset": {"name": "gates", "function": "and"},
    "architecture": [2, 1],
    "activation": "step",
    "epochs": 3,
    "runs": 2,
    "test_size": 0,
    "output": {"plots": False},
}


@pytest.fixture(scope="session")
def tiny_config():
    """tiny_config(**changes) -> a fresh copy of the TINY config dict with top-level keys replaced."""

    def make(**changes) -> dict:
        return {**copy.deepcopy(TINY), **changes}

    return make
