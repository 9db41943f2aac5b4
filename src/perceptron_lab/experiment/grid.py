"""Sweep grids: grid overrides (`key=v1,v2` strings), the YAML `sweep.grid` block, points and their names.

A grid maps canonical dotted config keys to lists of values; its points are the cartesian
product, one dict {key: value} per point, in the grid's key order with the last key varying
fastest. A `sweep.points` list gives the points themselves instead: run as listed, in order.

Point directory names
---------------------
Each point's run directory is named from its parameters: `<key>-<value>` pairs joined by `__`,
with the full dotted key, e.g.

    {"optimizer.learning_rate": 0.01, "batch_size": 16}  ->  optimizer.learning_rate-0.01__batch_size-16
    {"architecture": [2, 8, 1], "activation": "tanh"}   ->  architecture-2x8x1__activation-tanh

Values are written as: numbers exactly (Python repr: 0.001, 1e-05, 16), booleans `true`/`false`,
null `null`, lists joined by `x`, mappings as `key-value` pairs joined by `+`. Characters outside
`A-Z a-z 0-9 . _ + -` become `_`. A name longer than 120 characters, or one that would equal an
earlier point's name after that cleaning, ends in `__<8 hex digits>` (a hash of the point's
parameters), so names are always filesystem-safe and unique.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable
from typing import Any

import yaml

from ..config import canonical_path
from ..config_yaml import safe_load
from ..errors import ConfigError

Point = dict[str, Any]
"""One grid point: canonical dotted key -> value, in grid key order."""

_OPENERS = {"[": "]", "{": "}", "(": ")"}
_SCIENTIFIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_NAME_LENGTH = 120
MAX_POINTS = 10_000
"""Most points a grid may have; the count is checked before the points are made."""


def split_top_level(text: str) -> list[str]:
    """Split `text` on commas outside brackets, braces, parentheses and quotes.

    "[2,4,1],[2,8,1]" -> ["[2,4,1]", "[2,8,1]"];  "0.1, 'a,b'" -> ["0.1", " 'a,b'"].
    Raises ValueError on unbalanced brackets or quotes.
    """
    current: list[str]
    parts, current, closers, quote = [], [], [], None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPENERS:
            closers.append(_OPENERS[char])
        elif char in _OPENERS.values():
            if not closers or closers.pop() != char:
                raise ValueError(f"unbalanced {char!r}")
        elif char == "," and not closers:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote:
        raise ValueError(f"unclosed quote {quote}")
    if closers:
        raise ValueError(f"missing {closers[-1]!r}")
    parts.append("".join(current))
    return parts


def parse_value(text: str) -> Any:
    """One grid value as YAML ('0.1' -> 0.1, '[2,4,1]' -> [2, 4, 1], 'adam' -> 'adam').

    Scientific notation without a dot ('1e-3'), which YAML 1.1 reads as a string, is a float.
    """
    value = safe_load(text)
    if isinstance(value, str) and _SCIENTIFIC.match(value.strip()):
        return float(value)
    return value


def parse_grid_override(text: str) -> tuple[str, list[Any]]:
    """'optimizer.learning_rate=0.001,0.01' -> ('optimizer.learning_rate', [0.001, 0.01]).

    Shorthand keys resolve to their canonical path (learning_rate -> optimizer.learning_rate).
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(
            f"grid_overrides {text!r} must look like key.path=value1,value2,...", param="grid_overrides"
        )
    try:
        pieces = split_top_level(values)
    except ValueError as error:
        raise ConfigError(f"grid_overrides {key}: {error} in {values!r}", param="grid_overrides") from None
    parsed = []
    for piece in pieces:
        if not piece.strip():
            raise ConfigError(f"grid_overrides {key}: empty value in {values!r}", param="grid_overrides")
        try:
            parsed.append(parse_value(piece))
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ConfigError(
                f"grid_overrides {key}: cannot read value {piece.strip()!r} ({problem})",
                param="grid_overrides",
            ) from None
    return canonical_path(key), parsed


def _check_key(key: str, where: str, param: str | None = None) -> None:
    if key == "sweep" or key.startswith("sweep."):
        raise ConfigError(f"{where} {key}: a sweep cannot vary its own sweep settings", param=param)


def merge_grids(yaml_grid: dict[str, list[Any]], grid_overrides: Iterable[str]) -> dict[str, list[Any]]:
    """The YAML `sweep.grid` block extended by `grid_overrides` ('key=v1,v2' strings).

    A key of `grid_overrides` also in the YAML block replaces its values (keeping its position);
    new keys come after. Keys are canonical dotted paths.
    """
    grid: dict[str, list[Any]] = {}
    for key, values in yaml_grid.items():
        canonical = canonical_path(key)
        _check_key(canonical, "sweep.grid:")
        if canonical in grid:
            raise ConfigError(f"sweep.grid: {key} and {canonical} name the same key")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep.grid.{key}: give a non-empty list of values")
        grid[canonical] = list(values)
    seen: set[str] = set()
    for override in grid_overrides:
        key, values = parse_grid_override(override)
        _check_key(key, "grid_overrides", "grid_overrides")
        if key in seen:
            raise ConfigError(
                f"grid_overrides {key} is given twice; list all its values together", param="grid_overrides"
            )
        seen.add(key)
        grid[key] = values
    for key, values in grid.items():
        identities = [_identity(v) for v in values]
        for i, identity in enumerate(identities):
            if identity in identities[:i]:
                raise ConfigError(f"grid {key}: value {values[i]!r} is listed twice")
    return grid


def grid_points(grid: dict[str, list[Any]]) -> list[Point]:
    """Cartesian product of the grid: one {key: value} per point, last key varying fastest.

    Raises ConfigError, before making any point, when there would be more than MAX_POINTS.
    """
    count = math.prod(len(values) for values in grid.values())
    if count > MAX_POINTS:
        sizes = " x ".join(f"{len(values)} {key}" for key, values in grid.items())
        raise ConfigError(f"grid: {sizes} is {count:,} points, more than the {MAX_POINTS:,} a sweep may have")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*grid.values())]


def listed_points(points: list[dict[str, Any]]) -> list[Point]:
    """The `sweep.points` list as points with canonical dotted keys, in the listed order.

    [{"learning_rate": 0.1, "batch_size": 16}] -> [{"optimizer.learning_rate": 0.1, "batch_size": 16}].
    A point listed twice (the same keys and values, in any key order) is a ConfigError.
    """
    out: list[Point] = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(points):
        if not raw:
            raise ConfigError(f"sweep.points.{i}: a point needs at least one key: value")
        point: Point = {}
        for key, value in raw.items():
            canonical = canonical_path(str(key))
            _check_key(canonical, f"sweep.points.{i}:")
            if canonical in point:
                raise ConfigError(f"sweep.points.{i}: {key} and {canonical} name the same key")
            point[canonical] = value
        identity = _identity(point)
        if identity in first_index:
            raise ConfigError(
                f"sweep.points.{i}: the same point as sweep.points.{first_index[identity]} ({raw})"
            )
        first_index[identity] = i
        out.append(point)
    return out


def grid_of(points: list[Point]) -> dict[str, list[Any]]:
    """The values each key takes over `points`, in first-seen order (inverse of grid_points)."""
    grid: dict[str, list[Any]] = {}
    seen: set[tuple[str, str]] = set()
    for point in points:
        for key, value in point.items():
            values = grid.setdefault(key, [])
            if (key, _identity(value)) not in seen:
                seen.add((key, _identity(value)))
                values.append(value)
    return grid


def format_value(value: Any) -> str:
    """A value as it appears in a point directory name (before character cleaning)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "x".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "+".join(f"{k}-{format_value(v)}" for k, v in value.items())
    return str(value)


def _identity(value: Any) -> str:
    """Equality that tells 1, 1.0 and True apart (Python's == does not)."""
    return json.dumps(value, sort_keys=True, default=str)


def point_hash(point: Point) -> str:
    """8 hex digits identifying a point's parameters."""
    return hashlib.sha256(_identity(point).encode()).hexdigest()[:8]


def point_names(points: list[Point]) -> list[str]:
    """Filesystem-safe, unique directory names for `points` (scheme in the module docstring)."""
    names: list[str] = []
    for point in points:
        raw = "__".join(f"{key}-{format_value(value)}" for key, value in point.items())
        name = _UNSAFE.sub("_", raw)
        if len(name) > MAX_NAME_LENGTH:
            name = f"{name[: MAX_NAME_LENGTH - 10]}__{point_hash(point)}"
        elif name in names:
            name = f"{name}__{point_hash(point)}"
        if name in names:
            raise ConfigError(f"grid: two points have the same parameters {point}")
        names.append(name)
    return names
