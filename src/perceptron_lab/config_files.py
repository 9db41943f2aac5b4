"""Reading config files: YAML parsing, `extends` inheritance, and paths relative to the file.

A config may start from one or more others:

    extends: base.yaml                 # or a list: [base.yaml, adam.yaml]
    epochs: 50                         # keys here win over the bases'
    early_stopping: null               # null removes a key the bases set

Bases are merged in list order (later ones win), then the file itself on top. Mappings merge
key by key, at any depth; any other value (a list, a number, a name) replaces the base's.
Each file is normalized on its own first (shorthands and bare names, see config.normalize), so
`learning_rate: 0.1` in a base and `optimizer: {name: adam}` in a child combine.

Relative paths in a file (its `extends` and the data files of `dataset` / `test_dataset`) are
resolved against that file's directory, so a config means the same from any working directory.
An error in a key that only a base sets is reported at the `extends` line of the file loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config_yaml import LineIndex, YamlDocument, parse_yaml, read_config_text
from .errors import ConfigError

EXTENDS_KEY = "extends"
DATASET_SECTIONS = ("dataset", "test_dataset")
PATH_PARAMS = ("path", "data_dir")
"""Dataset params that name a file or folder (resolved against the config file's directory)."""


def _read(path: Path) -> YamlDocument:
    """One config file parsed safely (config_yaml); ConfigError naming the file and line."""
    return parse_yaml(read_config_text(path), str(path))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `override` on top of `base`; mappings merge recursively, None deletes a key.

    {"a": {"x": 1, "y": 2}, "b": [1]} + {"a": {"y": None, "z": 3}, "b": [2]}
        -> {"a": {"x": 1, "z": 3}, "b": [2]}
    """
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve(directory: Path, value: str) -> str:
    path = Path(value).expanduser()
    return os.path.normpath(path if path.is_absolute() else directory / path)


def resolve_data_paths(data: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Make the dataset sections' relative file params absolute, relative to `directory`."""
    for section in DATASET_SECTIONS:
        spec = data.get(section)
        if isinstance(spec, dict):
            for key in PATH_PARAMS:
                if isinstance(spec.get(key), str):
                    spec[key] = _resolve(directory, spec[key])
    return data


def _bases(data: dict[str, Any], path: Path) -> list[Path]:
    value = data.pop(EXTENDS_KEY, None)
    if value is None:
        return []
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(name, str) and name.strip() for name in names):
        raise ConfigError(f"{path}: {EXTENDS_KEY}: give a config file name or a list of them")
    return [Path(_resolve(path.absolute().parent, name)) for name in names]


def _load(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], LineIndex]:
    """(merged normalized raw config, line index of the file itself) of `path`.

    chain: the files extending it, outermost first.
    """
    from .config import normalize

    document = _read(path)
    if document.data is None:
        raise ConfigError(f"{path}: the config file is empty")
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    data = dict(document.data)
    bases = _bases(data, path)
    chain = (*chain, path.resolve())
    merged: dict[str, Any] = {}
    for base in bases:
        if base.resolve() in chain:
            cycle = " -> ".join(str(p) for p in (*chain, base.resolve()))
            raise ConfigError(f"{path}: {EXTENDS_KEY}: cycle {cycle}")
        if not base.is_file():
            raise ConfigError(f"{path}: {EXTENDS_KEY}: no such config file {base}")
        merged = deep_merge(merged, _load(base, chain)[0])
    own = resolve_data_paths(normalize(data), path.absolute().parent)
    if not bases:
        return own, document.lines
    # Keys only the bases set are reported at this file's `extends` line.
    lines = dict(document.lines)
    extends_line = lines.get((EXTENDS_KEY,), 1)
    for key_path in _key_paths(merged):
        lines.setdefault(key_path, extends_line)
    return deep_merge(merged, own), lines


def _key_paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of nested mappings and lists (list items as their index), as LineIndex keys."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    paths = []
    for key, value in items:
        path = (*prefix, str(key))
        paths += [path, *_key_paths(value, path)]
    return paths


def read_config_file(path: str | Path) -> tuple[dict[str, Any], LineIndex]:
    """(the fully merged raw config, the file's own line index for error messages) of a config.

    Raises ConfigError (one line) for an unreadable or invalid file, a missing base or a cycle;
    a missing file's message shows the path it was looked for at.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (looked for {path.absolute()})")
    return _load(path, ())
