"""Bad configs are one ConfigError line naming the key, file or line, never a traceback:
hostile YAML (alias bombs, deep nesting, not UTF-8, duplicate keys, python tags), bad override
values, numbers that are not numbers, and registry parameters checked against the registry."""

import textwrap
import time

import pytest

from perceptron_lab.config import build_config, load_config, parse_override
from perceptron_lab.config_yaml import MAX_DEPTH, MAX_NODES, line_index, parse_yaml, safe_load
from perceptron_lab.errors import ConfigError, UserError

BASE = {"dataset": "iris", "architecture": [4, 5, 3]}
HEADER = "dataset: iris\narchitecture: [4, 5, 3]\n"


def write(tmp_path, text: str, name: str = "cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# YAML itself


def alias_bomb(levels: int = 12, fan: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return HEADER + "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly_in_one_line(tmp_path):
    path = write(tmp_path, alias_bomb())
    started = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert time.perf_counter() - started < 5
    assert f"more than {MAX_NODES:,} nodes" in one_line(error)
    assert str(path) in str(error.value)


def test_aliases_within_the_limit_still_work_and_keep_their_lines(tmp_path):
    path = write(
        tmp_path,
        """\
        dataset: iris
        architecture: &sizes [4, 5, 3]
        sweep: {grid: {architecture: [*sizes, [4, 8, 3]]}}
        """,
    )
    config = load_config(path)
    assert config.sweep.grid["architecture"] == [[4, 5, 3], [4, 8, 3]]
    document = parse_yaml(path.read_text(), "cfg")
    assert document.lines[("sweep",)] == 3 and document.lines[("architecture",)] == 2


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    path = write(tmp_path, HEADER + "x: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"nested more than {MAX_DEPTH} levels deep" in one_line(error)
    assert f"{path}:3" in str(error.value)


def test_config_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("dataset: iris\narchitecture: [4, 5, 3]\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert one_line(error) == f"{path}:3: not UTF-8 text (byte 0xe9); save the config as UTF-8"


def test_a_utf8_bom_is_fine(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode())
    assert load_config(path).architecture == [4, 5, 3]


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    path = write(tmp_path, HEADER + "epochs: 5\nseed: 1\nepochs: 50\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}:5: invalid YAML (duplicate key 'epochs' (first on line 3))" == one_line(error)


def test_duplicate_keys_in_a_nested_section(tmp_path):
    path = write(tmp_path, HEADER + "optimizer:\n  name: adam\n  name: sgd\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml:5: invalid YAML \(duplicate key 'name'"):
        load_config(path)


def test_merge_keys_may_override_what_they_merge(tmp_path):
    path = write(
        tmp_path,
        HEADER + "base: &base {patience: 3, min_delta: 0.1}\n" + "early_stopping: {<<: *base, patience: 5}\n",
    )
    with pytest.raises(ConfigError, match="unknown key 'base'"):
        load_config(path)  # the merge itself is accepted; only the helper key is unknown


def test_python_tags_are_refused(tmp_path):
    path = write(tmp_path, HEADER + "name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "tags such as !!python are not allowed" in one_line(error)


def test_line_index_is_linear_in_the_expanded_document():
    document = parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", "t")
    assert line_index(document.root) == {
        ("a",): 1,
        ("a", "0"): 1,
        ("a", "1"): 1,
        ("b",): 2,
        ("b", "0"): 1,  # an alias is located where its anchor defines the value
        ("b", "1"): 1,
        ("b", "0", "0"): 1,
        ("b", "0", "1"): 1,
        ("b", "1", "0"): 1,
        ("b", "1", "1"): 1,
    }


def test_exponent_without_a_dot_is_a_float():
    assert parse_yaml("x: 1e-3\ny: 2E5\nz: 10\n", "t").data == {"x": 0.001, "y": 200000.0, "z": 10}


# ---------------------------------------------------------------------------------------------
# Override values


@pytest.mark.parametrize(
    "override, message",
    [
        ("epochs=[1,", "<config>: override epochs: invalid YAML (expected the node content"),
        ("name=!!python/object/apply:os.system ['echo hi']", "tags such as !!python are not allowed"),
        (".epochs=2", "override .epochs: not a key path"),
        ("epochs..x=2", "override epochs..x: not a key path"),
        ("epochs", "override 'epochs' must look like key.path=value"),
    ],
)
def test_bad_overrides_are_one_line(override, message):
    with pytest.raises(ConfigError) as error:
        build_config(BASE, [override])
    assert message in one_line(error)
    assert "<root>" not in str(error.value)


def test_override_errors_say_the_value_came_from_the_override(tmp_path):
    path = write(tmp_path, HEADER + "optimizer: sgd\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, ["optimizer={name: adam, momentum: 0.5}"])
    assert one_line(error) == (
        f"{path} (override optimizer): unknown key 'optimizer.momentum'; "
        "optimizer 'adam' takes: learning_rate, beta1, beta2, eps, weight_decay, l1"
    )


def test_parse_override_reads_scientific_notation_as_a_float():
    assert parse_override("learning_rate=1e-3") == ("learning_rate", 0.001)


# ---------------------------------------------------------------------------------------------
# Values: numbers that are not numbers, out-of-range ints, registry parameters


@pytest.mark.parametrize(
    "override, message",
    [
        ("learning_rate=.inf", "optimizer.learning_rate: Input should be a finite number"),
        ("noise_alpha=.nan", "noise.alpha.0: Input should be a finite number"),
        ("noise_alpha=.inf", "noise.alpha.0: Input should be a finite number"),
        ("epochs=true", "epochs: expected a number, not true"),
        ("runs=false", "runs: expected a number, not false"),
        ("architecture=[4, true, 3]", "architecture: expected a number"),
        ("record.epochs=[-1, 1000000000]", "record: epochs: -1 is not an epoch of this run (0 to 100)"),
        ("record.epochs=[5, 1000000000]", "record: epochs: 1000000000 is not an epoch of this run"),
        ("epochs=1000000000000000000000000000000", "epochs: integer too large"),
        ("seed=-1", "seed: Input should be greater than or equal to 0"),
        ("initializer={name: uniform, low: .inf}", "initializer.low: must be a finite number"),
        ("activation={name: tanh, beta: true}", "activation.beta: expected a number, got True"),
        ("dataset={name: mnist, subset: true}", "dataset.subset: expected a number, not true"),
        ("dataset={name: mnist, subset: 1000000000000000000000}", "dataset.subset: integer too large"),
        ("loss=sse2", "loss: unknown name 'sse2' (did you mean 'sse'?)"),
        (
            "preprocessing.inputs=standrd",
            "preprocessing.inputs: unknown name 'standrd' (did you mean 'standard'?)",
        ),
        ("optimizer=adamm", "optimizer.name: unknown name 'adamm' (did you mean 'adam'?)"),
        (
            "optimizer={name: adam, beta1: 1.5}",
            "(override optimizer): optimizer 'adam': adam: need 0 <= beta1",
        ),
        (
            "noise={alpha: [0.1, 0.2], apply_to: train}",
            "noise: training on noisy copies takes exactly one alpha",
        ),
    ],
)
def test_values_a_run_would_reject_are_config_errors(override, message):
    with pytest.raises(ConfigError) as error:
        build_config(BASE, [override])
    assert message in one_line(error), str(error.value)


def test_bad_value_of_a_known_optimizer_param_names_the_optimizer():
    with pytest.raises(
        ConfigError, match=r"^<config>: optimizer 'momentum': momentum: .* in \[0, 1\), got 1.5$"
    ):
        build_config({**BASE, "optimizer": {"name": "momentum", "momentum": 1.5}})


def test_run_seeds_must_fit_the_splitters_32_bits():
    assert build_config(BASE, ["seed=4294967295"]).seed == 2**32 - 1
    with pytest.raises(
        ConfigError, match=r"runs: run seeds seed \+ run must stay <= 4294967295; seed is 4294967295"
    ):
        build_config(BASE, ["seed=4294967295", "runs=2"])


def test_optimizer_params_of_the_named_optimizer_are_accepted():
    config = build_config({**BASE, "optimizer": {"name": "adam", "beta1": 0.8, "eps": 1e-7}})
    assert config.optimizer.spec() == {"name": "adam", "learning_rate": 0.01, "beta1": 0.8, "eps": 1e-7}


def test_unknown_key_in_a_dataset_spec_gets_did_you_mean():
    with pytest.raises(ConfigError) as error:
        build_config({**BASE, "dataset": "mnist"}, ["dataset.subsett=10"])
    assert one_line(error) == (
        "<config> (override dataset.subsett): unknown key 'dataset.subsett' (did you mean 'dataset.subset'?)"
    )


def test_layers_of_the_wrong_length_name_layers_not_root(tmp_path):
    path = write(tmp_path, HEADER + "layers:\n  - {dropout: 0.1}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert one_line(error) == (
        f"{path}:3: layers: 1 entry given; architecture [4, 5, 3] has 2 non-input layers, one entry each"
    )


def test_old_canonical_configs_with_null_optimizer_params_still_load():
    # config.yaml written before optimizer params were registry-checked held every key, unset as null
    old = {**BASE, "optimizer": {"name": "adam", "learning_rate": 0.01, "momentum": None, "rho": None}}
    assert build_config(old).optimizer.spec() == {"name": "adam", "learning_rate": 0.01}


# ---------------------------------------------------------------------------------------------
# The command line: exit 2, one line on stderr, nothing written


@pytest.mark.parametrize(
    "content, overrides",
    [
        (alias_bomb().encode(), []),
        ((HEADER + "x: " + "[" * 20000 + "]" * 20000 + "\n").encode(), []),
        ("dataset: iris\narchitecture: [4, 3]\nname: caf\xe9\n".encode("latin-1"), []),
        ((HEADER + "epochs: 1\nepochs: 2\n").encode(), []),
        (HEADER.encode(), ["epochs=[1,"]),
        (HEADER.encode(), ["name=!!python/object/apply:os.system ['echo hi']"]),
        (HEADER.encode(), ["epochs=1000000000000000000000000000000"]),
        (HEADER.encode(), [".epochs=2"]),
        (HEADER.encode(), ["learning_rate=.inf"]),
        (HEADER.encode(), ["architecture=[4, 1e9, 3]", "runs=5"]),
    ],
)
def test_lab_run_and_validate_exit_2_with_one_line_and_write_nothing(tmp_path, content, overrides):
    from typer.testing import CliRunner

    from perceptron_lab.cli import app

    config = tmp_path / "cfg.yaml"
    config.write_bytes(content)
    out = tmp_path / "results"
    sets = [arg for value in overrides for arg in ("--set", value)]
    for args in (["validate", str(config), *sets], ["run", str(config), "--out", str(out), "-q", *sets]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args[0], result.output)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output
    assert not out.exists()


def test_a_run_directorys_config_yaml_is_read_within_the_same_limits(tmp_path):
    from perceptron_lab.experiment.results_dir import read_mapping

    bomb = tmp_path / "config.yaml"
    bomb.write_text(alias_bomb())
    started = time.perf_counter()
    with pytest.raises(UserError) as error:
        read_mapping(bomb, safe_load)
    assert time.perf_counter() - started < 5
    assert f"{bomb}: unreadable (YamlTooLarge: expands to more than {MAX_NODES:,} nodes" in one_line(error)


def test_predict_dataset_values_are_one_line_errors():
    from perceptron_lab.experiment.predict_inputs import parse_dataset_spec

    assert parse_dataset_spec("csv,path=x.csv,target=y") == ("csv", {"path": "x.csv", "target": "y"})
    with pytest.raises(UserError, match=r"^dataset_spec: cannot read 'target=\[1' \("):
        parse_dataset_spec("csv,target=[1")
