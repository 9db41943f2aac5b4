"""Replica-stacked NumPy networks: layers, activations, losses, initializers, optimizers."""

from .activations import ACTIVATIONS, Activation, get_activation
from .catalog import LAYER_KINDS, LAYERS
from .conv import AveragePooling2D, Conv2D, MaxPool2D
from .initializers import INITIALIZERS, Initializer, get_initializer
from .io import load_network, save_network
from .layers import Concatenate, Dense, Dropout, Flatten, Layer, Reshape
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .noise import GaussianNoise
from .normalization import BatchNorm
from .optimizers import OPTIMIZERS, Optimizer, get_optimizer
from .parameters import Parameters
from .shapes import LayerShapeError, infer_shapes
from .summary import Summary

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYERS",
    "LAYER_KINDS",
    "LOSSES",
    "OPTIMIZERS",
    "Activation",
    "AveragePooling2D",
    "BatchNorm",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "Initializer",
    "Layer",
    "LayerShapeError",
    "Loss",
    "MaxPool2D",
    "Network",
    "Optimizer",
    "Parameters",
    "Reshape",
    "Summary",
    "get_activation",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "infer_shapes",
    "load_network",
    "save_network",
]
