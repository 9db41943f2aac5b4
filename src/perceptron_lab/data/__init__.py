"""Datasets: the Dataset container, the registry of loaders, and preprocessing transforms.

Importing this package registers every loader, so `DATASETS` lists them all.
"""

from . import bitmap, builtin, images, sklearn_sets, tabular  # noqa: F401  (register loaders)
from .dataset import Dataset
from .download import download, download_progress
from .registry import DATASETS, DatasetParams, load_dataset, register
from .transforms import MeanImageSubtraction, add_noise, make_scaler

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetParams",
    "MeanImageSubtraction",
    "add_noise",
    "download",
    "download_progress",
    "load_dataset",
    "make_scaler",
    "register",
]
