"""Bitmap text files: both row styles, comments, labels, and file:line errors."""

import numpy as np
import pytest

from perceptron_lab.data import load_dataset
from perceptron_lab.data.bitmap import read_bitmaps
from perceptron_lab.errors import DataError

GOOD = """\
# two 3x2 bitmaps
10
01
11


# the second one, spaced
0 0
1 1
0 1
"""


@pytest.fixture
def bitmap(tmp_path):
    def write(text: str):
        path = tmp_path / "shapes.txt"
        path.write_text(text)
        return path

    return write


def test_reads_both_row_styles_with_comments_and_blank_lines(bitmap):
    images = read_bitmaps(bitmap(GOOD), rows=3, cols=2)
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images, [[[1, 0], [0, 1], [1, 1]], [[0, 0], [1, 1], [0, 1]]])


def test_loader_default_labels_are_block_indices(bitmap):
    data = load_dataset("bitmap", path=str(bitmap(GOOD)), rows=3, cols=2)
    assert data.task == "classification"
    assert data.X.shape == (2, 6) and data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X[0], [1, 0, 0, 1, 1, 1])
    assert data.classes == ["0", "1"] and data.y.tolist() == [0, 1]
    assert data.meta["image_shape"] == (3, 2)


def test_labels_name_the_classes_in_order_of_appearance(bitmap):
    path = bitmap(GOOD + "\n11\n11\n11\n")
    data = load_dataset(
        "bitmap", path=str(path), rows=3, cols=2, labels=["cross", 7, "cross"], encoding="bipolar"
    )
    assert data.classes == ["cross", "7"]
    assert data.y.tolist() == [0, 1, 0]
    assert set(np.unique(data.X)) == {-1.0, 1.0}


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("10\n011\n11\n", 2, "row has 3 values, expected cols=2"),
        ("10\n0 1 1\n11\n", 2, "row has 3 values, expected cols=2"),
        ("10\n01\n1x\n", 3, "'x' at column 2; only 0 and 1 are allowed"),
        ("10\n01\n1 2\n", 3, "'2' at column 2; only 0 and 1 are allowed"),
        ("10\n01\n11\n\n# next\n10\n01\n", 6, "block starting here has 2 rows, expected rows=3"),
        ("10\n01\n11\n00\n", 4, "block starting at line 1 has more than rows=3 rows"),
    ],
)
def test_malformed_files_name_file_and_line(bitmap, text, line, message):
    path = bitmap(text)
    with pytest.raises(DataError) as error:
        read_bitmaps(path, rows=3, cols=2)
    assert str(error.value).startswith(f"{path}:{line}: {message}")


def test_label_count_mismatch_missing_and_empty_files(bitmap, tmp_path):
    path = bitmap(GOOD)
    with pytest.raises(DataError, match=rf"^{path}: 3 labels given for 2 bitmaps$"):
        load_dataset("bitmap", path=str(path), rows=3, cols=2, labels=["a", "b", "c"])
    with pytest.raises(DataError, match="no such bitmap file"):
        read_bitmaps(tmp_path / "missing.txt", 3, 2)
    with pytest.raises(DataError, match="no bitmaps found"):
        read_bitmaps(bitmap("# only a comment\n\n"), 3, 2)
