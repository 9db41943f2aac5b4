"""CSV files as datasets: one row per sample, a header naming the columns.

Errors name the file and the line (the header is line 1): ragged rows, missing or non-numeric
feature values, unknown columns.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from .dataset import Dataset, Task
from .registry import DatasetParams, register

TaskChoice = Literal["classification", "regression", "auto"]

MAX_AUTO_CLASSES = 20
"""task=auto: integer or text targets with at most this many distinct values are classes."""


def _data_line_numbers(path: Path, n_rows: int) -> np.ndarray:
    """File line (1-based) of each data row: non-blank lines after the header."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        numbers = [i for i, line in enumerate(handle, start=1) if line.strip()][1:]
    if len(numbers) != n_rows:  # quoted multi-line fields: fall back to one line per row
        return np.arange(n_rows) + 2
    return np.asarray(numbers)


def _read_table(path: Path, delimiter: str):
    import pandas as pd

    try:
        return pd.read_csv(path, sep=delimiter)
    except FileNotFoundError:
        raise DataError(f"{path}: no such CSV file") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as error:
        message = str(error).strip().splitlines()[-1]
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if match:
            expected, line, saw = match.groups()
            raise DataError(f"{path}:{line}: expected {expected} fields, saw {saw}") from None
        raise DataError(f"{path}: cannot parse CSV ({message})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read CSV ({error})") from None


def _check_header(path: Path, delimiter: str) -> None:
    """A duplicated column name is an error (pandas would silently rename it 'a.1')."""
    if len(delimiter) != 1:
        return
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}:1: duplicate column '{name}'")
        seen.add(name)


def _numeric_columns(frame, columns: list[str], path: Path, lines: np.ndarray) -> np.ndarray:
    """frame[columns] as a float64 (n, len(columns)) array; the first bad cell is an error."""
    import pandas as pd

    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        raw = frame[column]
        missing = raw.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{path}:{lines[row]}: missing value in column '{column}'")
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}:{lines[row]}: column '{column}' has non-numeric value {raw.iloc[row]!r}")
        out[:, j] = values.to_numpy(dtype=np.float64)
    return out


def infer_task(values) -> Task:
    """task=auto: text, or integers with few distinct values -> classification; else regression."""
    import pandas as pd

    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        return "classification"
    integral = bool(np.all(np.mod(numeric.to_numpy(dtype=np.float64), 1) == 0))
    return "classification" if integral and numeric.nunique() <= MAX_AUTO_CLASSES else "regression"


def _class_labels(values) -> tuple[np.ndarray, list[str]]:
    """Targets -> (y (n,) int index, class names); numeric classes sort numerically."""
    import pandas as pd

    numeric = pd.to_numeric(values, errors="coerce")
    if not numeric.isna().any():
        numbers = numeric.to_numpy(dtype=np.float64)
        uniques, y = np.unique(numbers, return_inverse=True)
        names = [f"{u:g}" for u in uniques]
        return y.astype(np.int64), names
    uniques, y = np.unique(values.astype(str).to_numpy(), return_inverse=True)
    return y.astype(np.int64), [str(u) for u in uniques]


def read_csv_dataset(
    path: str | Path,
    target: str | list[str] | None = None,
    features: list[str] | None = None,
    task: TaskChoice = "auto",
    delimiter: str = ",",
) -> Dataset:
    """Load a CSV with a header row.

    Args:
        target: target column (default: the last column); a list of columns is a multi-output
            regression.
        features: feature columns (default: every column but the targets).
        task: classification, regression, or auto (see `infer_task`).
    Returns:
        Dataset with X (n, n_features) float32 and y (n,) int class index or (n, n_targets) float64.
    """
    path = Path(path)
    frame = _read_table(path, delimiter)
    _check_header(path, delimiter)
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows after the header")
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if len(columns) < 2:
        raise DataError(f"{path}:1: need at least two columns (features and a target), found {len(columns)}")
    targets = [columns[-1]] if target is None else [target] if isinstance(target, str) else list(target)
    chosen = [c for c in columns if c not in targets] if features is None else list(features)
    for column in targets + chosen:
        if column not in columns:
            raise DataError(f"{path}:1: no column '{column}' (columns: {', '.join(columns)})")
    if not chosen:
        raise DataError(f"{path}: no feature columns left besides the target")
    if not targets:
        raise DataError(f"{path}: target must name at least one column")
    lines = _data_line_numbers(path, len(frame))

    X = _numeric_columns(frame, chosen, path, lines).astype(np.float32)
    if task == "auto":
        task = "regression" if len(targets) > 1 else infer_task(frame[targets[0]])
    meta = {"source": str(path), "target": targets if len(targets) > 1 else targets[0]}
    if task == "classification":
        if len(targets) > 1:
            raise DataError(f"{path}: classification takes one target column, got {len(targets)}")
        column = frame[targets[0]]
        missing = column.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{path}:{lines[row]}: missing value in column '{targets[0]}'")
        y, classes = _class_labels(column)
        return Dataset(X, y, "classification", classes, feature_names=chosen, meta=meta)
    y = _numeric_columns(frame, targets, path, lines)
    return Dataset(X, y, "regression", feature_names=chosen, meta=meta)


class CSVParams(DatasetParams):
    path: str = Field(..., description="CSV file with a header row")
    target: str | list[str] | None = Field(None, description="target column(s); default: the last column")
    features: list[str] | None = Field(None, description="feature columns; default: all but the target")
    task: TaskChoice = Field(
        "auto",
        description=f"auto: text or integer targets with <= {MAX_AUTO_CLASSES} values are classes, else regression",
    )
    delimiter: str = Field(",", min_length=1, description="field separator")


load_csv = register("csv", CSVParams, "any", "a CSV file with a header: feature columns and a target column")(
    read_csv_dataset
)
