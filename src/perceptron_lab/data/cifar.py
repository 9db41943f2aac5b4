"""CIFAR-10's python archive: cifar-10-python.tar.gz.

The archive holds cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}; each batch is
a pickled dict with b"data" (n, 3072) uint8, rows of 1024 red, 1024 green then 1024 blue pixels
(each channel 32x32 row-major), and b"labels" (n ints in 0..9). The pickles are read with an
unpickler that only builds numpy arrays and plain containers.
"""

from __future__ import annotations

import importlib
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCHES = ["test_batch"]
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_SHAPE = (32, 32, 3)

# Globals a CIFAR pickle may name: numpy's array reconstruction, nothing else.
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):  # numpy >= 2 keeps these under numpy._core
            try:
                return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core")), name)
            except ImportError:
                pass
        return getattr(importlib.import_module(module), name)


def _unpickle(data: bytes) -> dict:
    return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()


def _batch(content: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch dict -> (images (n, 3, 32, 32) uint8, labels (n,) int64)."""
    try:
        data = np.asarray(content[b"data"])
        labels = np.asarray(content[b"labels"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{where}: not a CIFAR-10 batch ({error})") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{where}: expected uint8 data of shape (n, 3072), found {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise DataError(f"{where}: {labels.size} labels for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{where}: labels must be in 0..9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(archive: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read one split of cifar-10-python.tar.gz in a single pass over the archive.

    Returns:
        images (n, 32, 32, 3) uint8 (height, width, RGB), labels (n,) int64, the 10 class names.
    Raises:
        DataError naming the archive (and member) when it is missing, corrupt or incomplete.
    """
    archive = Path(archive)
    wanted = [f"{FOLDER}/{b}" for b in (TRAIN_BATCHES if split == "train" else TEST_BATCHES)]
    meta_name = f"{FOLDER}/batches.meta"
    contents: dict[str, dict] = {}
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                if member.name in wanted or member.name == meta_name:
                    handle = tar.extractfile(member)
                    if handle is None:
                        raise DataError(f"{archive}: {member.name} is not a regular file")
                    try:
                        contents[member.name] = _unpickle(handle.read())
                    except (
                        pickle.UnpicklingError,
                        EOFError,
                        ValueError,
                        AttributeError,
                        ImportError,
                        IndexError,
                    ) as error:
                        raise DataError(
                            f"{archive}: {member.name} is not a readable batch ({error})"
                        ) from None
    except FileNotFoundError:
        raise DataError(f"{archive}: no such file") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(f"{archive}: corrupt or truncated archive ({error})") from None
    absent = [name for name in wanted if name not in contents]
    if absent:
        raise DataError(f"{archive}: missing {', '.join(absent)}")
    batches = [_batch(contents[name], f"{archive}:{name}") for name in wanted]
    images = np.concatenate([b[0] for b in batches]).transpose(0, 2, 3, 1)  # (n, 32, 32, 3)
    labels = np.concatenate([b[1] for b in batches])
    names = LABEL_NAMES
    meta = contents.get(meta_name)
    if isinstance(meta, dict) and len(meta.get(b"label_names", [])) == 10:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"]]
    return np.ascontiguousarray(images), labels, names
