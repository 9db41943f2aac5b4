"""Image datasets downloaded once and cached: MNIST, Fashion-MNIST, CIFAR-10.

Files are found, downloaded and verified by `download.fetch_files` (see that module for the
lookup order, the cache, `$PERCEPTRON_LAB_DATA` and `$PERCEPTRON_LAB_MIRROR`). Images stay uint8
through subsetting and pixel permutation and become float32 in one step, so the full MNIST
training set takes 60000 x 784 x 4 bytes = 188 MB plus the 47 MB of uint8 it is read into.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .cifar import read_cifar10
from .dataset import Dataset
from .download import RemoteFiles, fetch_files
from .idx import read_idx_images
from .registry import DatasetParams, register

# Published SHA-256 sums of the canonical files.
MNIST = RemoteFiles(
    "mnist",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
)
FASHION_MNIST = RemoteFiles(
    "fashion_mnist",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
)
CIFAR10 = RemoteFiles(
    "cifar10",
    "https://www.cs.toronto.edu/~kriz/",
    {"cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"

DIGIT_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


class ImageParams(DatasetParams):
    split: Literal["train", "test"] = Field("train", description="which of the dataset's official splits")
    data_dir: str | None = Field(
        None, description="folder holding the files (default: $PERCEPTRON_LAB_DATA/<dataset>, then the cache)"
    )
    subset: int | None = Field(None, ge=1, description="keep the first N samples of each class (file order)")
    flatten: Literal[True] = Field(
        True, description="images as rows of pixels (networks here are dense; only true)"
    )
    permute_pixels: int | None = Field(
        None, description="seed of one fixed pixel permutation (permuted MNIST); null: none"
    )
    scale: Literal["unit", "none"] = Field("unit", description="unit: pixels / 255 in [0, 1]; none: 0..255")
    download: bool = Field(True, description="download missing files into the cache")
    sha256: dict[str, str | None] | None = Field(
        None,
        description="file name -> expected SHA-256, overriding the published sums (null: skip that check)",
    )


def first_per_class(labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted row indices of the first `n` samples of each class in `labels` (n_samples,)."""
    keep = [np.flatnonzero(labels == c)[:n] for c in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def pixel_permutation(n_pixels: int, seed: int) -> np.ndarray:
    """The fixed permutation of pixel positions that `permute_pixels: seed` applies."""
    return np.random.default_rng(seed).permutation(n_pixels)


def image_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    meta: dict,
    *,
    subset: int | None,
    permute_pixels: int | None,
    scale: str,
    flatten: bool = True,
) -> Dataset:
    """uint8 images (n, H, W) or (n, H, W, C) -> Dataset with X (n', H*W*C) float32.

    Subsetting and the pixel permutation (of the H*W positions; a pixel's channels move
    together) happen on uint8; the float32 matrix is made once, without float64 copies.
    `flatten` is always true (ImageParams allows nothing else).
    """
    shape = images.shape[1:]
    if subset is not None:
        rows = first_per_class(labels, subset)
        images, labels = images[rows], labels[rows]
    n, channels = len(images), shape[2] if len(shape) == 3 else 1
    pixels = images.reshape(n, shape[0] * shape[1], channels)
    if permute_pixels is not None:
        pixels = pixels[:, pixel_permutation(shape[0] * shape[1], permute_pixels), :]
    flat = pixels.reshape(n, -1)
    X = np.empty(flat.shape, dtype=np.float32)
    if scale == "unit":
        np.divide(flat, np.float32(255), out=X)
    else:
        X[...] = flat
    meta = {**meta, "image_shape": tuple(shape), "permute_pixels": permute_pixels, "scale": scale}
    return Dataset(X, labels.astype(np.int64), "classification", list(classes), meta=meta)


# The loaders below take ImageParams' fields as keywords (the registry passes them all):
# split, data_dir, download and sha256 find the files; the rest go to image_dataset.


def _load_idx_set(
    source: RemoteFiles,
    classes: list[str],
    *,
    split: str,
    data_dir: str | None,
    download: bool,
    sha256: dict | None,
    **shaping,
) -> Dataset:
    prefix = "train" if split == "train" else "t10k"
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    paths = fetch_files(source, names, data_dir, download, sha256)
    images, labels = read_idx_images(paths[names[0]], paths[names[1]], n_classes=len(classes))
    meta = {"dataset": source.name, "split": split, "files": [str(paths[n]) for n in names]}
    return image_dataset(images, labels, classes, meta, **shaping)


@register(
    "mnist",
    ImageParams,
    "classification",
    "handwritten digits 28x28 (60000 train / 10000 test), downloaded and cached",
    image_shape=(28, 28, 1),
)
def load_mnist(**params) -> Dataset:
    """X (n, 784) float32, y (n,) digit."""
    return _load_idx_set(MNIST, DIGIT_CLASSES, **params)


@register(
    "fashion_mnist",
    ImageParams,
    "classification",
    "Zalando's clothing images 28x28 (60000 train / 10000 test), downloaded and cached",
    image_shape=(28, 28, 1),
)
def load_fashion_mnist(**params) -> Dataset:
    """X (n, 784) float32, y (n,) clothing type."""
    return _load_idx_set(FASHION_MNIST, FASHION_CLASSES, **params)


@register(
    "cifar10",
    ImageParams,
    "classification",
    "32x32 colour images of 10 classes (50000 train / 10000 test), downloaded and cached",
    image_shape=(32, 32, 3),
)
def load_cifar10(
    *, split: str, data_dir: str | None, download: bool, sha256: dict | None, **shaping
) -> Dataset:
    """X (n, 3072) float32: each row is 32x32 pixels row-major, RGB per pixel; y (n,) class."""
    paths = fetch_files(CIFAR10, [CIFAR10_ARCHIVE], data_dir, download, sha256)
    images, labels, classes = read_cifar10(paths[CIFAR10_ARCHIVE], split)
    meta = {"dataset": "cifar10", "split": split, "files": [str(paths[CIFAR10_ARCHIVE])]}
    return image_dataset(images, labels, classes, meta, **shaping)
