"""One registry of datasets: config name -> loader, its parameter schema and a description.

`lab datasets`, the config schema and the README all read this one dict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from ..errors import UserError
from ..plain_numbers import PlainNumbersModel
from .dataset import Dataset, Task

EntryTask = Task | Literal["any"]
"""A loader's task: fixed, or "any" when its params decide (e.g. a CSV's target column)."""


class DatasetParams(PlainNumbersModel):
    """Base of every loader's parameters; unknown keys, NaN/inf, true/false for a number and
    integers past 64 bits are errors."""


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader: Callable[..., Dataset]
    params: type[DatasetParams]
    task: EntryTask
    description: str
    image_shape: tuple[int, ...] | None = None
    """(H, W, C) of every sample, when known before loading (image datasets)."""
    n_features: Callable[..., int] | None = None
    """n_features(validated params) -> the features of every load with those params, when the
    params alone give them (e.g. imdb's num_words)."""


DATASETS: dict[str, DatasetEntry] = {}


def register(
    name: str,
    params: type[DatasetParams],
    task: EntryTask,
    description: str,
    image_shape: tuple[int, ...] | None = None,
    n_features: Callable[..., int] | None = None,
):
    """Decorator: register `loader(**params) -> Dataset` under `name`; image_shape: (H, W, C)
    of its samples when every load has it (it is also in the loaded Dataset's meta);
    n_features: params -> features, when the params give them before loading."""

    def wrap(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS[name] = DatasetEntry(name, loader, params, task, description, image_shape, n_features)
        return loader

    return wrap


def load_dataset(name: str, **params) -> Dataset:
    """Validate `params` against the dataset's schema and load it (UserError on bad input)."""
    if name not in DATASETS:
        raise UserError(f"dataset: unknown name {name!r}; known: {', '.join(sorted(DATASETS))}")
    entry = DATASETS[name]
    try:
        validated = entry.params(**params)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(p) for p in problem["loc"])
        raise UserError(f"dataset {name!r}: {key}: {problem['msg']}") from None
    return entry.loader(**validated.model_dump())


def static_features(name: str, params: Mapping) -> int | None:
    """The features of dataset `name` loaded with `params`, when known without loading it (an
    image shape, or the entry's n_features); None otherwise or when the params are invalid."""
    entry = DATASETS[name]
    if entry.image_shape is not None:
        return math.prod(entry.image_shape)
    if entry.n_features is None:
        return None
    try:
        validated = entry.params(**params)
    except ValidationError:
        return None
    return entry.n_features(validated)
