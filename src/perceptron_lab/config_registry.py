"""Names a config points into registries with, and their parameters, checked against the registries.

Every registry describes what it takes: datasets by a parameter schema, activations,
initializers and optimizers by their constructors' signatures, losses, scalers and metrics by
their names. A config that passes these checks names nothing a run would refuse.
"""

from __future__ import annotations

import inspect
import math
import typing
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .config_errors import Locator, did_you_mean, format_errors
from .errors import ConfigError, UserError

if TYPE_CHECKING:
    from .config import ExperimentConfig


class RegistryCheck:
    """Checks every name a config points into a registry with, and that name's parameters."""

    def __init__(self, locate: Locator):
        self.locate = locate

    def fail(self, path: tuple[str, ...], message: str, keyed: bool = True) -> typing.NoReturn:
        raise ConfigError(self.locate(path, f"{'.'.join(path)}: {message}" if keyed else message))

    def name(self, path: tuple[str, ...], name: Any, known) -> None:
        if not isinstance(name, str) or name not in known:
            self.fail(path, f"unknown name {name!r}{did_you_mean(str(name), known)}")

    def params(self, path: tuple[str, ...], kind: str, name: str, params: dict[str, Any], factory) -> None:
        """Each param must be one `factory` takes, of a plain type, finite where a number."""
        signature = inspect.signature(factory)
        accepted = {
            p.name: p
            for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        for key, value in params.items():
            if key not in accepted:
                dotted = ".".join(path + (key,))
                hint = did_you_mean(key, accepted, ".".join(path) + ".", list_known=False)
                valid = ", ".join(accepted) or "none"
                message = f"unknown key '{dotted}'{hint}; {kind} '{name}' takes: {valid}"
                self.fail(path + (key,), message, keyed=False)
            default = accepted[key].default
            numeric_default = isinstance(default, (int, float)) and not isinstance(default, bool)
            if numeric_default and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
                self.fail(path + (key,), f"expected a number, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(path + (key,), f"must be a finite number, got {value!r}")

    def spec(self, path: tuple[str, ...], spec: Any, registry: dict, resolve) -> None:
        if spec is None:
            return
        if isinstance(spec, dict):
            params = {k: v for k, v in spec.items() if k != "name" and v is not None}
            name = spec.get("name")
            if name is None:
                self.fail(path, "give a name, e.g. {name: ..., ...}")
        else:
            name, params = spec, {}
        self.name(path + (("name",) if isinstance(spec, dict) else ()), name, registry)
        self.params(path, path[-1], name, params, registry[name])
        try:
            resolve({"name": name, **params})
        except UserError as error:  # a known name with a bad parameter value
            message = str(error)  # the registry's message starts "<kind> '<name>': ..."
            self.fail(path, message, keyed=not message.startswith(f"{path[-1]} "))

    def check(self, config: ExperimentConfig) -> None:
        from .data import DATASETS
        from .data.transforms import SCALERS, TARGET_SCALERS
        from .nn import (
            ACTIVATIONS,
            INITIALIZERS,
            LOSSES,
            OPTIMIZERS,
            get_activation,
            get_initializer,
            get_optimizer,
        )

        for key in ("dataset", "test_dataset"):
            spec = getattr(config, key)
            if spec is None:
                continue
            self.name((key, "name"), spec.name, DATASETS)
            try:
                DATASETS[spec.name].params(**spec.params())
            except ValidationError as error:
                message = format_errors(
                    error.errors(), self.locate, DATASETS[spec.name].params, prefix=(key,)
                )
                raise ConfigError(message) from None

        self.name(("preprocessing", "inputs"), config.preprocessing.inputs, SCALERS)
        self.name(("preprocessing", "targets"), config.preprocessing.targets, TARGET_SCALERS)
        if config.loss != "auto":
            self.name(("loss",), config.loss, {"auto": None, **LOSSES})
        self.spec(("optimizer",), config.optimizer.spec(), OPTIMIZERS, get_optimizer)
        self.spec(("activation",), config.activation, ACTIVATIONS, get_activation)
        self.spec(("output_activation",), config.output_activation, ACTIVATIONS, get_activation)
        self.spec(("initializer",), config.initializer.spec(), INITIALIZERS, get_initializer)
        for i, layer in enumerate(config.layers or []):
            self.spec(("layers", str(i), "activation"), layer.activation, ACTIVATIONS, get_activation)
            self.spec(("layers", str(i), "initializer"), layer.initializer, INITIALIZERS, get_initializer)
