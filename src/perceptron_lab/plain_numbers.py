"""A pydantic base for hand-written settings: numbers must be plain, finite, 64-bit numbers.

pydantic alone reads `epochs: true` as 1, accepts `.inf` and `.nan` for floats and integers of
any size; for a setting a person wrote each of those is a mistake. The config schema's sections
and the dataset parameter schemas both derive from this model.
"""

from __future__ import annotations

import functools
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

INT64_MAX = 2**63 - 1


@functools.lru_cache(maxsize=None)
def _takes_bool(annotation) -> bool:
    """Whether a field annotation admits true/false (bool, Any, or a Literal of bools)."""
    if annotation is bool or annotation is Any:
        return True
    if typing.get_origin(annotation) is Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    return any(_takes_bool(a) for a in typing.get_args(annotation))


class PlainNumbersModel(BaseModel):
    """Unknown keys, NaN/inf, true/false for a number and integers past 64 bits are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value, info: ValidationInfo):
        field = cls.model_fields.get(info.field_name or "")
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if (
            field is not None
            and not _takes_bool(field.annotation)
            and any(isinstance(v, bool) for v in items)
        ):
            raise ValueError(f"expected a number, not {str(value).lower()}")
        if any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX for v in items):
            raise ValueError("integer too large (at most 2**63 - 1)")
        return value
