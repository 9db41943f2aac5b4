"""Download, cache, checksum and lookup order, against a local HTTP server (never the internet)."""

import http.server
import threading

import numpy as np
import pytest
from data_files import make_cifar_archive, make_mnist_files, sha256

from perceptron_lab.data import download, download_progress, load_dataset
from perceptron_lab.data.download import RemoteFiles, cache_dir, fetch_files, search_dirs
from perceptron_lab.data.images import MNIST
from perceptron_lab.errors import DataError

TRAIN = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


@pytest.fixture
def mnist_mirror(file_server, monkeypatch):
    """The server holds mirror/mnist/<files>; returns (server, {file: sha256})."""
    folder = file_server.root / "mnist"
    make_mnist_files(folder)
    monkeypatch.setenv("PERCEPTRON_LAB_MIRROR", file_server.url)
    sums = {p.name: sha256(p) for p in folder.iterdir()}
    return file_server, sums


def test_cache_dir_follows_xdg(isolated_cache, monkeypatch, tmp_path):
    assert cache_dir("mnist") == isolated_cache / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "perceptron_lab"


def test_download_then_cache_then_offline(mnist_mirror, isolated_cache):
    server, sums = mnist_mirror
    seen = []
    with download_progress(lambda name, done, total: seen.append((name, done, total))):
        data = load_dataset("mnist", sha256=sums)
    assert data.X.shape == (30, 784)
    assert sorted(server.requests) == sorted(f"/mnist/{name}" for name in TRAIN)
    for name in TRAIN:
        cached = isolated_cache / "mnist" / name
        assert cached.is_file() and sha256(cached) == sums[name]
    assert not [p for p in (isolated_cache / "mnist").iterdir() if p.name.startswith(".")]  # no temp files
    size = (isolated_cache / "mnist" / TRAIN[0]).stat().st_size
    assert (TRAIN[0], size, size) in seen and (TRAIN[0], 0, size) in seen

    server.stop()
    again = load_dataset("mnist", sha256=sums)
    np.testing.assert_array_equal(again.X, data.X)
    assert len(server.requests) == 2


def test_checksum_mismatch_saves_nothing(mnist_mirror, isolated_cache):
    _, sums = mnist_mirror
    wrong = {**sums, TRAIN[0]: "0" * 64}
    with pytest.raises(DataError) as error:
        load_dataset("mnist", sha256=wrong)
    message = str(error.value)
    assert "SHA-256 mismatch" in message and TRAIN[0] in message
    assert not (isolated_cache / "mnist" / TRAIN[0]).exists()
    assert not [p for p in (isolated_cache / "mnist").iterdir() if p.name.startswith(".")]


def test_published_sums_guard_the_default_path(mnist_mirror, isolated_cache):
    # The generated files are not the real MNIST, so the built-in table must reject them.
    with pytest.raises(DataError, match=f"expected {MNIST.sha256[TRAIN[0]]}"):
        load_dataset("mnist")
    assert not (isolated_cache / "mnist" / TRAIN[0]).exists()


def test_offline_names_the_files_and_where_to_put_them(mnist_mirror, isolated_cache):
    server, sums = mnist_mirror
    server.stop()
    with pytest.raises(DataError) as error:
        load_dataset("mnist", sha256=sums)
    message = str(error.value)
    assert "cannot download" in message
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in message
    assert str(isolated_cache / "mnist") in message
    assert "\n" not in message


def test_download_off_lists_missing_files(isolated_cache):
    with pytest.raises(DataError) as error:
        load_dataset("mnist", split="test", download=False)
    message = str(error.value)
    assert "missing t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz" in message
    assert f"place them in {isolated_cache / 'mnist'}" in message


def test_a_corrupted_cached_file_is_rejected_by_name(mnist_mirror, isolated_cache):
    _, sums = mnist_mirror
    load_dataset("mnist", sha256=sums)
    cached = isolated_cache / "mnist" / TRAIN[1]
    cached.write_bytes(cached.read_bytes()[:-5])
    with pytest.raises(DataError, match=rf"^{cached}: SHA-256 mismatch"):
        load_dataset("mnist", sha256=sums)


def test_lookup_order_data_dir_then_env_then_cache(tmp_path, monkeypatch, isolated_cache):
    env_root = tmp_path / "shared"
    monkeypatch.setenv("PERCEPTRON_LAB_DATA", str(env_root))
    assert search_dirs("mnist", None) == [env_root / "mnist", isolated_cache / "mnist"]
    assert search_dirs("mnist", tmp_path / "mine") == [tmp_path / "mine", isolated_cache / "mnist"]

    make_mnist_files(env_root / "mnist", n_train=10, seed=1)
    make_mnist_files(isolated_cache / "mnist", n_train=20, seed=2)
    checks = {name: None for name in TRAIN}
    assert load_dataset("mnist", sha256=checks, download=False).n_samples == 10
    make_mnist_files(tmp_path / "mine", n_train=30, seed=3)
    assert (
        load_dataset("mnist", data_dir=str(tmp_path / "mine"), sha256=checks, download=False).n_samples == 30
    )
    monkeypatch.delenv("PERCEPTRON_LAB_DATA")
    assert load_dataset("mnist", sha256=checks, download=False).n_samples == 20


def test_cifar_download_through_the_mirror(file_server, monkeypatch, isolated_cache):
    archive = file_server.root / "cifar10" / "cifar-10-python.tar.gz"
    make_cifar_archive(archive, per_batch=2)
    monkeypatch.setenv("PERCEPTRON_LAB_MIRROR", file_server.url + "/")
    data = load_dataset("cifar10", split="test", sha256={archive.name: sha256(archive)})
    assert data.X.shape == (2, 3072)
    assert file_server.requests == ["/cifar10/cifar-10-python.tar.gz"]


class _ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10, then closes: a truncated download."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 10)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_truncated_download_leaves_nothing(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortBodyHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        dest = tmp_path / "out" / "file.bin"
        with pytest.raises(DataError, match="cannot download"):
            download(f"http://127.0.0.1:{httpd.server_address[1]}/file.bin", dest)
        assert list(dest.parent.iterdir()) == []
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_replaces_atomically_and_verifies(file_server, tmp_path):
    (file_server.root / "f.bin").write_bytes(b"new contents")
    dest = tmp_path / "d" / "f.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        download(file_server.url + "/f.bin", dest, sha256="ab" * 32)
    assert dest.read_bytes() == b"old"
    good = sha256(file_server.root / "f.bin")
    assert download(file_server.url + "/f.bin", dest, sha256=good) == dest
    assert dest.read_bytes() == b"new contents"
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]


def test_missing_file_on_the_server(file_server, monkeypatch):
    monkeypatch.setenv("PERCEPTRON_LAB_MIRROR", file_server.url)
    source = RemoteFiles("nothing", "http://unused.invalid/", {})
    with pytest.raises(
        DataError, match=r"cannot download http://127\.0\.0\.1:\d+/nothing/a\.bin \(HTTP 404 "
    ):
        fetch_files(source, ["a.bin"])


def test_unwritable_cache_is_a_data_error(mnist_mirror, tmp_path, monkeypatch):
    _, sums = mnist_mirror
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DataError, match=rf"cannot write {blocker}/perceptron_lab/mnist/"):
        load_dataset("mnist", sha256=sums)


def test_stale_part_files_are_removed_and_live_ones_kept(file_server, tmp_path):
    import fcntl
    import os

    from perceptron_lab.data.download import remove_stale_parts

    (file_server.root / "f.bin").write_bytes(b"contents")
    folder = tmp_path / "cache"
    folder.mkdir()
    dest = folder / "f.bin"
    stale = folder / ".f.bin.abc123.part"  # what a killed download leaves
    stale.write_bytes(b"half")
    live = folder / ".f.bin.def456.part"
    live.write_bytes(b"in progress")
    old = os.stat(stale).st_mtime - 60
    for part in (stale, live):
        os.utime(part, (old, old))
    other = folder / ".g.bin.abc123.part"
    other.write_bytes(b"another file's")
    with open(live, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert remove_stale_parts(dest) == [stale]
        download(file_server.url + "/f.bin", dest, sha256=sha256(file_server.root / "f.bin"))
    assert sorted(p.name for p in folder.iterdir()) == sorted(["f.bin", live.name, other.name])


def test_own_files_mismatch_says_how_to_use_them(tmp_path, isolated_cache):
    own = tmp_path / "own"
    make_mnist_files(own, n_train=12, seed=5)  # a re-export: not the published bytes
    with pytest.raises(DataError) as error:
        load_dataset("mnist", data_dir=str(own), download=False)
    message = str(error.value)
    assert "SHA-256 mismatch" in message and "delete it" in message
    name = next(n for n in TRAIN if f"sha256: {{{n}: null}}" in message)
    assert name in TRAIN
    data = load_dataset("mnist", data_dir=str(own), download=False, sha256={n: None for n in TRAIN})
    assert data.X.shape[0] == 12


def test_every_download_address_is_https():
    from perceptron_lab.data.images import CIFAR10, FASHION_MNIST

    for source in (MNIST, FASHION_MNIST, CIFAR10):
        assert source.base_url.startswith("https://"), source.name
