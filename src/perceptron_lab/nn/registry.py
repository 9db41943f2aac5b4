"""Resolve a registry spec (a name, a {"name": ..., **params} dict, or an instance) to an instance."""

from __future__ import annotations

from typing import Any

from ..errors import UserError


def resolve(spec: Any, registry: dict[str, type], kind: str, base: type) -> Any:
    """The instance `spec` describes.

    spec: an instance of `base` (returned as is), a registry name, or a dict
    {"name": <registry name>, **constructor params}. `kind` names the registry in errors
    ("activation", "loss", ...).
    """
    if isinstance(spec, base):
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        if "name" not in spec:
            raise UserError(f"{kind} spec {spec!r} has no 'name'")
        params = dict(spec)
        name = params.pop("name")
    else:
        raise UserError(
            f"{kind} must be a name, a {{name: ..., ...}} mapping or a {base.__name__}; got {spec!r}"
        )
    if name not in registry:
        raise UserError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    try:
        return registry[name](**params)
    except (TypeError, ValueError) as error:
        raise UserError(f"{kind} {name!r}: {error}") from None
