"""Writers of real-format data files and a local HTTP file server, for the data tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading
from functools import partial
from pathlib import Path

import numpy as np


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 or int32 array: magic, big-endian sizes, row-major values."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    data = array.astype(">i4") if array.dtype == np.int32 else array
    header = bytes([0, 0, codes[data.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + data.tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    path.write_bytes(gzip.compress(idx_bytes(array), compresslevel=1))
    return path


def make_mnist_files(folder: Path, n_train: int = 30, n_test: int = 20, seed: int = 0) -> dict:
    """MNIST-named IDX gzip files of random 28x28 images; labels cycle 0..9. Returns the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = (images, labels)
    return arrays


def cifar_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled like the real archive: bytes keys, protocol 2."""
    return pickle.dumps(
        {b"batch_label": b"test", b"labels": labels, b"data": data, b"filenames": []}, protocol=2
    )


def make_cifar_archive(path: Path, per_batch: int = 4, seed: int = 0, members: dict | None = None) -> dict:
    """cifar-10-python.tar.gz with 5 train batches and a test batch of `per_batch` random images each.

    Returns {batch name: (data (n, 3072) uint8, labels)}; `members` replaces or adds raw members.
    """
    rng = np.random.default_rng(seed)
    batches = {}
    content = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        batches[name] = (data, labels)
        content[f"cifar-10-batches-py/{name}"] = cifar_batch(data, labels)
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    content["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": names}, protocol=2)
    content.update(members or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in content.items():
            if raw is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return batches


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class FileServer:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) serving `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(_QuietHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


def ragged(reviews: list[list[int]]) -> np.ndarray:
    """An object array of Python lists, as Keras stores the reviews."""
    array = np.empty(len(reviews), dtype=object)
    for i, review in enumerate(reviews):
        array[i] = list(review)
    return array


def make_imdb_file(
    path: Path, n_train: int = 20, n_test: int = 10, vocabulary: int = 60, seed: int = 0
) -> dict:
    """imdb.npz in Keras's format: x_* object arrays of lists of word ranks 1..vocabulary,
    y_* 0/1 alternating. Returns {"train": (reviews, labels), "test": ...}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays, splits = {}, {}
    for split, n in (("train", n_train), ("test", n_test)):
        reviews = [[int(r) for r in rng.integers(1, vocabulary + 1, rng.integers(1, 30))] for _ in range(n)]
        labels = (np.arange(n) % 2).astype(np.int64)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = ragged(reviews), labels
        splits[split] = (reviews, labels)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return splits
