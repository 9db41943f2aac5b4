"""Gates, 5x7 digits, logistic map and the ej2 regression set."""

import numpy as np
import pytest
from ej2_regression_source import PACKAGED, generate

from perceptron_lab.data import DATASETS, Dataset, load_dataset
from perceptron_lab.errors import DataError, UserError


def test_importing_the_package_registers_every_loader():
    expected = {
        "gates",
        "digits5x7",
        "logistic_map",
        "ej2_regression",
        "iris",
        "digits",
        "breast_cancer",
        "wine",
        "diabetes",
        "moons",
        "circles",
        "blobs",
        "csv",
        "bitmap",
        "mnist",
        "fashion_mnist",
        "cifar10",
    }
    assert expected <= set(DATASETS)
    for entry in DATASETS.values():
        assert entry.description
        assert entry.params.model_config.get("extra") == "forbid"
        for name, field in entry.params.model_fields.items():
            assert field.description, f"{entry.name}.{name} has no description"


# ---------------------------------------------------------------------------------------------
# gates

TRUTH = {  # (a, b) -> output, written out by hand
    "and": {(0, 0): 0, (0, 1): 0, (1, 0): 0, (1, 1): 1},
    "or": {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 1},
    "xor": {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0},
}


@pytest.mark.parametrize("function", ["and", "or", "xor"])
@pytest.mark.parametrize("encoding,low,high", [("bipolar", -1, 1), ("binary", 0, 1)])
def test_gates_truth_tables(function, encoding, low, high):
    data = load_dataset("gates", function=function, encoding=encoding)
    assert data.X.shape == (4, 2) and data.X.dtype == np.float32
    assert data.task == "classification"
    assert data.classes == [str(low), str(high)]
    assert set(np.unique(data.X)) == {low, high}
    for x, label in zip(data.X, data.y):
        a, b = (int(v == high) for v in x)
        assert label == TRUTH[function][(a, b)]
        assert data.classes[label] == str(high if TRUTH[function][(a, b)] else low)


def test_gates_default_is_bipolar_and():
    data = load_dataset("gates")
    assert data.meta == {"function": "and", "encoding": "bipolar"}
    assert data.y.tolist() == [0, 0, 0, 1]


def test_gates_rejects_unknown_function_and_keys():
    with pytest.raises(UserError, match="function"):
        load_dataset("gates", function="nand")
    with pytest.raises(UserError, match="colour"):
        load_dataset("gates", colour="red")


# ---------------------------------------------------------------------------------------------
# digits5x7


def test_digits5x7_are_ten_distinct_7x5_bitmaps():
    data = load_dataset("digits5x7")
    assert data.X.shape == (10, 35) and data.X.dtype == np.float32
    assert data.meta["image_shape"] == (7, 5)
    assert data.y.tolist() == list(range(10))
    assert data.classes == [str(d) for d in range(10)]
    assert set(np.unique(data.X)) == {0.0, 1.0}
    assert len({row.tobytes() for row in data.X}) == 10
    images = data.X.reshape(10, 7, 5)
    # Shapes every 5x7 font shares: a 1 is a vertical stroke through the middle column,
    # an 8 is mirror-symmetric, a 0 is closed by the same three-pixel bar at top and bottom.
    assert images[1][:, 2].all()
    assert (images[8] == images[8][:, ::-1]).all()
    assert images[0][0].tolist() == [0, 1, 1, 1, 0] and images[0][6].tolist() == [0, 1, 1, 1, 0]
    assert all(5 <= image.sum() <= 25 for image in images)


def test_digits5x7_three_is_the_course_round_three():
    three = load_dataset("digits5x7").X.reshape(10, 7, 5)[3].astype(int)
    assert ["".join(map(str, row)) for row in three] == [
        "01110",
        "10001",
        "00001",
        "00110",
        "00001",
        "10001",
        "01110",
    ]


def test_digits5x7_render_as_text_like_the_packaged_font():
    data = load_dataset("digits5x7")
    text = data.X.reshape(10, 7, 5).astype(int)
    from perceptron_lab.data.builtin import packaged_file

    with packaged_file("digits5x7.txt") as path:
        rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(rows) == 70
    assert ["".join(map(str, r)) for image in text for r in image] == rows


def test_digits5x7_parity_and_bipolar():
    data = load_dataset("digits5x7", target="parity", encoding="bipolar")
    assert data.classes == ["even", "odd"]
    assert data.y.tolist() == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert set(np.unique(data.X)) == {-1.0, 1.0}
    binary = load_dataset("digits5x7")
    np.testing.assert_array_equal(data.X, 2 * binary.X - 1)


# ---------------------------------------------------------------------------------------------
# logistic map


def test_logistic_map_follows_the_recursion_exactly():
    data = load_dataset("logistic_map", n_samples=50, x0=0.2)
    series = [0.2]
    for _ in range(50):
        series.append(4 * series[-1] * (1 - series[-1]))
    assert data.task == "regression"
    assert data.X.shape == (50, 1) and data.y.shape == (50, 1)
    np.testing.assert_array_equal(data.y[:, 0], series[1:])
    np.testing.assert_array_equal(data.X[:, 0], np.float32(series[:-1]))


def test_logistic_map_lags_are_previous_values():
    data = load_dataset("logistic_map", n_samples=20, x0=0.3, lags=3)
    assert data.X.shape == (20, 3)
    assert data.feature_names == ["x(t-3)", "x(t-2)", "x(t-1)"]
    # Row t+1's features shift by one: its oldest lag drops out, the new last lag is row t's target.
    np.testing.assert_array_equal(data.X[1:, :2], data.X[:-1, 1:])
    np.testing.assert_array_equal(data.X[1:, 2], data.y[:-1, 0].astype(np.float32))
    x = np.float64(data.X[0, 2])
    assert data.y[0, 0] == pytest.approx(4 * x * (1 - x), abs=1e-6)


@pytest.mark.parametrize("x0", [0.75, 0.5, 0.25])
def test_logistic_map_rejects_starts_that_reach_a_fixed_point(x0):
    with pytest.raises(DataError, match="fixed point"):
        load_dataset("logistic_map", x0=x0)


def test_logistic_map_rejects_x0_outside_the_unit_interval():
    with pytest.raises(UserError, match="x0"):
        load_dataset("logistic_map", x0=1.0)


# ---------------------------------------------------------------------------------------------
# ej2 regression


def test_ej2_regression_is_the_generated_csv():
    assert PACKAGED.read_text() == generate()
    data = load_dataset("ej2_regression")
    assert isinstance(data, Dataset)
    assert data.task == "regression"
    assert data.X.shape == (28, 3) and data.y.shape == (28, 1)
    assert data.feature_names == ["x1", "x2", "x3"]


def test_ej2_regression_follows_its_documented_formula_up_to_noise():
    data = load_dataset("ej2_regression")
    x1, x2, x3 = data.X.astype(np.float64).T
    clean = 2 * np.sin(x1) + 0.5 * x2**2 + 3 * np.log1p(x3)
    residual = data.y[:, 0] - clean
    assert 0.1 < residual.std() < 0.6
    assert abs(residual.mean()) < 0.3
