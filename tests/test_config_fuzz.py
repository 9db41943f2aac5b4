"""Property: whatever the config text and `--set` values, `lab validate` exits 0, or exits 2 with
exactly one line on stderr; never a traceback, never a file written, always quickly.

Configs are generated three ways: YAML dumps of structures built from real config keys and
values (mostly near-valid configs), mutated YAML text (cut, duplicated lines, aliases, tags,
deep brackets), and raw bytes (not UTF-8, NUL). Overrides mix real keys with junk keys and values.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from perceptron_lab.cli import app

runner = CliRunner()
SECONDS_PER_CASE = 20  # generous: the machine may be loaded; a hang or blow-up takes far longer

VALID = {
    "name": "fuzz",
    "dataset": {"name": "gates", "function": "xor"},
    "architecture": [2, 3, 1],
    "activation": "tanh",
    "epochs": 3,
    "test_size": 0,
}
KEYS = [
    "name",
    "seed",
    "dataset",
    "dataset.name",
    "dataset.function",
    "dataset.subset",
    "architecture",
    "activation",
    "output_activation",
    "layers",
    "loss",
    "optimizer",
    "optimizer.name",
    "optimizer.momentum",
    "optimizer.beta1",
    "learning_rate",
    "initializer",
    "epochs",
    "batch_size",
    "runs",
    "kfolds",
    "test_size",
    "validation_split",
    "noise_alpha",
    "noise.copies",
    "noise.apply_to",
    "preprocessing.inputs",
    "early_stopping",
    "early_stopping.monitor",
    "early_stopping.patience",
    "metrics",
    "record.epochs",
    "dtype",
    "max_replicas",
    "eval_every",
    "l2",
    "sweep.grid",
    "output.plots",
]
NAMES = ["gates", "iris", "csv", "sgd", "adam", "momentum", "tanh", "relu", "softmax", "sse", "accuracy"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NAMES),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(NAMES + ["name", "x"]), children, max_size=3)
    ),
    max_leaves=12,
)


def _set(data: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


# Values a run accepts, so that many generated configs are valid and exercise the whole check.
SENSIBLE = {
    "seed": st.integers(0, 100),
    "epochs": st.integers(1, 5),
    "runs": st.integers(1, 3),
    "kfolds": st.integers(1, 5),
    "batch_size": st.sampled_from([1, 2, "full"]),
    "learning_rate": st.floats(1e-4, 1.0),
    "activation": st.sampled_from(["tanh", "sigmoid", "relu", "identity"]),
    "optimizer": st.sampled_from(["sgd", "adam", "momentum", {"name": "adam", "beta1": 0.8}]),
    "test_size": st.sampled_from([0, 0.25, 0.5]),
    "validation_split": st.sampled_from([0, 0.25]),
    "noise_alpha": st.lists(st.floats(0, 1), max_size=2),
    "architecture": st.sampled_from([[2, 1], [2, 3, 1], [2, 2], [2, 4, 4, 1], [3, 1]]),
    "metrics": st.lists(st.sampled_from(["accuracy", "f1", "sse", "mse"]), max_size=2, unique=True),
    "early_stopping": st.sampled_from([None, {}, {"monitor": "train.accuracy", "patience": 2}]),
    "dtype": st.sampled_from(["float32", "float64"]),
    "record.epochs": st.lists(st.integers(0, 5), max_size=2),
    "max_replicas": st.integers(1, 3),
    "eval_every": st.integers(1, 3),
}


@st.composite
def near_valid_texts(draw) -> bytes:
    data = yaml.safe_load(yaml.safe_dump(VALID))
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 4)):  # mostly a value a run accepts, sometimes anything
            key = draw(st.sampled_from(sorted(SENSIBLE)))
            _set(data, key, draw(SENSIBLE[key]))
        else:
            _set(data, draw(st.sampled_from(KEYS)), draw(values))
    for key in draw(st.lists(st.sampled_from(list(VALID)), max_size=1)):
        data.pop(key, None)
    return yaml.safe_dump(data, allow_unicode=True).encode()


@st.composite
def mutated_texts(draw) -> bytes:
    lines = yaml.safe_dump(VALID).splitlines()
    inserts = st.sampled_from(
        [
            "epochs: 5",
            "a: &a [1, 2, 3]",
            "b: [*a, *a, *a]",
            "c: *nowhere",
            "name: !!python/object/apply:os.system ['true']",
            "x: " + "[" * 3000 + "]" * 3000,
            "x: " + "[" * 3000,
            "  bad: indent",
            "- a list item",
            "dataset: {name: gates, function: xor, subset: 3}",
            "optimizer: {name: adam, momentum: 0.5}",
            "learning_rate: .inf",
            "epochs: 1000000000000000000000000000000",
            "\t tab",
            "'unclosed",
            "{",
        ]
    )
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(lines)))
        lines.insert(position, draw(inserts | st.text(max_size=20)))
    text = "\n".join(lines)
    cut = draw(st.integers(0, len(text)))
    return (text if draw(st.booleans()) else text[:cut]).encode("utf-8", errors="surrogatepass")


raw_bytes = st.binary(max_size=200).map(lambda b: b"dataset: gates\n" + b)
config_files = st.one_of(near_valid_texts(), near_valid_texts(), mutated_texts(), raw_bytes)


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


sensible_overrides = st.sampled_from(sorted(SENSIBLE)).flatmap(
    lambda key: SENSIBLE[key].map(lambda value: f"{key}={_flow(value)}")
)
junk_overrides = st.one_of(
    st.tuples(st.sampled_from(KEYS), values.map(_flow)),
    st.tuples(st.sampled_from(KEYS + ["", ".epochs", "a..b", "x"]), st.text(max_size=15)),
).map(lambda kv: f"{kv[0]}={kv[1]}")
overrides = st.lists(st.one_of(sensible_overrides, sensible_overrides, junk_overrides), max_size=3)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder that is the working directory, the data cache and the results root of every case."""
    root = tmp_path_factory.mktemp("fuzz")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    patch.delenv("PERCEPTRON_LAB_DATA", raising=False)
    patch.setattr("urllib.request.urlopen", _no_network)
    patch.chdir(root)
    yield root
    patch.undo()


def _no_network(*args, **kwargs):
    raise AssertionError("validate must not reach the network")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=config_files, sets=overrides)
def test_validate_is_ok_or_one_line_and_exit_2(workdir, text, sets):
    config = workdir / "config.yaml"
    config.write_bytes(text)
    before = _tree(workdir)
    args = ["validate", str(config)]
    for value in sets:
        args += ["--set", value]
    started = time.perf_counter()
    result = runner.invoke(app, args)
    elapsed = time.perf_counter() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "Traceback" not in result.output and "<root>" not in result.stderr
    else:
        assert result.stdout.strip().splitlines()[-1].startswith(f"{config}: ok"), result.output
    assert _tree(workdir) == before, "validate wrote files"
    assert elapsed < SECONDS_PER_CASE
