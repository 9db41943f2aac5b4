"""A pydantic base for hand-written settings: numbers must be plain, finite, 64-bit numbers.

pydantic alone reads `epochs: true` as 1, accepts `.inf` and `.nan` for floats and integers of
any size; for a setting a person wrote each of those is a mistake. The config schema's sections
and the dataset parameter schemas both derive from this model.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

INT64_MAX = 2**63 - 1


@functools.cache
def _takes_bool(annotation) -> bool:
    """Whether true/false may be the value (or a list item) of a field so annotated: bool, Any,
    a Literal of bools, or a union or list with such a member (not a bool inside a mapping)."""
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return False
    return any(_takes_bool(a) for a in typing.get_args(annotation))


@functools.cache
def _takes_number(annotation) -> bool:
    """Whether an int or float may be the value (or a list item) of a field so annotated."""
    if annotation in (int, float):
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal or (isinstance(origin, type) and issubclass(origin, Mapping)):
        return False
    return any(_takes_number(a) for a in typing.get_args(annotation))


class PlainNumbersModel(BaseModel):
    """Unknown keys, NaN/inf, true/false for a number and integers past 64 bits are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value, info: ValidationInfo):
        field = cls.model_fields.get(info.field_name or "")
        annotation: Any = field.annotation if field is not None else None
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        numeric = annotation is not None and _takes_number(annotation) and not _takes_bool(annotation)
        flags = [v for v in items if isinstance(v, bool)]
        if numeric and flags:
            raise ValueError(f"expected a number, not {str(flags[0]).lower()}")
        if any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX for v in items):
            raise ValueError("integer too large (at most 2**63 - 1)")
        return value
