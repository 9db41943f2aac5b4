"""Typed layer lists in a config: parsing, defaults, shape errors with YAML lines, summaries."""

import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import build_config, load_config
from perceptron_lab.data import load_dataset
from perceptron_lab.errors import ConfigError
from perceptron_lab.experiment.specs import (
    network_plan,
    network_summary,
    resolve_loss,
    static_input_shape,
    target_coding,
)
from perceptron_lab.layer_specs import LAYER_KINDS, parse_layer_list

CONFIGS = Path(__file__).parents[1] / "configs"
runner = CliRunner()


def digits_config(*layers, **keys):
    return build_config({"dataset": "digits", "architecture": list(layers), **keys})


def test_shorthands_expand_to_the_canonical_form():
    config = digits_config(
        "flatten", {"dense": 32}, {"dropout": 0.25}, "batchnorm", {"dense": {"units": 10, "name": "out"}}
    )
    assert config.architecture == [
        {"flatten": {}},
        {"dense": {"units": 32}},
        {"dropout": {"rate": 0.25}},
        {"batchnorm": {}},
        {"dense": {"units": 10, "name": "out"}},
    ]
    # The canonical form parses to the same layers (config.yaml round trip).
    assert build_config(config.to_dict()).architecture == config.architecture


def test_the_mlp_shorthand_is_unchanged():
    config = build_config({"dataset": "digits", "architecture": [64, 32, 10]})
    assert config.architecture == [64, 32, 10] and not config.is_layer_list


def test_globals_are_the_defaults_and_the_last_layer_takes_the_output_activation():
    config = digits_config(
        {"dense": 16},
        {"dense": {"units": 8, "activation": "tanh", "l2": 0.5}},
        {"dense": 10},
        activation="relu",
        output_activation="softmax",
        l2=0.01,
    )
    layers = network_plan(config, load_dataset("digits")).layers
    assert [layer.activation.get_config()["name"] for layer in layers] == ["relu", "tanh", "softmax"]
    assert [layer.l2 for layer in layers] == [0.01, 0.5, 0.01]
    assert resolve_loss(config) == "categorical_crossentropy"


def test_image_datasets_give_the_input_shape():
    config = digits_config(
        {"conv2d": {"filters": 4, "kernel": 3}}, "flatten", {"dense": {"units": 10, "activation": "softmax"}}
    )
    assert static_input_shape(config) == (8, 8, 1)
    plan = network_plan(config, load_dataset("digits"))
    assert plan.input_shape == (8, 8, 1)
    assert plan.shapes == [(6, 6, 4), (144,), (10,)]
    assert target_coding(config, load_dataset("digits")).n_units == 10


def test_ej8_conv_summary_through_the_config():
    config = load_config(CONFIGS / "mnist_conv.yaml")
    summary = network_summary(config, static_input_shape(config))
    assert (summary.total, summary.trainable, summary.non_trainable) == (12986, 12890, 96)
    rows = [row for row in summary.rows if row[1] != "input"]
    assert [tuple(row[2]) for row in rows] == [
        (28, 28, 32),
        (14, 14, 32),
        (14, 14, 32),
        (14, 14, 16),
        (7, 7, 16),
        (7, 7, 16),
        (784,),
        (10,),
    ]
    assert [row[3] for row in rows] == [320, 0, 128, 4624, 0, 64, 0, 7850]


def test_ej8_dense_summary_through_the_config():
    config = load_config(CONFIGS / "mnist_dense_bn.yaml")
    summary = network_summary(config, static_input_shape(config))
    assert (summary.total, summary.trainable, summary.non_trainable) == (16140, 16080, 60)


def test_every_kind_describes_its_parameters():
    for kind in LAYER_KINDS.values():
        assert kind.description
        for name, field in kind.params.model_fields.items():
            assert field.description, f"{kind.name}.{name}"


def test_skip_connection_parses_and_checks():
    config = digits_config(
        {"dense": {"units": 10, "activation": "relu", "name": "hidden"}},
        {"concatenate": {"inputs": ["input", "hidden"]}},
        {"dense": {"units": 10, "activation": "softmax"}},
    )
    assert network_plan(config, load_dataset("digits")).shapes == [(10,), (74,), (10,)]


# ---------------------------------------------------------------------------------------------
# Bad layer lists: one line, exit 2, naming the layer and its line.

BAD = [
    (  # a kernel larger than its input: 8x8 -> pool 4 -> 2x2, then a 3x3 valid kernel
        """\
        dataset: digits
        architecture:
          - {maxpool2d: 4}
          - {conv2d: {filters: 8, kernel: 3}}
          - flatten
          - {dense: 10}
        """,
        ["cfg.yaml:4:", "architecture.1 (conv2d)", "2x2"],
    ),
    (  # concatenating an image with a flat vector
        """\
        dataset: digits
        architecture:
          - {conv2d: {filters: 2, kernel: 3, padding: same, name: c}}
          - {flatten: {name: f}}
          - {concatenate: {inputs: [c, f]}}
          - {dense: 10}
        """,
        ["cfg.yaml:5:", "architecture.2 (concatenate)", "8x8x2", "128"],
    ),
    (
        """\
        dataset: digits
        architecture:
          - {conv2d: {filters: 2, kernel: 3}}
          - {maxpool: 2}
          - {dense: 10}
        """,
        ["cfg.yaml:4:", "architecture.1", "unknown layer kind 'maxpool'", "did you mean 'maxpool2d'"],
    ),
    (  # iris has no image shape
        """\
        dataset: iris
        architecture:
          - {conv2d: {filters: 2, kernel: 1}}
          - flatten
          - {dense: 3}
        """,
        ["cfg.yaml:3:", "architecture.0 (conv2d)", "needs (H, W, C) images", "input: [H, W, C]"],
    ),
    (
        """\
        dataset: digits
        architecture:
          - {dense: {units: 10, activaton: relu}}
        """,
        ["cfg.yaml:3:", "architecture.0.dense.activaton", "did you mean 'activation'"],
    ),
    (
        """\
        dataset: digits
        architecture:
          - {input: [28, 28, 1]}
          - flatten
          - {dense: 10}
        """,
        ["cfg.yaml:3:", "architecture.0 (input)", "784 values", "64 features"],
    ),
]


@pytest.mark.parametrize("text, expected", BAD)
def test_bad_layer_lists_exit_2_with_one_line(tmp_path, text, expected):
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(text))
    for command in ("validate", "run"):
        result = runner.invoke(
            app, [command, str(path), "--out", str(tmp_path / "out")][: 2 + 2 * (command == "run")]
        )
        assert result.exit_code == 2, result.output
        line = " ".join(result.output.split())
        assert result.output.count("error:") == 1
        for part in expected:
            assert part in line, (part, line)
    assert not (tmp_path / "out").exists()


def test_shape_errors_found_after_loading_name_the_line(tmp_path):
    # A CSV's shape is known only once loaded: the error still names the layer's line.
    data = tmp_path / "data.csv"
    data.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    path = tmp_path / "cfg.yaml"
    path.write_text(
        f"dataset: {{name: csv, path: {data}, target: label}}\n"
        "architecture:\n"
        "  - {dense: 4}\n"
        "  - {maxpool2d: 2}\n"
        "  - flatten\n"
        "  - {dense: 2}\n"
    )
    config = load_config(path)
    with pytest.raises(ConfigError, match=r"cfg.yaml:4: architecture.1 \(maxpool2d\)"):
        network_plan(config, load_dataset("csv", path=str(data), target="label"))


def test_layer_options_and_global_dropout_are_refused_with_a_layer_list():
    with pytest.raises(ConfigError, match="layers"):
        digits_config({"dense": 10}, layers=[{}])
    with pytest.raises(ConfigError, match="regularization.dropout"):
        digits_config({"dense": 10}, regularization={"dropout": 0.5})


def test_parse_rejects_input_after_the_first_entry():
    from perceptron_lab.layer_specs import LayerListError

    with pytest.raises(LayerListError, match="first entry"):
        parse_layer_list([{"dense": 10}, {"input": [4]}])


def test_validate_and_run_print_the_summary_unless_quiet(tmp_path):
    config = CONFIGS / "optdigits_conv.yaml"
    shown = runner.invoke(app, ["validate", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "Total params: 6,090" in shown.output and "(None, 4, 4, 32)" in shown.output
    quiet = runner.invoke(app, ["validate", str(config), "--quiet"])
    assert quiet.exit_code == 0 and "Total params" not in quiet.output
    out = str(tmp_path / "results")
    ran = runner.invoke(
        app, ["run", str(config), "--set", "epochs=1", "--set", "runs=1", "--no-plots", "--out", out]
    )
    assert ran.exit_code == 0, ran.output
    assert "Trainable params: 6,090" in ran.output
    assert ran.output.index("Total params") < ran.output.index("final epoch")


def test_describe_architecture():
    from perceptron_lab.layer_specs import describe_architecture

    assert describe_architecture([64, 32, 10]) == "64-32-10"
    config = load_config(CONFIGS / "optdigits_conv.yaml")
    assert describe_architecture(config.architecture) == (
        "conv2d(16) maxpool2d(2) conv2d(32) maxpool2d(2) flatten dense(10)"
    )
    assert describe_architecture([{"input": {"shape": [28, 28, 1]}}, {"dense": {"units": 3}}]) == (
        "input(28x28x1) dense(3)"
    )


@pytest.mark.parametrize("name", ["digits", "digits5x7"])
def test_registry_image_shapes_match_the_loaded_data(name):
    from perceptron_lab.data import DATASETS
    from perceptron_lab.layer_specs import image_input_shape

    data = load_dataset(name)
    assert image_input_shape(data.meta["image_shape"]) == DATASETS[name].image_shape
    assert np.prod(DATASETS[name].image_shape) == data.n_features


def test_the_output_must_be_flat():
    config = digits_config({"conv2d": {"filters": 1, "kernel": 3, "padding": "same"}})
    with pytest.raises(
        ConfigError, match=r"architecture.0 \(conv2d\): the network's output must be flat, got 8x8x1"
    ):
        network_plan(config, load_dataset("digits"))


def test_lab_layers_lists_every_kind_from_the_registry():
    from perceptron_lab.layer_specs import parameter_summary

    result = runner.invoke(app, ["layers"])
    assert result.exit_code == 0
    kinds = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert [k for k in kinds if k] == list(LAYER_KINDS)
    assert parameter_summary(LAYER_KINDS["dense"]).startswith("units (required), activation,")
    assert parameter_summary(LAYER_KINDS["conv2d"]).startswith("filters (required), kernel (required),")
    assert parameter_summary(LAYER_KINDS["maxpool2d"]) == "pool_size, strides, padding; bare value: pool_size"


def test_the_readme_names_every_layer_kind():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for kind in LAYER_KINDS:
        assert kind in readme, kind


def test_sizes_and_layers_do_not_mix():
    with pytest.raises(ConfigError, match="either layer sizes .* or a list of layers, not both"):
        digits_config({"dense": 10}, 5)


def test_input_takes_a_flat_size_and_positive_sizes_only():
    config = digits_config({"input": 64}, {"dense": 10})
    assert config.architecture[0] == {"input": {"shape": [64]}}
    with pytest.raises(ConfigError, match=r"architecture.0.input.shape.1: Input should be greater than 0"):
        digits_config({"input": [8, 0]}, {"dense": 10})
