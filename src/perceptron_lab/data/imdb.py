"""Keras's IMDB movie reviews (25000 train / 25000 test) as bag-of-words vectors, downloaded once.

The file `imdb.npz` holds x_train, x_test: object arrays of Python lists, one per review, of word
frequency ranks (1 = the most frequent word); y_train, y_test: 0 (negative) or 1 (positive).
Keras's `load_data` shifts the ranks by `index_from` and prepends `start_char`; this loader reads
the ranks as stored. With `num_words: W`, rank r <= W becomes column r - 1 and rarer words are
dropped, so a split is a (25000, W) float32 matrix: 500 MB at the default W = 5000.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import pickle
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ..errors import DataError
from .dataset import Dataset
from .download import RemoteFiles, fetch_files
from .images import first_per_class
from .registry import DatasetParams, register

IMDB_FILE = "imdb.npz"
IMDB = RemoteFiles(
    "imdb",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    {IMDB_FILE: "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"},
)
CLASSES = ["negative", "positive"]


class ImdbParams(DatasetParams):
    split: Literal["train", "test"] = Field("train", description="which of the dataset's official splits")
    num_words: int = Field(
        5000, ge=1, description="keep the N most frequent words (ranks 1..N as columns); drop the rarer"
    )
    counts: bool = Field(True, description="true: how often each word occurs; false: 1 if it occurs, else 0")
    subset: int | None = Field(None, ge=1, description="keep the first N reviews of each class (file order)")
    data_dir: str | None = Field(
        None, description="folder holding imdb.npz (default: $PERCEPTRON_LAB_DATA/imdb, then the cache)"
    )
    download: bool = Field(True, description="download a missing file into the cache")
    sha256: dict[str, str | None] | None = Field(
        None,
        description="file name -> expected SHA-256, overriding the published sum (null: skip the check); "
        "a file other than the published one must hold no pickled objects",
    )


def bag_of_words(reviews: list, num_words: int, counts: bool = True) -> np.ndarray:
    """Reviews (n lists of word ranks >= 1) -> X (n, num_words) float32.

    X[i, r - 1] is how often rank r occurs in review i (counts) or 1.0 if it does (presence);
    ranks above num_words are dropped.
    """
    lengths = np.fromiter((len(review) for review in reviews), dtype=np.int64, count=len(reviews))
    ranks = np.fromiter(itertools.chain.from_iterable(reviews), dtype=np.int64, count=int(lengths.sum()))
    if ranks.size and ranks.min() < 1:
        raise ValueError(f"word rank {int(ranks.min())} (ranks start at 1)")
    rows = np.repeat(np.arange(len(reviews), dtype=np.int64), lengths)
    kept = ranks <= num_words
    cells, occurrences = np.unique(rows[kept] * num_words + (ranks[kept] - 1), return_counts=True)
    X = np.zeros((len(reviews), num_words), dtype=np.float32)
    X.reshape(-1)[cells] = occurrences if counts else 1
    return X


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(reviews (n,) object array of lists, labels (n,) int64) of one split of imdb.npz;
    DataError naming the file when it is not one.

    The review arrays are pickled Python lists, and unpickling runs code the file chooses. Pickles
    are allowed only for bytes whose SHA-256 is the published one, hashed here from the very bytes
    loaded; any other file is read with pickles refused.
    """
    data = path.read_bytes()
    if not data.startswith(b"PK"):
        raise DataError(f"{path}: not a readable imdb.npz (not a zip archive)")
    trusted = hashlib.sha256(data).hexdigest() == IMDB.sha256[IMDB_FILE]
    try:
        with np.load(io.BytesIO(data), allow_pickle=trusted) as npz:
            missing = [key for key in (f"x_{split}", f"y_{split}") if key not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: no array {', '.join(missing)} (expected x_train, y_train, x_test, y_test)"
                )
            reviews, labels = npz[f"x_{split}"], npz[f"y_{split}"]
    except ValueError as error:
        if not trusted and "allow_pickle" in str(error):
            raise DataError(
                f"{path}: its reviews are pickled Python objects, which are read only from the file "
                f"with the published SHA-256 ({IMDB.sha256[IMDB_FILE]})"
            ) from None
        raise DataError(f"{path}: not a readable imdb.npz ({error})") from None
    except (OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable imdb.npz ({error})") from None
    if reviews.ndim != 1 or labels.shape != reviews.shape:
        raise DataError(
            f"{path}: x_{split} {reviews.shape} and y_{split} {labels.shape} are not one review per label"
        )
    if not np.isin(labels, [0, 1]).all():
        raise DataError(f"{path}: y_{split} holds labels other than 0 and 1")
    return reviews, labels.astype(np.int64)


@register(
    "imdb",
    ImdbParams,
    "classification",
    "IMDB movie reviews as bag-of-words counts of the num_words most frequent words "
    "(25000 train / 25000 test, negative/positive), downloaded and cached",
    n_features=lambda params: params.num_words,
)
def load_imdb(
    *,
    split: str,
    num_words: int,
    counts: bool,
    subset: int | None,
    data_dir: str | None,
    download: bool,
    sha256: dict | None,
) -> Dataset:
    """X (n, num_words) float32: column r - 1 counts word rank r; y (n,) 0 negative, 1 positive."""
    path = fetch_files(IMDB, [IMDB_FILE], data_dir, download, sha256)[IMDB_FILE]
    reviews, labels = _read_npz(path, split)
    if subset is not None:
        rows = first_per_class(labels, subset)
        reviews, labels = reviews[rows], labels[rows]
    try:
        X = bag_of_words(list(reviews), num_words, counts)
    except (TypeError, ValueError, OverflowError) as error:
        raise DataError(f"{path}: x_{split} is not lists of word ranks ({error})") from None
    meta = {"dataset": "imdb", "split": split, "files": [str(path)], "num_words": num_words, "counts": counts}
    names = [f"word_{rank}" for rank in range(1, num_words + 1)]
    return Dataset(X, labels, "classification", list(CLASSES), feature_names=names, meta=meta)
