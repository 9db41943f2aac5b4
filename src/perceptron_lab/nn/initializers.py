"""Weight initializers: draw one replica's (fan_in, fan_out) kernel or (1, fan_out) bias.

Every initializer is called as init(shape, fan_in, fan_out, rng) with the replica's own numpy
Generator and returns float64 values (the network casts them to its dtype, so float32 and
float64 networks with the same seeds start from the same numbers up to rounding).

    zeros            0
    constant         value
    uniform          U(low, high)
    normal           N(mean, std^2)
    glorot_uniform   U(-l, l),  l = gain sqrt(6 / (fan_in + fan_out))     (Glorot & Bengio 2010)
    glorot_normal    N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out))
    he_uniform       U(-l, l),  l = sqrt(6 / fan_in)                      (He et al. 2015)
    he_normal        N(0, s^2), s = sqrt(2 / fan_in)
    lecun_normal     N(0, s^2), s = sqrt(1 / fan_in)                      (LeCun et al. 1998)
    orthogonal       gain * Q, Q with orthonormal rows or columns, from the QR decomposition of
                     a standard normal matrix with the signs of R's diagonal folded in (Saxe et al. 2014)
The normal variants draw from the plain (untruncated) normal distribution.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .registry import resolve


class Initializer:
    name: ClassVar[str]

    def __call__(
        self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
    ) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **vars(self)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    # Defining __eq__ leaves __hash__ None: initializers are unhashable.


class Zeros(Initializer):
    name = "zeros"

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.zeros(shape)


class Constant(Initializer):
    name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.value)


class Uniform(Initializer):
    name = "uniform"

    def __init__(self, low: float = -0.05, high: float = 0.05):
        if not low < high:
            raise ValueError(f"uniform: low must be < high, got {low} >= {high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, shape, fan_in, fan_out, rng):
        return rng.uniform(self.low, self.high, size=shape)


class Normal(Initializer):
    name = "normal"

    def __init__(self, std: float = 0.05, mean: float = 0.0):
        if not std >= 0:
            raise ValueError(f"normal: std must be >= 0, got {std}")
        self.std, self.mean = float(std), float(mean)

    def __call__(self, shape, fan_in, fan_out, rng):
        return rng.normal(self.mean, self.std, size=shape)


class _Scaled(Initializer):
    """U(-l, l) or N(0, s^2) with a scale from the fans."""

    uniform: ClassVar[bool]

    def __init__(self, gain: float = 1.0):
        if not gain > 0:
            raise ValueError(f"{self.name}: gain must be > 0, got {gain}")
        self.gain = float(gain)

    def variance(self, fan_in: int, fan_out: int) -> float:
        raise NotImplementedError

    def __call__(self, shape, fan_in, fan_out, rng):
        std = self.gain * np.sqrt(self.variance(fan_in, fan_out))
        if self.uniform:
            limit = np.sqrt(3.0) * std  # U(-l, l) has variance l^2 / 3
            return rng.uniform(-limit, limit, size=shape)
        return rng.normal(0.0, std, size=shape)


class GlorotUniform(_Scaled):
    name, uniform = "glorot_uniform", True

    def variance(self, fan_in, fan_out):
        return 2.0 / (fan_in + fan_out)


class GlorotNormal(GlorotUniform):
    name, uniform = "glorot_normal", False


class HeUniform(_Scaled):
    name, uniform = "he_uniform", True

    def variance(self, fan_in, fan_out):
        return 2.0 / fan_in


class HeNormal(HeUniform):
    name, uniform = "he_normal", False


class LecunNormal(_Scaled):
    name, uniform = "lecun_normal", False

    def variance(self, fan_in, fan_out):
        return 1.0 / fan_in


class Orthogonal(Initializer):
    name = "orthogonal"

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape, fan_in, fan_out, rng):
        rows, cols = shape
        normal = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(normal)
        q *= np.sign(np.diag(r))  # makes the decomposition unique, so Q is Haar-distributed
        if rows < cols:
            q = q.T
        return self.gain * q


INITIALIZERS: dict[str, type[Initializer]] = {
    cls.name: cls
    for cls in (
        Zeros,
        Constant,
        Uniform,
        Normal,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunNormal,
        Orthogonal,
    )
}
INITIALIZERS.update(
    {
        "xavier_uniform": GlorotUniform,
        "xavier_normal": GlorotNormal,
        "kaiming_uniform": HeUniform,
        "kaiming_normal": HeNormal,
    }
)


def get_initializer(spec) -> Initializer:
    """An Initializer from a name ("he_normal"), a dict ({"name": "uniform", "low": -1, "high": 1}) or an instance."""
    return resolve(spec, INITIALIZERS, "initializer", Initializer)
