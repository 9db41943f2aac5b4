"""IDX and CIFAR-10 readers, and the image loaders on small files written in the real formats."""

import gzip
import pickle

import numpy as np
import pytest
from data_files import cifar_batch, idx_bytes, make_cifar_archive, make_mnist_files, sha256, write_idx_gz

from perceptron_lab.data import load_dataset
from perceptron_lab.data.cifar import read_cifar10
from perceptron_lab.data.idx import read_idx
from perceptron_lab.data.images import first_per_class, pixel_permutation
from perceptron_lab.errors import DataError, UserError

# ---------------------------------------------------------------------------------------------
# IDX


def test_idx_header_is_magic_then_big_endian_sizes(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(images)
    # magic 2051 = 0x00000803 for uint8 images, then 2, 3, 4 as big-endian uint32
    assert raw[:16] == bytes.fromhex("00000803000000020000000300000004")
    path = write_idx_gz(tmp_path / "x.gz", images)
    np.testing.assert_array_equal(read_idx(path), images)


def test_idx_reads_plain_files_and_big_endian_ints(tmp_path):
    values = np.array([[1, -2], [70000, 3]], dtype=np.int32)
    path = tmp_path / "ints.idx"
    path.write_bytes(idx_bytes(values))
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype.isnative


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"\x08\x03\x00\x00" + bytes(12), "bad magic number 0x08030000"),
        (b"", "bad magic number 0xempty"),
        (bytes.fromhex("00000803") + bytes(4), "truncated IDX header"),
        (
            bytes.fromhex("00000801") + (5).to_bytes(4, "big") + bytes(3),
            r"truncated: header declares shape \(5,\)",
        ),
        (bytes.fromhex("00000801") + (2).to_bytes(4, "big") + bytes(3), "wrong size: more data"),
    ],
)
def test_idx_rejects_bad_magic_and_wrong_sizes(tmp_path, raw, message):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(DataError, match=message) as error:
        read_idx(path)
    assert str(error.value).startswith(str(path))


def test_idx_rejects_a_cut_gzip_stream(tmp_path):
    path = write_idx_gz(tmp_path / "cut.gz", np.ones((50, 28, 28), np.uint8) * 7)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=rf"^{path}: (corrupt or truncated|truncated)"):
        read_idx(path)


# ---------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST loaders reading from data_dir


def _no_checks(*names):
    return {n: None for n in names}


ALL_MNIST = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def test_mnist_from_data_dir(tmp_path):
    arrays = make_mnist_files(tmp_path / "mnist")
    sums = {name: sha256(tmp_path / "mnist" / name) for name in ALL_MNIST}
    data = load_dataset("mnist", data_dir=str(tmp_path / "mnist"), sha256=sums, download=False)
    images, labels = arrays["train"]
    assert data.task == "classification" and data.classes == [str(d) for d in range(10)]
    assert data.X.shape == (30, 784) and data.X.dtype == np.float32
    assert data.meta["image_shape"] == (28, 28)
    np.testing.assert_array_equal(data.y, labels)
    np.testing.assert_array_equal(data.X, images.reshape(30, 784).astype(np.float32) / np.float32(255))
    assert data.X.min() >= 0 and data.X.max() <= 1

    test = load_dataset("mnist", split="test", data_dir=str(tmp_path / "mnist"), sha256=sums, download=False)
    assert test.X.shape == (20, 784)
    np.testing.assert_array_equal(test.y, arrays["t10k"][1])


def test_subset_permutation_and_raw_scale(tmp_path):
    arrays = make_mnist_files(tmp_path / "m", n_train=40)
    images, labels = arrays["train"]
    data = load_dataset(
        "fashion_mnist",
        data_dir=str(tmp_path / "m"),
        sha256=_no_checks(*ALL_MNIST),
        download=False,
        subset=2,
        permute_pixels=7,
        scale="none",
    )
    rows = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]  # labels cycle 0..9
    assert data.classes[0] == "T-shirt/top" and len(data.classes) == 10
    np.testing.assert_array_equal(data.y, labels[rows])
    perm = np.random.default_rng(7).permutation(784)
    np.testing.assert_array_equal(data.X, images[rows].reshape(20, 784)[:, perm].astype(np.float32))
    assert data.meta["permute_pixels"] == 7
    np.testing.assert_array_equal(pixel_permutation(784, 7), perm)


def test_first_per_class_keeps_file_order():
    labels = np.array([3, 1, 3, 3, 1, 0, 1])
    assert first_per_class(labels, 2).tolist() == [0, 1, 2, 4, 5]


def test_mnist_rejects_mismatched_label_file(tmp_path):
    folder = tmp_path / "m"
    make_mnist_files(folder)
    write_idx_gz(folder / "train-labels-idx1-ubyte.gz", np.zeros(29, np.uint8))
    with pytest.raises(DataError, match="29 labels for 30 images"):
        load_dataset("mnist", data_dir=str(folder), sha256=_no_checks(*ALL_MNIST), download=False)


def test_flatten_must_stay_true():
    with pytest.raises(UserError, match="flatten"):
        load_dataset("mnist", flatten=False)


# ---------------------------------------------------------------------------------------------
# CIFAR-10


def test_cifar_reader_turns_channel_planes_into_rgb_pixels(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    batches = make_cifar_archive(archive, per_batch=3)
    images, labels, names = read_cifar10(archive, "train")
    assert images.shape == (15, 32, 32, 3) and images.dtype == np.uint8
    assert names[0] == "airplane" and names[9] == "truck"
    data, batch_labels = batches["data_batch_2"]
    assert labels[3:6].tolist() == batch_labels
    # pixel (row r, column c, channel ch) of an image is data[ch * 1024 + r * 32 + c]
    for r, c, ch in [(0, 0, 0), (5, 17, 1), (31, 31, 2), (10, 3, 2)]:
        assert images[4, r, c, ch] == data[1, ch * 1024 + r * 32 + c]
    test_images, test_labels, _ = read_cifar10(archive, "test")
    assert test_images.shape == (3, 32, 32, 3)
    assert test_labels.tolist() == batches["test_batch"][1]


def test_cifar_loader_subsets_permutes_and_scales(tmp_path):
    folder = tmp_path / "c"
    archive = folder / "cifar-10-python.tar.gz"
    make_cifar_archive(archive, per_batch=20, seed=3)
    images, labels, _ = read_cifar10(archive, "train")
    data = load_dataset(
        "cifar10", data_dir=str(folder), sha256={archive.name: sha256(archive)}, download=False
    )
    assert data.X.shape == (100, 3072) and data.meta["image_shape"] == (32, 32, 3)
    np.testing.assert_array_equal(data.X[7], images[7].reshape(-1) / np.float32(255))
    permuted = load_dataset(
        "cifar10", data_dir=str(folder), sha256={archive.name: None}, permute_pixels=1, subset=1
    )
    rows = first_per_class(labels, 1)
    perm = pixel_permutation(1024, 1)
    # a pixel's three channels move together
    expected = images[rows].reshape(len(rows), 1024, 3)[:, perm, :].reshape(len(rows), -1) / np.float32(255)
    np.testing.assert_array_equal(permuted.X, expected)
    assert sorted(permuted.y.tolist()) == sorted(set(labels.tolist()))


def test_cifar_rejects_missing_members_and_corrupt_archives(tmp_path):
    archive = tmp_path / "a.tar.gz"
    make_cifar_archive(archive, members={"cifar-10-batches-py/data_batch_3": None})
    with pytest.raises(DataError, match=rf"^{archive}: missing cifar-10-batches-py/data_batch_3$"):
        read_cifar10(archive, "train")
    assert read_cifar10(archive, "test")[0].shape == (4, 32, 32, 3)

    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=rf"^{archive}: corrupt or truncated archive"):
        read_cifar10(archive, "train")

    wrong = cifar_batch(np.zeros((2, 100), np.uint8), [0, 1])
    make_cifar_archive(archive, members={"cifar-10-batches-py/test_batch": wrong})
    with pytest.raises(DataError, match=r"expected uint8 data of shape \(n, 3072\)"):
        read_cifar10(archive, "test")


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo should-not-run",))


def test_cifar_pickles_cannot_run_code(tmp_path):
    archive = tmp_path / "a.tar.gz"
    make_cifar_archive(
        archive, members={"cifar-10-batches-py/test_batch": pickle.dumps(_Exploit(), protocol=2)}
    )
    with pytest.raises(DataError, match="refusing to load"):
        read_cifar10(archive, "test")


def test_full_size_mnist_loads_without_float64_copies(tmp_path):
    """60000 x 784 images: 188 MB as float32 plus the 47 MB of uint8 they are read into."""
    import tracemalloc

    images = np.zeros((60000, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 200
    write_idx_gz(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx_gz(tmp_path / "train-labels-idx1-ubyte.gz", (np.arange(60000) % 10).astype(np.uint8))
    del images
    tracemalloc.start()
    try:
        data = load_dataset("mnist", data_dir=str(tmp_path), sha256=_no_checks(*ALL_MNIST), download=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data.X.shape == (60000, 784) and data.X.dtype == np.float32
    assert data.X[0, 10 * 28 + 10] == np.float32(200 / 255)
    assert peak < 250e6
