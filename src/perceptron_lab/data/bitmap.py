"""Bitmap text files: blocks of 0/1 pixel rows, one block per sample.

Format:

    # a comment line (anywhere)
    01110           <- a row: `cols` characters 0/1 ...
    1 0 0 0 1       <- ... or `cols` whitespace-separated 0/1 values
    ...             <- `rows` rows make one block (one bitmap)
                    <- one or more blank lines end a block

Every malformed line raises DataError "file:line: what is wrong".
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from .dataset import Dataset
from .registry import DatasetParams, register

Encoding = Literal["binary", "bipolar"]


def _parse_row(text: str, cols: int, where: str) -> list[int]:
    """One row line -> `cols` ints in {0, 1}."""
    tokens = text.split()
    values = list(tokens[0]) if len(tokens) == 1 else tokens
    if len(values) != cols:
        raise DataError(f"{where}: row has {len(values)} values, expected cols={cols}")
    for column, value in enumerate(values, start=1):
        if value not in ("0", "1"):
            raise DataError(f"{where}: {value!r} at column {column}; only 0 and 1 are allowed")
    return [int(v) for v in values]


def read_bitmaps(path: str | Path, rows: int, cols: int) -> np.ndarray:
    """Read every block of a bitmap file.

    Returns:
        (n_blocks, rows, cols) uint8 array of 0/1 pixels, in file order.
    Raises:
        DataError naming the file and line of the first problem.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such bitmap file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read bitmap file ({error})") from None

    blocks: list[list[list[int]]] = []
    block: list[list[int]] = []
    block_start = 0

    def close_block() -> None:
        if block and len(block) != rows:
            raise DataError(
                f"{path}:{block_start}: block starting here has {len(block)} rows, expected rows={rows}"
            )
        if block:
            blocks.append(list(block))
        block.clear()

    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith("#"):
            continue
        if not text:
            close_block()
            continue
        if not block:
            block_start = number
        if len(block) == rows:
            raise DataError(
                f"{path}:{number}: block starting at line {block_start} has more than rows={rows} rows "
                "(separate blocks with a blank line)"
            )
        block.append(_parse_row(text, cols, f"{path}:{number}"))
    close_block()
    if not blocks:
        raise DataError(f"{path}: no bitmaps found")
    return np.asarray(blocks, dtype=np.uint8)


def bitmap_dataset(
    images: np.ndarray,
    labels: list | None,
    encoding: Encoding,
    source: str,
) -> Dataset:
    """(n, rows, cols) 0/1 images -> a classification Dataset of flattened pixel rows.

    `labels` names the class of each block (classes in order of first appearance);
    without it each block is its own class, named by its index.
    """
    n, rows, cols = images.shape
    if labels is None:
        labels = [str(i) for i in range(n)]
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise DataError(f"{source}: {len(labels)} labels given for {n} bitmaps")
    classes = list(dict.fromkeys(labels))
    y = np.array([classes.index(label) for label in labels], dtype=np.int64)
    X = images.reshape(n, rows * cols).astype(np.float32)
    if encoding == "bipolar":
        X = 2 * X - 1
    return Dataset(
        X,
        y,
        "classification",
        classes,
        feature_names=[f"r{r}c{c}" for r in range(rows) for c in range(cols)],
        meta={"image_shape": (rows, cols), "encoding": encoding, "source": source},
    )


class BitmapParams(DatasetParams):
    path: str = Field(..., description="bitmap text file: blocks of `rows` lines of `cols` 0/1 values")
    rows: int = Field(..., ge=1, description="rows per bitmap")
    cols: int = Field(..., ge=1, description="values per row")
    labels: list[str | int] | None = Field(
        None, description="class of each block in file order; default: block index"
    )
    encoding: Encoding = Field("binary", description="binary: pixels 0/1; bipolar: pixels -1/+1")


@register("bitmap", BitmapParams, "classification", "0/1 bitmaps from a text file, one block per sample")
def load_bitmap(
    path: str, rows: int, cols: int, labels: list | None = None, encoding: Encoding = "binary"
) -> Dataset:
    """X (n_blocks, rows * cols) float32, y (n_blocks,) label index."""
    images = read_bitmaps(path, rows, cols)
    return bitmap_dataset(images, labels, encoding, str(path))
