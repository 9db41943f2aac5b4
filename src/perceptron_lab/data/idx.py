"""IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.

Layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32 sizes, then the values in
row-major order. MNIST images are type 0x08 (uint8) with ndim 3 (magic 2051), labels ndim 1
(magic 2049).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
DEFLATE_MAX_RATIO = 1032
"""Deflate expands at most about 1032-fold, which bounds what a gzip file can decompress to."""


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as probe:
        return probe.read(2) == GZIP_MAGIC


def _check_declared_size(path: Path, shape: tuple[int, ...], dtype: np.dtype, header: int) -> None:
    """Refuse a header declaring more bytes than the file can hold, before allocating them."""
    declared = math.prod(shape) * dtype.itemsize
    size = path.stat().st_size
    room = size * DEFLATE_MAX_RATIO if _is_gzip(path) else size - header
    if declared > room:
        raise DataError(
            f"{path}: header declares shape {shape} ({declared:,} bytes), more than a "
            f"{size:,}-byte file can hold"
        )


def _read_exactly(handle, out: np.ndarray) -> int:
    """Fill the contiguous array `out` from `handle`; returns the bytes read (short at EOF)."""
    view = out.reshape(-1).view(np.uint8).data  # a memoryview of its bytes
    done = 0
    while done < len(view):
        n = handle.readinto(view[done:])
        if not n:
            break
        done += n
    return done


def read_idx(path: str | Path) -> np.ndarray:
    """Read a whole IDX file into one array of its declared shape and type (native byte order).

    Raises DataError naming the file for a bad magic number, a truncated or oversized payload,
    or a corrupt gzip stream; nothing is returned half-read.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb") as handle:
            magic = handle.read(4)
            if len(magic) != 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES or magic[3] == 0:
                raise DataError(f"{path}: not an IDX file (bad magic number 0x{magic.hex() or 'empty'})")
            ndim = magic[3]
            dims = handle.read(4 * ndim)
            if len(dims) != 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = np.dtype(IDX_TYPES[magic[2]])
            _check_declared_size(path, shape, dtype, 4 + 4 * ndim)
            out = np.empty(shape, dtype=dtype)
            got = _read_exactly(handle, out)
            if got != out.nbytes:
                raise DataError(
                    f"{path}: truncated: header declares shape {shape} ({out.nbytes} bytes), found {got} bytes"
                )
            if handle.read(1):
                raise DataError(f"{path}: wrong size: more data than the header's shape {shape} declares")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (EOFError, zlib.error, OSError) as error:
        raise DataError(f"{path}: corrupt or truncated ({error})") from None
    return out.astype(out.dtype.newbyteorder("="), copy=False)


def read_idx_images(
    images_path: str | Path, labels_path: str | Path, n_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """An MNIST-style pair of files -> (images (n, rows, cols) uint8, labels (n,) int64)."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_path}: expected uint8 images (n, rows, cols), found {images.dtype} {images.shape}"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a 1-D label file, found shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"{labels_path}: labels must be in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return images, labels.astype(np.int64)
