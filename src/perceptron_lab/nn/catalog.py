"""Every layer class, by the class name get_config() writes and by its kind."""

from __future__ import annotations

from .conv import AveragePooling2D, Conv2D, MaxPool2D
from .layers import Concatenate, Dense, Dropout, Flatten, Layer, Reshape
from .noise import GaussianNoise
from .normalization import BatchNorm

_CLASSES: list[type[Layer]] = [
    Dense,
    Dropout,
    BatchNorm,
    Conv2D,
    MaxPool2D,
    AveragePooling2D,
    Flatten,
    Reshape,
    Concatenate,
    GaussianNoise,
]

LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in _CLASSES}
"""Layer classes by class name ("Conv2D")."""

LAYER_KINDS: dict[str, type[Layer]] = {cls.kind: cls for cls in _CLASSES}
"""Layer classes by kind ("conv2d"), the default layer names."""
