"""scikit-learn's bundled sets and generators, through the registry."""

import numpy as np
import pytest
from sklearn import datasets as sk

from perceptron_lab.data import load_dataset
from perceptron_lab.errors import UserError


@pytest.mark.parametrize(
    "name,loader,shape,n_classes",
    [
        ("iris", sk.load_iris, (150, 4), 3),
        ("digits", sk.load_digits, (1797, 64), 10),
        ("breast_cancer", sk.load_breast_cancer, (569, 30), 2),
        ("wine", sk.load_wine, (178, 13), 3),
    ],
)
def test_bundled_classification_sets_match_scikit_learn(name, loader, shape, n_classes):
    data = load_dataset(name)
    bunch = loader()
    assert data.task == "classification"
    assert data.X.shape == shape and data.X.dtype == np.float32
    assert data.y.shape == (shape[0],) and data.y.dtype == np.int64
    np.testing.assert_array_equal(data.X, bunch.data.astype(np.float32))
    np.testing.assert_array_equal(data.y, bunch.target)
    assert data.classes == [str(c) for c in bunch.target_names]
    assert data.n_outputs == n_classes
    assert data.feature_names == [str(f) for f in bunch.feature_names]


def test_optdigits_knows_its_image_shape():
    assert load_dataset("digits").meta["image_shape"] == (8, 8)


def test_diabetes_is_a_one_target_regression():
    data = load_dataset("diabetes")
    assert data.task == "regression"
    assert data.X.shape == (442, 10) and data.y.shape == (442, 1)
    np.testing.assert_array_equal(data.y[:, 0], sk.load_diabetes().target)
    raw = load_dataset("diabetes", scaled=False)
    np.testing.assert_array_equal(raw.X, sk.load_diabetes(scaled=False).data.astype(np.float32))


def test_generators_pass_their_parameters_to_scikit_learn():
    moons = load_dataset("moons", n_samples=60, noise=0.2, random_state=3)
    X, y = sk.make_moons(n_samples=60, noise=0.2, random_state=3)
    np.testing.assert_array_equal(moons.X, X.astype(np.float32))
    np.testing.assert_array_equal(moons.y, y)

    circles = load_dataset("circles", n_samples=40, noise=0.1, factor=0.3, random_state=1)
    X, y = sk.make_circles(n_samples=40, noise=0.1, factor=0.3, random_state=1)
    np.testing.assert_array_equal(circles.X, X.astype(np.float32))
    assert circles.classes == ["outer", "inner"]
    # make_circles labels the outer circle 0: its points lie farther from the origin.
    radius = np.linalg.norm(circles.X, axis=1)
    assert radius[circles.y == 0].mean() > radius[circles.y == 1].mean()

    blobs = load_dataset("blobs", n_samples=90, n_features=4, centers=5, cluster_std=0.5, random_state=2)
    X, y = sk.make_blobs(n_samples=90, n_features=4, centers=5, cluster_std=0.5, random_state=2)
    np.testing.assert_array_equal(blobs.X, X.astype(np.float32))
    assert blobs.X.shape == (90, 4) and blobs.classes == ["0", "1", "2", "3", "4"]


def test_generators_are_reproducible_by_default():
    np.testing.assert_array_equal(load_dataset("moons").X, load_dataset("moons").X)


def test_bundled_sets_take_no_parameters():
    with pytest.raises(UserError, match="n_samples"):
        load_dataset("iris", n_samples=3)
