"""The imdb loader on small imdb.npz files written in Keras's format (object arrays of lists)."""

from collections import Counter

import numpy as np
import pytest
from data_files import make_imdb_file, ragged, sha256

from perceptron_lab.data import DATASETS, load_dataset
from perceptron_lab.data import imdb as imdb_module
from perceptron_lab.data.download import RemoteFiles
from perceptron_lab.data.imdb import IMDB_FILE, bag_of_words
from perceptron_lab.errors import DataError, UserError


def publish(monkeypatch, path):
    """Make `path`'s SHA-256 the published one, as the real file's is."""
    source = imdb_module.IMDB
    monkeypatch.setattr(
        imdb_module, "IMDB", RemoteFiles(source.name, source.base_url, {IMDB_FILE: sha256(path)})
    )


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """(folder holding a published imdb.npz, its reviews and labels per split)."""
    folder = tmp_path / "imdb"
    splits = make_imdb_file(folder / IMDB_FILE)
    publish(monkeypatch, folder / IMDB_FILE)
    return folder, splits


def expected_matrix(reviews, num_words, counts=True):
    """The bag of words computed one review at a time."""
    X = np.zeros((len(reviews), num_words), dtype=np.float32)
    for i, review in enumerate(reviews):
        for rank, n in Counter(review).items():
            if rank <= num_words:
                X[i, rank - 1] = n if counts else 1
    return X


def test_bag_of_words_by_hand():
    reviews = [[1, 3, 3, 7], [2], [], [5, 5, 5, 1]]
    counts = bag_of_words(reviews, num_words=5)
    # rank r is column r - 1; rank 7 is rarer than the 5 kept and is dropped
    by_hand = [[1, 0, 2, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 3]]
    np.testing.assert_array_equal(counts, np.array(by_hand, dtype=np.float32))
    assert counts.dtype == np.float32
    presence = bag_of_words(reviews, num_words=5, counts=False)
    np.testing.assert_array_equal(presence, np.minimum(np.array(by_hand), 1))
    np.testing.assert_array_equal(bag_of_words(reviews, num_words=2), [[1, 0], [0, 1], [0, 0], [1, 0]])


def test_bag_of_words_rejects_rank_zero():
    with pytest.raises(ValueError, match="word rank 0"):
        bag_of_words([[1, 0]], num_words=3)


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("counts", [True, False])
def test_loader_counts_each_split(stand_in, split, counts):
    folder, splits = stand_in
    reviews, labels = splits[split]
    data = load_dataset("imdb", split=split, num_words=25, counts=counts, data_dir=str(folder))
    assert data.X.shape == (len(reviews), 25) and data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X, expected_matrix(reviews, 25, counts))
    np.testing.assert_array_equal(data.y, labels)
    assert data.task == "classification" and data.classes == ["negative", "positive"]
    assert data.feature_names[:2] == ["word_1", "word_2"] and data.feature_names[-1] == "word_25"
    assert data.meta["split"] == split and data.meta["num_words"] == 25


def test_rarer_words_are_dropped(stand_in):
    folder, splits = stand_in
    reviews = splits["train"][0]
    small = load_dataset("imdb", num_words=3, data_dir=str(folder))
    kept = [sum(1 for r in review if r <= 3) for review in reviews]
    np.testing.assert_array_equal(small.X.sum(axis=1), kept)
    assert sum(kept) < sum(map(len, reviews))  # the file does hold rarer words


def test_subset_keeps_the_first_reviews_of_each_class(stand_in):
    folder, splits = stand_in
    reviews, labels = splits["train"]
    data = load_dataset("imdb", num_words=60, subset=3, data_dir=str(folder))
    rows = [i for c in (0, 1) for i in np.flatnonzero(labels == c)[:3]]
    rows.sort()
    np.testing.assert_array_equal(data.y, labels[rows])
    np.testing.assert_array_equal(data.X, expected_matrix([reviews[i] for i in rows], 60))


def test_download_through_the_mirror_then_cache(file_server, monkeypatch, isolated_cache):
    path = file_server.root / "imdb" / IMDB_FILE
    make_imdb_file(path)
    publish(monkeypatch, path)
    monkeypatch.setenv("PERCEPTRON_LAB_MIRROR", file_server.url)
    first = load_dataset("imdb", split="test", num_words=10)
    assert file_server.requests == ["/imdb/imdb.npz"]
    assert (isolated_cache / "imdb" / IMDB_FILE).read_bytes() == path.read_bytes()
    again = load_dataset("imdb", split="test", num_words=10)
    assert file_server.requests == ["/imdb/imdb.npz"]
    np.testing.assert_array_equal(first.X, again.X)


def test_a_corrupt_file_is_rejected_by_name(stand_in):
    folder, _ = stand_in
    path = folder / IMDB_FILE
    path.write_bytes(path.read_bytes()[:-10] + bytes(10))
    with pytest.raises(DataError, match="SHA-256 mismatch") as error:
        load_dataset("imdb", data_dir=str(folder))
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x_train": ragged([[1]]), "y_train": np.array([0])}, "no array x_test, y_test"),
        ({"x_test": ragged([[1], [2]]), "y_test": np.array([0])}, r"are not one review per label"),
        ({"x_test": ragged([[1], [2]]), "y_test": np.array([0, 2])}, "labels other than 0 and 1"),
        ({"x_test": ragged([[1], [0]]), "y_test": np.array([0, 1])}, "word rank 0"),
        ({"x_test": ragged([[1], ["a"]]), "y_test": np.array([0, 1])}, "is not lists of word ranks"),
    ],
)
def test_a_file_of_the_wrong_shape_is_one_line_naming_it(tmp_path, monkeypatch, arrays, message):
    path = tmp_path / IMDB_FILE
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    publish(monkeypatch, path)
    with pytest.raises(DataError, match=message) as error:
        load_dataset("imdb", split="test", data_dir=str(tmp_path))
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_a_file_that_is_not_npz_is_one_line_naming_it(tmp_path, monkeypatch):
    path = tmp_path / IMDB_FILE
    path.write_bytes(b"not a zip archive")
    publish(monkeypatch, path)
    with pytest.raises(DataError, match="not a readable imdb.npz") as error:
        load_dataset("imdb", data_dir=str(tmp_path))
    assert str(error.value).startswith(str(path))


class Planted:
    """Unpickling it creates a file: proof that a pickle was run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_unverified_file_is_never_unpickled(tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    planted = np.empty(1, dtype=object)
    planted[0] = Planted(marker)
    path = tmp_path / "mine" / IMDB_FILE
    path.parent.mkdir()
    with open(path, "wb") as handle:
        np.savez(handle, x_train=planted, y_train=np.array([0]))
    calls = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(k.get("allow_pickle")) or real_load(*a, **k))
    for skip in ({IMDB_FILE: None}, {IMDB_FILE: sha256(path)}):  # no check, or the user's own sum
        with pytest.raises(DataError, match="pickled Python objects") as error:
            load_dataset("imdb", data_dir=str(path.parent), sha256=skip)
        assert str(error.value).startswith(str(path))
    assert calls == [False, False]
    assert not marker.exists()


def test_the_published_file_is_the_only_one_unpickled(stand_in, monkeypatch):
    folder, _ = stand_in
    calls = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(k.get("allow_pickle")) or real_load(*a, **k))
    load_dataset("imdb", data_dir=str(folder), num_words=5)
    assert calls == [True]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"num_words": 0}, "num_words"),
        ({"split": "validation"}, "split"),
        ({"counts": "maybe"}, "counts"),
        ({"words": 10}, "words"),
    ],
)
def test_bad_params_are_user_errors(params, message):
    with pytest.raises(UserError, match=message):
        load_dataset("imdb", download=False, **params)


def test_registry_entry_describes_the_params():
    entry = DATASETS["imdb"]
    assert entry.task == "classification"
    fields = entry.params.model_fields
    assert fields["num_words"].default == 5000 and fields["counts"].default is True
    assert all(field.description for field in fields.values())


def test_num_words_gives_the_input_shape_before_loading(tmp_path):
    """No file anywhere: the network's shapes are still checked from num_words."""
    from perceptron_lab.config import load_config
    from perceptron_lab.errors import ConfigError
    from perceptron_lab.experiment.specs import static_input_shape

    path = tmp_path / "imdb.yaml"
    layers = "[{dense: {units: 4}}, {concatenate: {inputs: [input, dense]}}, {dense: {units: 1, activation: sigmoid}}]"
    path.write_text(
        f"dataset: {{name: imdb, num_words: 300}}\narchitecture: {layers}\nloss: binary_crossentropy\n"
    )
    assert static_input_shape(load_config(path)) == (300,)
    path.write_text(f"dataset: {{name: imdb, num_words: 300}}\narchitecture: [{{input: 200}}, {layers[1:]}\n")
    with pytest.raises(ConfigError, match="holds 200 values, the dataset has 300 features"):
        load_config(path)
