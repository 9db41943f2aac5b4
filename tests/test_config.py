"""Config schema: shorthands, overrides, and error messages that name key and line."""

import textwrap

import pytest

from perceptron_lab.config import (
    ExperimentConfig,
    apply_overrides,
    build_config,
    load_config,
    normalize,
    parse_override,
)
from perceptron_lab.errors import ConfigError

BASE = {"dataset": "iris", "architecture": [4, 5, 3]}


def write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_design_card_shorthands_resolve_to_nested_sections():
    cfg = build_config(
        {**BASE, "optimizer": "adam", "learning_rate": 0.05, "noise_alpha": 0.3, "batch_size": "full"}
    )
    assert cfg.optimizer.name == "adam"
    assert cfg.optimizer.learning_rate == 0.05
    assert cfg.noise.alpha == [0.3]
    assert cfg.dataset.name == "iris" and cfg.dataset.params() == {}
    assert cfg.batch_size == "full"


def test_overrides_reach_any_key_and_parse_values_as_yaml():
    data = apply_overrides(
        normalize({**BASE, "optimizer": "momentum"}),
        [
            "optimizer.learning_rate=0.5",
            "architecture=[4, 8, 3]",
            "learning_rate=0.25",
            "kfolds=5",
        ],
    )
    cfg = ExperimentConfig.model_validate(data)
    assert cfg.optimizer.name == "momentum"
    assert cfg.optimizer.learning_rate == 0.25  # the later override of the same key wins
    assert cfg.architecture == [4, 8, 3]
    assert cfg.kfolds == 5


def test_override_without_equals_is_rejected():
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("epochs")


def test_unknown_key_names_closest_key_and_line(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: [4, 5, 3]
        learnig_rate: 0.1
        """,
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f"{path}:3:" in message
    assert "learnig_rate" in message and "did you mean 'learning_rate'" in message


def test_unknown_nested_key_suggests_within_its_section(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: [4, 5, 3]
        optimizer:
          name: momentum
          momentun: 0.9
        """,
    )
    with pytest.raises(
        ConfigError,
        match=r"cfg.yaml:5: unknown key 'optimizer.momentun' \(did you mean 'optimizer.momentum'\?\)",
    ):
        load_config(path)


def test_wrong_type_names_key_path_and_line(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: [4, 5, 3]
        epochs: ten
        """,
    )
    with pytest.raises(ConfigError, match=r"cfg.yaml:3: epochs: .*'ten'"):
        load_config(path)


def test_shorthand_value_error_points_at_the_shorthand_line(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: [4, 5, 3]

        learning_rate: -1
        """,
    )
    with pytest.raises(ConfigError, match=r"cfg.yaml:4: optimizer.learning_rate"):
        load_config(path)


def test_unknown_dataset_and_activation_names_suggest(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'iris'"):
        build_config({**BASE, "dataset": "irys"})
    with pytest.raises(ConfigError, match="activation: unknown name 'sigmod'.*'sigmoid'"):
        build_config({**BASE, "activation": "sigmod"})


def test_dataset_params_are_validated_by_the_dataset_schema():
    with pytest.raises(ConfigError, match="dataset.colour"):
        build_config({**BASE, "dataset": {"name": "iris", "colour": "red"}})


def test_layers_must_match_architecture():
    with pytest.raises(
        ConfigError, match=r"<config>: layers: 1 entry given; architecture \[4, 5, 3\] has 2 non-input layers"
    ):
        build_config({**BASE, "layers": [{"activation": "tanh"}]})


def test_missing_required_key_and_empty_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'architecture'"):
        build_config({"dataset": "iris"})
    with pytest.raises(ConfigError, match="empty"):
        load_config(write(tmp_path, ""))
    with pytest.raises(ConfigError, match=r"cfg.yaml:2: invalid YAML"):
        load_config(write(tmp_path, "dataset: iris\narchitecture: [4, 5\n"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")


def test_config_hash_ignores_key_order_and_output_options():
    a = build_config({**BASE, "epochs": 5, "runs": 2})
    b = build_config({"runs": 2, "epochs": 5, **BASE, "output": {"dir": "elsewhere"}})
    c = build_config({**BASE, "epochs": 6, "runs": 2})
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_resolved_config_round_trips():
    cfg = build_config(
        {**BASE, "optimizer": {"name": "adam", "learning_rate": 0.01}, "noise_alpha": [0.3, 0.5]}
    )
    again = build_config(cfg.to_dict())
    assert again == cfg


def test_bad_params_of_a_known_activation_or_initializer_name_the_key(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: [4, 5, 3]
        activation: {name: tanh, gamma: 2}
        """,
    )
    with pytest.raises(
        ConfigError, match=r"cfg.yaml:3: unknown key 'activation.gamma'; activation 'tanh' takes: beta"
    ):
        load_config(path)
    with pytest.raises(ConfigError, match=r"layers.1.initializer: unknown name 'glorot'.*glorot_"):
        build_config({**BASE, "layers": [{}, {"initializer": "glorot"}]})
