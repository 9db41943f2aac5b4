"""Saving and loading networks: <stem>.json (architecture and seeds) + <stem>.npz (weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UserError
from .network import Network


def _stem(path) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".json", ".npz") else path


def save_network(network: Network, path_stem) -> None:
    """Write <stem>.json and <stem>.npz (arrays kernel_<i> (R, fan_in, units), bias_<i> (R, 1, units))."""
    stem = _stem(path_stem)
    stem.with_name(stem.name + ".json").write_text(
        json.dumps({"class": "Network", "config": network.get_config()}, indent=1)
    )
    weights = network.get_weights()
    arrays = {f"{('kernel', 'bias')[i % 2]}_{i // 2}": w for i, w in enumerate(weights)}
    np.savez(stem.with_name(stem.name + ".npz"), **arrays)


def load_network(path) -> Network:
    """The Network saved at `path` (the stem, the .json or the .npz file)."""
    stem = _stem(path)
    json_path, npz_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")
    for file in (json_path, npz_path):
        if not file.is_file():
            raise UserError(f"{file}: no such model file")
    try:
        description = json.loads(json_path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{json_path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    if (
        not isinstance(description, dict)
        or description.get("class") != "Network"
        or "config" not in description
    ):
        raise UserError(f'{json_path}: not a saved Network (expected {{"class": "Network", "config": ...}})')
    network = Network.from_config(description["config"], initialize=False)
    try:
        with np.load(npz_path) as npz:
            n_layers = len(network.dense_layers)
            weights = []
            for i in range(n_layers):
                weights += [npz[f"kernel_{i}"], npz[f"bias_{i}"]]
    except KeyError as error:
        raise UserError(f"{npz_path}: missing array {error}") from None
    except (OSError, ValueError) as error:
        raise UserError(f"{npz_path}: cannot read weights ({error})") from None
    try:
        network.set_weights(weights)
    except ValueError as error:
        raise UserError(f"{npz_path}: {error}") from None
    return network
