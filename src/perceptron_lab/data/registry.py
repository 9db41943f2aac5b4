"""One registry of datasets: config name -> loader, its parameter schema and a description.

`lab datasets`, the config schema and the README all read this one dict.
"""

from __future__ import annotations

from collections.abc import Callable
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


DATASETS: dict[str, DatasetEntry] = {}


def register(
    name: str,
    params: type[DatasetParams],
    task: EntryTask,
    description: str,
    image_shape: tuple[int, ...] | None = None,
):
    """Decorator: register `loader(**params) -> Dataset` under `name`; image_shape: (H, W, C)
    of its samples when every load has it (it is also in the loaded Dataset's meta)."""

    def wrap(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS[name] = DatasetEntry(name, loader, params, task, description, image_shape)
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
