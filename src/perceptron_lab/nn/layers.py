"""Layer descriptions: what a layer computes and how it is configured.

Layers hold no weights: a Network owns every replica's parameters in one buffer and hands
layers their views (see network.py). Dense is the only layer with parameters.

    Dense     z = x @ kernel + bias,  a = activation(z)
              kernel (R, fan_in, units), bias (R, 1, units); penalty
              l1 sum |kernel| + l2 sum kernel^2 (kernels only), gradient l1 sign(kernel) + 2 l2 kernel
    Dropout   inverted dropout on its input while training: x * m / (1 - rate), m ~ Bernoulli(1 - rate);
              the identity otherwise
"""

from __future__ import annotations

import numbers
from typing import Any

from .activations import Activation, get_activation
from .initializers import Initializer, get_initializer


class Layer:
    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        kind = config.pop("class", cls.__name__)
        return LAYERS[kind](**config)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class")
        return f"{type(self).__name__}({params})"


class Dense(Layer):
    """A fully connected layer of `units` neurons."""

    def __init__(
        self,
        units: int,
        activation="identity",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        l1: float = 0.0,
        l2: float = 0.0,
        use_bias: bool = True,
    ):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if l1 < 0 or l2 < 0:
            raise ValueError(f"Dense: l1 and l2 must be >= 0, got l1={l1}, l2={l2}")
        self.units = int(units)
        self.activation: Activation = get_activation(activation)
        self.kernel_initializer: Initializer = get_initializer(kernel_initializer)
        self.bias_initializer: Initializer = get_initializer(bias_initializer)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.use_bias = bool(use_bias)

    def get_config(self) -> dict[str, Any]:
        return {
            "class": "Dense",
            "units": self.units,
            "activation": self.activation.get_config(),
            "kernel_initializer": self.kernel_initializer.get_config(),
            "bias_initializer": self.bias_initializer.get_config(),
            "l1": self.l1,
            "l2": self.l2,
            "use_bias": self.use_bias,
        }


class Dropout(Layer):
    """Inverted dropout of its input with probability `rate` (training only)."""

    def __init__(self, rate: float):
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def get_config(self) -> dict[str, Any]:
        return {"class": "Dropout", "rate": self.rate}


LAYERS: dict[str, type[Layer]] = {"Dense": Dense, "Dropout": Dropout}
