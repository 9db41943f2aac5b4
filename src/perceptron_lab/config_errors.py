"""Config error lines: `file:line: key.path: message`, with "did you mean" for unknown keys.

The schema (config.py) and the registries describe what is valid; this module only turns a
pydantic error list or a failed registry check into the one line the user reads.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .config_yaml import LineIndex

# Parts pydantic adds to an error location for union members and validators, not config keys.
_TYPE_PARTS = {"str", "dict[str,any]", "int", "float", "bool", "literal['full']", "list[int]"}


def did_you_mean(name: str, known: Iterable[str], prefix: str = "", list_known: bool = True) -> str:
    """ " (did you mean 'x'?)" for the closest known name, else "; known: a, b, c" (or "" when
    not list_known)."""
    known = [str(k) for k in known]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if close:
        return f" (did you mean '{prefix}{close[0]}'?)"
    return f"; known: {', '.join(sorted(known))}" if known and list_known else ""


def located(source: str, line: int | None, message: str) -> str:
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


@dataclass(frozen=True)
class Locator:
    """Where a key path of a config came from: a line of its file, or an override.

    overrides: (canonical dotted key, label) of each override applied, in order; a path under
    (or above) an overridden key is reported as `source (label)` rather than a file line.
    """

    source: str
    lines: LineIndex
    shorthands: dict[str, str]
    overrides: tuple[tuple[str, str], ...] = ()

    def __call__(self, path: tuple[str, ...], message: str) -> str:
        dotted = ".".join(path)
        for key, label in reversed(self.overrides):
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return f"{self.source} ({label}): {message}"
        return located(self.source, original_line(path, self.lines, self.shorthands), message)


def original_line(path: tuple[str, ...], lines: LineIndex, shorthands: dict[str, str]) -> int | None:
    """Line of `path` in the YAML, following canonical paths back to their shorthands, else the
    line of its closest enclosing key."""
    if path in lines:
        return lines[path]
    dotted = ".".join(path)
    for short, canonical in shorthands.items():
        if (dotted == canonical or dotted.startswith(canonical + ".")) and (short,) in lines:
            return lines[(short,)]
    for i in range(len(path) - 1, 0, -1):
        if path[:i] in lines:
            return lines[path[:i]]
    return None


def _section_in(annotation, base: type[BaseModel]) -> type[BaseModel] | None:
    """The model inside an annotation such as `X`, `X | None` or `list[X] | None`."""
    if (
        typing.get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, base)
    ):
        return annotation
    return next(filter(None, (_section_in(a, base) for a in typing.get_args(annotation))), None)


def valid_keys(root: type[BaseModel], path: tuple[str, ...], base: type[BaseModel]) -> list[str]:
    """The keys valid at `path` inside the `root` schema ([] where it does not know)."""
    model: type[BaseModel] | None = root
    for key in (k for k in path if not k.isdigit()):
        field = model.model_fields.get(key) if model is not None else None
        model = _section_in(field.annotation, base) if field is not None else None
        if model is None:
            return []
    return list(model.model_fields) if model is not None else []


def error_path(loc: Sequence[Any], prefix: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A pydantic error location as config key parts."""
    parts = (str(p) for p in loc if not str(p).startswith("function-"))
    return prefix + tuple(p for p in parts if p not in _TYPE_PARTS)


def message_of(item: Mapping[str, Any]) -> str:
    """The readable part of one pydantic error."""
    message = str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = item.get("input")
    if item["type"] in ("value_error", "assertion_error") or isinstance(value, (dict, list)):
        return message
    shown = repr(value)
    return f"{message} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"


def format_errors(
    errors: Sequence[Mapping[str, Any]], locate: Locator, model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> str:
    """One line for pydantic errors of `model` validated at `prefix` inside the config, each
    `where: key.path: message`, unknown keys with the closest valid key; joined with "; "."""
    messages = []
    for item in errors:
        path = error_path(item["loc"], prefix)
        dotted = ".".join(path) or "config"
        if item["type"] == "extra_forbidden":
            parent = path[:-1]
            known = valid_keys(model, parent[len(prefix) :], BaseModel)
            if not parent:
                known += list(locate.shorthands)
            elif prefix and parent == prefix:
                known.append("name")
            hint = did_you_mean(
                path[-1], known, prefix=".".join(parent) + "." if parent else "", list_known=False
            )
            message = f"unknown key '{dotted}'{hint}"
        elif item["type"] == "missing":
            message = f"missing required key '{dotted}'"
        else:
            message = f"{dotted}: {message_of(item)}"
        messages.append(locate(path, message))
    return "; ".join(dict.fromkeys(messages))
