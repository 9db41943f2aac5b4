"""New rows to predict, checked against what a saved model expects.

From a CSV file: the model's feature columns by name (by position when it has no feature names),
and optionally its target column(s). From a dataset spec, `NAME[,key=value...]`: any registered
dataset. Every mismatch is a DataError of one line naming the file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..config_yaml import safe_load
from ..data.tabular import _data_line_numbers, _numeric_columns, _read_table
from ..errors import DataError, UserError
from ..model import Model

DEFAULT_TARGET = "target"


@dataclass
class NewRows:
    """Rows to predict.

    X: (n, n_features) raw inputs. truth: (n,) class names (classification) or (n, n_outputs)
    float targets (regression), or None when the input has no targets. source: where they came from.
    """

    X: np.ndarray
    truth: np.ndarray | None
    source: str


def _names(names: list[str], shown: int = 6) -> str:
    """'a, b, c' or, for long lists, the first few and how many in all."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])}, ... ({len(names)} in all)"


def _target_columns(model: Model, columns: list[str]) -> list[str]:
    if model.reconstructs:  # the targets are the feature columns themselves
        return []
    names = model.target_names or [DEFAULT_TARGET]
    if all(name in columns for name in names):
        return names
    return [DEFAULT_TARGET] if DEFAULT_TARGET in columns and model.task == "classification" else []


def _feature_columns(model: Model, columns: list[str], targets: list[str], path: Path) -> list[str]:
    if model.feature_names is not None:
        missing = [name for name in model.feature_names if name not in columns]
        if missing:
            raise DataError(
                f"{path}:1: no column '{missing[0]}'; the model's features are: {_names(model.feature_names)}"
            )
        extra = [c for c in columns if c not in model.feature_names and c not in targets]
        if extra:
            raise DataError(
                f"{path}:1: column '{extra[0]}' is neither a feature of the model nor its target "
                f"({', '.join(model.target_names or [DEFAULT_TARGET])})"
            )
        return list(model.feature_names)
    features = [c for c in columns if c not in targets]
    if len(features) != model.n_features:
        raise DataError(
            f"{path}:1: {len(features)} feature columns ({_names(features)}), the model takes {model.n_features}"
        )
    return features


def _class_truth(model: Model, values, path: Path, column: str, lines: np.ndarray) -> np.ndarray:
    """Target cells -> class names (n,) object; a class the model does not know is an error."""
    import pandas as pd

    classes = list(model.classes or [])
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"{path}:{lines[row]}: missing value in column '{column}'")
    numeric = pd.to_numeric(values, errors="coerce")
    # Numeric class names were written with :g (see data.tabular); write these the same way.
    names = [f"{v:g}" for v in numeric] if not numeric.isna().any() else [str(v) for v in values]
    known = set(classes)
    for row, name in enumerate(names):
        if name not in known:
            raise DataError(
                f"{path}:{lines[row]}: column '{column}' has class {name!r}, "
                f"the model knows {', '.join(classes)}"
            )
    return np.asarray(names, dtype=object)


def read_rows_csv(model: Model, path: str | Path, delimiter: str = ",") -> NewRows:
    """The rows of a CSV file with a header, for `model`."""
    path = Path(path)
    frame = _read_table(path, delimiter)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    targets = _target_columns(model, columns)
    features = _feature_columns(model, columns, targets, path)
    lines = _data_line_numbers(path, len(frame))
    X = _numeric_columns(frame, features, path, lines)
    infinite = ~np.isfinite(X)
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        raise DataError(
            f"{path}:{lines[row]}: column '{features[column]}' has {X[row, column]}, not a finite number"
        )
    truth = X if model.reconstructs else None
    if targets and model.task == "classification":
        truth = _class_truth(model, frame[targets[0]], path, targets[0], lines)
    elif targets:
        truth = _numeric_columns(frame, targets, path, lines)
    return NewRows(X, truth, str(path))


def parse_dataset_spec(dataset_spec: str) -> tuple[str, dict]:
    """'NAME[,key=value...]' -> (name, params); values are YAML scalars (e.g. target=digit)."""
    name, *pairs = [part.strip() for part in dataset_spec.split(",")]
    params = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UserError(
                f"dataset_spec: {pair!r} is not key=value (in {dataset_spec!r})", param="dataset_spec"
            )
        try:
            params[key.strip()] = safe_load(value)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise UserError(f"dataset_spec: cannot read {pair!r} ({problem})", param="dataset_spec") from None
    if not name:
        raise UserError(f"dataset_spec: {dataset_spec!r} names no dataset", param="dataset_spec")
    return name, params


def read_rows_dataset(model: Model, dataset_spec: str) -> NewRows:
    """Every row of the dataset `dataset_spec` names ('NAME[,key=value...]'), with its targets."""
    from ..data import load_dataset

    name, params = parse_dataset_spec(dataset_spec)
    data = load_dataset(name, **params)
    if data.n_features != model.n_features:
        raise DataError(
            f"dataset_spec {dataset_spec}: {data.n_features} features, the model takes {model.n_features}",
            param="dataset_spec",
        )
    if model.reconstructs:  # any dataset of the right width: its inputs are the targets
        return NewRows(data.X, data.X, dataset_spec)
    if data.task != model.task:
        raise DataError(
            f"dataset_spec {dataset_spec}: a {data.task} dataset, the model is a {model.task} model",
            param="dataset_spec",
        )
    if data.task == "classification":
        unknown = [c for c in data.classes or [] if c not in (model.classes or [])]
        if unknown:
            raise DataError(
                f"dataset_spec {dataset_spec}: class {unknown[0]!r} is not one of the model's "
                f"({', '.join(model.classes or [])})",
                param="dataset_spec",
            )
        truth = np.asarray(data.classes, dtype=object)[data.y]
    else:
        truth = data.y
    return NewRows(data.X, truth, dataset_spec)
