"""Replica-stacked NumPy networks: layers, activations, losses, initializers, optimizers."""

from .activations import ACTIVATIONS, Activation, get_activation
from .initializers import INITIALIZERS, Initializer, get_initializer
from .io import load_network, save_network
from .layers import Dense, Dropout, Layer
from .losses import LOSSES, Loss, get_loss
from .network import Network
from .optimizers import OPTIMIZERS, Optimizer, get_optimizer

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LOSSES",
    "OPTIMIZERS",
    "Activation",
    "Dense",
    "Dropout",
    "Initializer",
    "Layer",
    "Loss",
    "Network",
    "Optimizer",
    "get_activation",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "load_network",
    "save_network",
]
