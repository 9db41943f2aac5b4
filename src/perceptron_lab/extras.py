"""Optional dependencies: import them on first use, or say which extra installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import UserError

EXTRAS = {"dill": "dill", "optuna": "optuna", "mlflow": "mlflow", "distributed": "dask"}
"""importable module -> the perceptron_lab extra that installs it."""


def require(module: str, feature: str, param: str | tuple[str, ...] | None = None) -> ModuleType:
    """Import `module` for `feature`, or raise UserError naming the pip command that installs it.

    `param`: the parameters `feature` names, as for UserError.
    require("optuna", "sampler", param="sampler") -> the optuna module
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.partition(".")[0], module)
        raise UserError(
            f"{feature} needs the optional {extra!r} extra: pip install 'perceptron_lab[{extra}]'",
            param=param,
        ) from None
