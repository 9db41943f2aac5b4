"""Datasets: the Dataset container, the registry of loaders, and preprocessing transforms.

Importing this package registers every loader, so `DATASETS` lists them all. scikit-learn is
not imported until a scaler or a scikit-learn dataset is used.
"""

from . import bitmap, builtin, images, imdb, sklearn_sets, tabular  # noqa: F401  (register loaders)
from .dataset import Dataset
from .download import download, download_progress
from .registry import DATASETS, DatasetParams, load_dataset, register
from .transforms import add_noise, make_scaler

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


def __getattr__(name: str):
    if name == "MeanImageSubtraction":  # imported on use: it loads scikit-learn
        from .mean_image import MeanImageSubtraction

        return MeanImageSubtraction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
