"""Config inheritance (`extends`), null deletion, and paths relative to the config file."""

import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from perceptron_lab.cli import app
from perceptron_lab.config import load_config
from perceptron_lab.config_files import deep_merge, read_config_file
from perceptron_lab.errors import ConfigError

BASE = """\
name: base
dataset: iris
architecture: [4, 5, 3]
activation: tanh
optimizer: {name: adam, learning_rate: 0.05, beta1: 0.8}
epochs: 3
early_stopping: {monitor: train.loss, patience: 2}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_deep_merge_later_keys_win_mappings_merge_and_none_deletes():
    base = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 1}
    assert deep_merge(base, {"a": {"y": None, "z": 3}, "b": [9], "c": None}) == {
        "a": {"x": 1, "z": 3},
        "b": [9],
    }
    assert base == {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 1}  # inputs untouched


def test_bases_merge_in_list_order_and_the_file_wins(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    write(tmp_path / "later.yaml", "optimizer: {beta2: 0.99}\nepochs: 7\nruns: 2\n")
    child = write(
        tmp_path / "child.yaml",
        "extends: [base.yaml, later.yaml]\nname: child\nruns: 3\nlearning_rate: 0.2\n",
    )
    config = load_config(child)
    assert config.name == "child"
    assert config.epochs == 7  # the later base wins over the earlier
    assert config.runs == 3  # the file wins over its bases
    # the optimizer sections merge key by key; the shorthand sets the rate on the merged section
    assert config.optimizer.spec() == {"name": "adam", "learning_rate": 0.2, "beta1": 0.8, "beta2": 0.99}
    assert config.architecture == [4, 5, 3]
    # a bare name replaces only the name of a base's named section
    write(tmp_path / "rms.yaml", "extends: base.yaml\noptimizer: rmsprop\n")
    with pytest.raises(ConfigError, match="optimizer.beta1"):  # adam's beta1 came along
        load_config(tmp_path / "rms.yaml")


def test_null_removes_a_key_of_the_base(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(
        tmp_path / "child.yaml", "extends: base.yaml\nearly_stopping: null\noptimizer: {beta1: null}\n"
    )
    config = load_config(child)
    assert config.early_stopping is None
    assert config.optimizer.spec() == {"name": "adam", "learning_rate": 0.05}
    assert load_config(tmp_path / "base.yaml").early_stopping is not None


def test_chained_extends_and_a_single_string(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    write(tmp_path / "mid" / "mid.yaml", "extends: ../base.yaml\nepochs: 11\n")
    child = write(tmp_path / "deep" / "child.yaml", "extends: ../mid/mid.yaml\nruns: 4\n")
    config = load_config(child)
    assert (config.epochs, config.runs, config.name) == (11, 4, "base")


def test_a_cycle_is_one_line_naming_the_files(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ConfigError, match=r"cycle .*a\.yaml -> .*b\.yaml -> .*a\.yaml") as error:
        load_config(tmp_path / "a.yaml")
    assert "\n" not in str(error.value)
    write(tmp_path / "self.yaml", "extends: self.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "self.yaml")


def test_a_missing_base_shows_its_resolved_path_and_exits_2(tmp_path, monkeypatch):
    child = write(tmp_path / "configs" / "child.yaml", "extends: bases/nowhere.yaml\n")
    with pytest.raises(ConfigError, match="no such config file") as error:
        load_config(child)
    assert str(tmp_path / "configs" / "bases" / "nowhere.yaml") in str(error.value)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", "configs/child.yaml"])
    assert result.exit_code == 2
    assert "nowhere.yaml" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["[]", "3", "[base.yaml, 4]"])
def test_a_malformed_extends_is_a_config_error(tmp_path, value):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", f"extends: {value}\n")
    with pytest.raises(ConfigError, match="extends"):
        load_config(child)


CSV = "a,b,label\n0,0,x\n0,1,y\n1,0,y\n1,1,x\n0,0,x\n0,1,y\n1,0,y\n1,1,x\n"


def test_data_paths_resolve_against_their_config_file_from_any_directory(tmp_path, monkeypatch):
    write(tmp_path / "project" / "data" / "points.csv", CSV)
    write(
        tmp_path / "project" / "bases" / "csv.yaml",
        """\
        dataset: {name: csv, path: ../data/points.csv, target: label}
        architecture: [2, 3, 2]
        epochs: 2
        test_size: 0
        output: {plots: false, save_models: false}
        """,
    )
    child = write(tmp_path / "project" / "configs" / "run.yaml", "extends: ../bases/csv.yaml\nname: xorish\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(child)
    assert config.dataset.params()["path"] == str(tmp_path / "project" / "data" / "points.csv")
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(child)])
    assert result.exit_code == 0, result.output
    # The run directory's config.yaml is the merged config and reproduces the run alone.
    result = runner.invoke(app, ["run", str(child), "--out", "out", "-q"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (elsewhere / "out" / "xorish").iterdir()
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert "extends" not in stored and stored["dataset"]["path"] == config.dataset.params()["path"]
    assert load_config(run_dir / "config.yaml").config_hash() == config.config_hash()


def test_a_missing_data_file_shows_the_resolved_path(tmp_path, monkeypatch):
    child = write(
        tmp_path / "configs" / "run.yaml",
        "dataset: {name: csv, path: missing.csv}\narchitecture: [2, 2]\n",
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", "configs/run.yaml"])
    assert result.exit_code == 2
    assert str(tmp_path / "configs" / "missing.csv") in result.output.replace("\n", "")
    assert child.is_file()


def test_overrides_apply_after_the_merge(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nepochs: 5\n")
    assert load_config(child, ["epochs=9"]).epochs == 9
    raw, lines = read_config_file(child)
    assert raw["epochs"] == 5 and lines[("epochs",)] == 2


SHIPPED = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    assert load_config(path).name == path.stem


def test_the_shipped_xor_perceptron_is_the_and_perceptron_on_xor():
    and_step = load_config(SHIPPED / "ej1_and_step.yaml").to_dict()
    xor_step = load_config(SHIPPED / "ej1_xor_step.yaml").to_dict()
    changed = {key for key in and_step if and_step[key] != xor_step[key]}
    assert changed == {"name", "dataset", "epochs"}
    assert xor_step["dataset"] == {**and_step["dataset"], "function": "xor"}


def test_an_error_in_a_key_only_a_base_sets_points_at_the_extends_line(tmp_path):
    write(tmp_path / "base.yaml", BASE.replace("epochs: 3", "epochs: 0"))
    child = write(tmp_path / "child.yaml", "name: child\nextends: base.yaml\nruns: 2\n")
    with pytest.raises(ConfigError, match=r"child\.yaml:2: epochs") as error:
        load_config(child)
    assert "\n" not in str(error.value)
    write(tmp_path / "bad_runs.yaml", "name: child\nextends: base.yaml\nruns: 0\n")
    with pytest.raises(ConfigError, match=r"bad_runs\.yaml:3: runs"):
        load_config(tmp_path / "bad_runs.yaml")


def _leaves(data, prefix=()):
    """{path: value} of the non-mapping values of nested dicts."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def test_deep_merge_keeps_every_override_leaf_and_every_base_leaf_it_does_not_shadow():
    hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
    st = hypothesis.strategies
    keys = st.sampled_from(["a", "b", "c"])
    values = st.one_of(st.integers(), st.lists(st.integers(), max_size=2))
    trees = st.recursive(
        values, lambda inner: st.dictionaries(keys, inner, min_size=1, max_size=3), max_leaves=8
    )
    configs = st.dictionaries(keys, trees, max_size=3)

    @hypothesis.given(configs, configs)
    @hypothesis.settings(max_examples=200, deadline=None)
    def check(base, override):
        merged = _leaves(deep_merge(base, override))
        over = _leaves(override)
        for path, value in over.items():
            assert merged[path] == value
        for path, value in _leaves(base).items():
            shadowed = any(path[: len(p)] == p or p[: len(path)] == path for p in over)
            assert (merged[path] == value) if not shadowed else True
        assert set(merged) <= set(_leaves(base)) | set(over)

    check()
