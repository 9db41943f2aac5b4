"""Training: the Trainer, early stopping, the History it returns, and vectorized metrics."""

from . import metrics
from .early_stopping import EarlyStopping
from .history import History
from .trainer import Trainer

__all__ = ["EarlyStopping", "History", "Trainer", "metrics"]
