"""Saving and loading networks: <stem>.json (layers, input shape, seeds) + <stem>.npz (arrays).

The .npz holds every trainable array as <name>_<k> (R, *shape), each name numbered on its own
in layout order (kernel_0, bias_0, kernel_1, ..., gamma_0, beta_0), and the non-trainable
state the same way (moving_mean_0, moving_variance_0). Loading checks every declared shape
against the stored arrays before allocating anything, and never unpickles.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from .network import Network, _numbered
from .shapes import declared_arrays


def _stem(path) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".json", ".npz") else path


def save_network(network: Network, path_stem) -> None:
    """Write <stem>.json and <stem>.npz (see the module docstring)."""
    stem = _stem(path_stem)
    stem.with_name(stem.name + ".json").write_text(
        json.dumps({"class": "Network", "config": network.get_config()}, indent=1)
    )
    arrays = dict(zip(network.weight_names(), network.get_weights()))
    arrays.update(zip(network.state_names(), network.get_state()))
    np.savez(stem.with_name(stem.name + ".npz"), **arrays)  # type: ignore[arg-type]


def _expected(config: dict) -> tuple[list[tuple[str, tuple[int, ...]]], list[tuple[str, tuple[int, ...]]]]:
    """(name, (R, *shape)) of the trainable and the state arrays `config` declares, from shapes alone."""
    layers, shape = Network.layers_from_config(config)
    replicas = config.get("replicas", len(config.get("seeds") or [None]))
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise UserError(f"invalid network config: replicas must be a positive int, got {replicas!r}")
    specs = declared_arrays(layers, shape)
    trainable = [s for _, group in specs for s in group if s.trainable]
    state = [s for _, group in specs for s in group if not s.trainable]
    return (
        list(zip(_numbered([s.name for s in trainable]), [(replicas, *s.shape) for s in trainable])),
        list(zip(_numbered([s.name for s in state]), [(replicas, *s.shape) for s in state])),
    )


def load_network(path) -> Network:
    """The Network saved at `path` (the stem, the .json or the .npz file)."""
    stem = _stem(path)
    json_path, npz_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")
    for file in (json_path, npz_path):
        if not file.is_file():
            raise UserError(f"{file}: no such model file")
    try:
        description = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{json_path}: not valid JSON ({error})") from None
    if (
        not isinstance(description, dict)
        or description.get("class") != "Network"
        or not isinstance(description.get("config"), dict)
    ):
        raise UserError(f'{json_path}: not a saved Network (expected {{"class": "Network", "config": ...}})')
    config = description["config"]
    try:
        trainable, state = _expected(config)
    except UserError as error:
        raise UserError(f"{json_path}: {error}") from None
    arrays = _read_arrays(npz_path, trainable + state)
    network = Network.from_config(config, initialize=False)
    network.set_weights([arrays[name] for name, _ in trainable])
    network.set_state([arrays[name] for name, _ in state])
    return network


def _read_arrays(npz_path: Path, expected: list[tuple[str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    """The expected arrays of the .npz, each checked for its shape and a float dtype."""
    arrays = {}
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            for name, shape in expected:
                if name not in npz.files:
                    raise UserError(f"{npz_path}: missing array {name!r} (the .json declares it)")
                value = npz[name]
                if value.shape != shape:
                    raise UserError(
                        f"{npz_path}: array {name!r} has shape {value.shape}, the .json declares {shape}"
                    )
                if value.dtype.kind != "f":
                    raise UserError(f"{npz_path}: array {name!r} has dtype {value.dtype}, expected floats")
                arrays[name] = value
    except UserError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(f"{npz_path}: cannot read the arrays ({error})") from None
    return arrays
