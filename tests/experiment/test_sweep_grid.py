"""Sweep grids: grid override parsing, merging with the YAML block, cartesian points, directory names."""

import re

import pytest

from perceptron_lab.errors import ConfigError
from perceptron_lab.experiment.grid import (
    grid_of,
    grid_points,
    merge_grids,
    parse_grid_override,
    point_names,
    split_top_level,
)


@pytest.mark.parametrize(
    "text, parts",
    [
        ("0.001,0.01,0.1", ["0.001", "0.01", "0.1"]),
        ("[2,4,1],[2,8,1]", ["[2,4,1]", "[2,8,1]"]),
        ("[[2,3],[4]],{a: 1, b: 2}", ["[[2,3],[4]]", "{a: 1, b: 2}"]),
        ("'a,b',\"c,d\",e", ["'a,b'", '"c,d"', "e"]),
        ("single", ["single"]),
    ],
)
def test_split_top_level_splits_only_outside_brackets_and_quotes(text, parts):
    assert split_top_level(text) == parts


@pytest.mark.parametrize("text", ["[2,4", "2,4]", "[2,4)", "'open"])
def test_split_top_level_rejects_unbalanced_text(text):
    with pytest.raises(ValueError):
        split_top_level(text)


def test_grid_override_values_parse_as_yaml_and_keys_resolve_shorthands():
    assert parse_grid_override("learning_rate=0.001,1e-3,0.1") == (
        "optimizer.learning_rate",
        [0.001, 0.001, 0.1],
    )
    assert parse_grid_override("architecture=[2,4,1],[2,8,1]") == ("architecture", [[2, 4, 1], [2, 8, 1]])
    assert parse_grid_override("batch_size=1,full") == ("batch_size", [1, "full"])
    assert parse_grid_override("optimizer.name=sgd, adam") == ("optimizer.name", ["sgd", "adam"])
    assert parse_grid_override("shuffle=true,false") == ("shuffle", [True, False])


@pytest.mark.parametrize(
    "option, fragment",
    [
        ("learning_rate", "key.path=value1"),
        ("=0.1,0.2", "key.path=value1"),
        ("batch_size=", "key.path=value1"),
        ("batch_size=1,,2", "empty value"),
        ("architecture=[2,4,1", "architecture"),
        ("epochs=a: b: c", "epochs"),
    ],
)
def test_malformed_grid_overrides_raise_config_errors_naming_the_key(option, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_grid_override(option)


def test_cli_grid_replaces_yaml_keys_in_place_and_appends_new_ones():
    yaml_grid = {"learning_rate": [0.1, 0.2], "batch_size": [1, 16]}
    grid = merge_grids(yaml_grid, ["batch_size=4,8,12", "activation=tanh,sigmoid"])
    assert grid == {
        "optimizer.learning_rate": [0.1, 0.2],
        "batch_size": [4, 8, 12],
        "activation": ["tanh", "sigmoid"],
    }
    assert list(grid) == ["optimizer.learning_rate", "batch_size", "activation"]
    # A shorthand on the command line replaces its canonical key from the YAML block.
    assert merge_grids({"optimizer.learning_rate": [1.0]}, ["learning_rate=0.5"]) == {
        "optimizer.learning_rate": [0.5]
    }


@pytest.mark.parametrize(
    "yaml_grid, options, fragment",
    [
        ({}, ["epochs=1,2", "epochs=3"], "given twice"),
        ({}, ["epochs=5,5"], "listed twice"),
        ({"learning_rate": [0.1], "optimizer.learning_rate": [0.2]}, [], "same key"),
        ({"epochs": []}, [], "non-empty list"),
        ({}, ["sweep.grid=1,2"], "sweep"),
    ],
)
def test_invalid_grids_are_config_errors(yaml_grid, options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        merge_grids(yaml_grid, options)


def test_values_equal_in_python_but_different_in_yaml_are_distinct_points():
    grid = merge_grids({}, ["batch_size=1,1.0,true"])
    assert len(grid_points(grid)) == 3


def test_points_are_the_cartesian_product_with_the_last_key_fastest():
    grid = {"a": [1, 2], "b": ["x", "y", "z"]}
    points = grid_points(grid)
    assert points == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]
    assert grid_of(points) == grid


def test_point_names_follow_the_documented_scheme():
    points = [
        {"optimizer.learning_rate": 0.01, "batch_size": 16},
        {"architecture": [2, 8, 1], "activation": "tanh"},
        {"optimizer": {"name": "adam", "learning_rate": 1e-05}, "shuffle": False},
        {"dataset.path": "data/my file.csv", "noise.alpha": None},
    ]
    assert point_names(points) == [
        "optimizer.learning_rate-0.01__batch_size-16",
        "architecture-2x8x1__activation-tanh",
        "optimizer-name-adam+learning_rate-1e-05__shuffle-false",
        "dataset.path-data_my_file.csv__noise.alpha-null",
    ]


def test_point_names_stay_unique_and_safe_when_cleaning_collides_or_names_are_long():
    points = [{"dataset.path": "a/b"}, {"dataset.path": "a b"}, {"architecture": list(range(1, 80))}]
    names = point_names(points)
    assert len(set(names)) == 3
    assert names[0] == "dataset.path-a_b"
    assert re.fullmatch(r"dataset\.path-a_b__[0-9a-f]{8}", names[1])
    assert len(names[2]) <= 120 and re.search(r"__[0-9a-f]{8}$", names[2])
    assert all(re.fullmatch(r"[A-Za-z0-9._+-]+", name) and not name.startswith(".") for name in names)
