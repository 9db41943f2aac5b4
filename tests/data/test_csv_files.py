"""CSV datasets: columns, task inference, and errors that name file and line."""

import numpy as np
import pytest

from perceptron_lab.data import load_dataset
from perceptron_lab.errors import DataError, UserError


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "data.csv"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_text_target_is_classification_with_sorted_class_names(write):
    path = write("sepal,petal,species\n1.0,2.0,b\n3.0,4.5,a\n5.0,6.0,b\n")
    data = load_dataset("csv", path=str(path))
    assert data.task == "classification"
    assert data.classes == ["a", "b"]
    assert data.y.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(data.X, np.array([[1, 2], [3, 4.5], [5, 6]], dtype=np.float32))
    assert data.X.dtype == np.float32
    assert data.feature_names == ["sepal", "petal"]
    assert data.meta["source"] == str(path)


def test_integer_classes_sort_numerically(write):
    path = write("x,label\n0.1,10\n0.2,2\n0.3,10\n0.4,-1\n")
    data = load_dataset("csv", path=str(path))
    assert data.task == "classification"
    assert data.classes == ["-1", "2", "10"]
    assert data.y.tolist() == [2, 1, 2, 0]


def test_float_target_is_regression(write):
    path = write("x1,x2,y\n1,2,0.5\n2,3,1.25\n3,4,2.75\n")
    data = load_dataset("csv", path=str(path))
    assert data.task == "regression"
    assert data.y.shape == (3, 1)
    np.testing.assert_array_equal(data.y[:, 0], [0.5, 1.25, 2.75])


def test_many_distinct_integers_are_regression(write):
    rows = "\n".join(f"{i},{i * 7}" for i in range(30))
    data = load_dataset("csv", path=str(write("x,y\n" + rows + "\n")))
    assert data.task == "regression"


def test_target_features_and_task_can_be_chosen(write):
    path = write("y,a,b,c\n1,10,20,30\n0,11,21,31\n")
    data = load_dataset("csv", path=str(path), target="y", features=["c", "a"], task="regression")
    assert data.task == "regression"
    assert data.feature_names == ["c", "a"]
    np.testing.assert_array_equal(data.X, [[30, 10], [31, 11]])
    np.testing.assert_array_equal(data.y[:, 0], [1, 0])


def test_several_targets_make_a_multi_output_regression(write):
    path = write("a,t1,t2\n1,0.5,5\n2,1.5,6\n")
    data = load_dataset("csv", path=str(path), target=["t1", "t2"])
    assert data.task == "regression" and data.y.shape == (2, 2) and data.n_outputs == 2


def test_other_delimiters(write):
    data = load_dataset("csv", path=str(write("a;b;y\n1;2;x\n3;4;z\n")), delimiter=";")
    assert data.X.shape == (2, 2) and data.classes == ["x", "z"]


def test_ragged_row_names_file_and_line(write):
    path = write("a,b,y\n1,2,3\n\n4,5,6\n7,8,9,10\n")
    with pytest.raises(DataError) as error:
        load_dataset("csv", path=str(path))
    assert str(error.value) == f"{path}:5: expected 3 fields, saw 4"
    assert isinstance(error.value, UserError)


def test_short_row_is_a_missing_value_on_its_line(write):
    path = write("a,b,y\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=rf"^{path}:3: missing value in column 'y'$"):
        load_dataset("csv", path=str(path), task="regression")
    path = write("a,b,y\n1,,0\n", "b.csv")
    with pytest.raises(DataError, match=rf"^{path}:2: missing value in column 'b'$"):
        load_dataset("csv", path=str(path))


def test_non_numeric_feature_names_its_line_counting_blank_lines(write):
    path = write("a,b,y\n1,2,0\n\n3,4,1\n5,six,0\n")
    with pytest.raises(DataError, match=rf"^{path}:5: column 'b' has non-numeric value 'six'$"):
        load_dataset("csv", path=str(path))


def test_missing_file_unknown_column_and_empty_file(write, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=rf"^{missing}: no such CSV file$"):
        load_dataset("csv", path=str(missing))
    path = write("a,b,y\n1,2,3\n")
    with pytest.raises(DataError, match=rf"^{path}:1: no column 'z' \(columns: a, b, y\)$"):
        load_dataset("csv", path=str(path), target="z")
    with pytest.raises(DataError, match="no column 'q'"):
        load_dataset("csv", path=str(path), features=["a", "q"])
    with pytest.raises(DataError, match="empty"):
        load_dataset("csv", path=str(write("", "empty.csv")))


def test_classification_needs_one_target(write):
    path = write("a,t1,t2\n1,0,1\n2,1,0\n")
    with pytest.raises(DataError, match="one target column"):
        load_dataset("csv", path=str(path), target=["t1", "t2"], task="classification")
