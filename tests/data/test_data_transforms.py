"""Scalers (scikit-learn's, plus mean-image subtraction) and noisy copies."""

import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from perceptron_lab.data import MeanImageSubtraction, add_noise, make_scaler

X = np.array([[0.0, 10.0, 5.0], [2.0, 30.0, 5.0], [4.0, 20.0, 5.0]], dtype=np.float32)


def test_make_scaler_builds_the_named_transformers():
    assert isinstance(make_scaler("none"), FunctionTransformer)
    assert make_scaler("minmax").feature_range == (-1, 1)
    assert make_scaler("minmax01").feature_range == (0, 1)
    assert isinstance(make_scaler("standard"), StandardScaler)
    assert isinstance(make_scaler("mean_image"), MeanImageSubtraction)
    with pytest.raises(ValueError, match="unknown scaler 'zscore'"):
        make_scaler("zscore")


def test_minmax_maps_each_column_onto_minus_one_one():
    out = make_scaler("minmax").fit_transform(X)
    # column 0: 0, 2, 4 -> -1, 0, 1; column 1: 10, 30, 20 -> -1, 1, 0; constant column 2 -> -1
    np.testing.assert_allclose(out, [[-1, -1, -1], [0, 1, -1], [1, 0, -1]])
    assert out.dtype == np.float32


def test_every_scaler_round_trips():
    for kind in ("none", "minmax", "minmax01", "standard", "mean_image"):
        scaler = make_scaler(kind).fit(X)
        np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-6, err_msg=kind)


def test_mean_image_is_fitted_on_training_rows_only():
    train = np.array([[1.0, 2.0], [3.0, 6.0]])
    test = np.array([[10.0, 10.0]])
    scaler = MeanImageSubtraction().fit(train)
    np.testing.assert_array_equal(scaler.mean_, [2.0, 4.0])
    np.testing.assert_array_equal(scaler.transform(test), [[8.0, 6.0]])
    np.testing.assert_array_equal(scaler.transform(train), [[-1.0, -2.0], [1.0, 2.0]])
    np.testing.assert_array_equal(scaler.inverse_transform([[8.0, 6.0]]), test)
    with pytest.raises(ValueError, match="3 features"):
        scaler.transform(np.ones((1, 3)))


def test_mean_image_keeps_float32_and_centres_each_pixel():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 12)).astype(np.float32) / 255
    out = MeanImageSubtraction().fit_transform(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-6)
    # unlike standardization, the spread of each pixel is untouched
    np.testing.assert_allclose(out.std(axis=0), images.std(axis=0), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_mean_image_passes_scikit_learn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(MeanImageSubtraction())


def test_add_noise_shapes_and_source_rows():
    base = np.arange(6, dtype=np.float32).reshape(3, 2)
    noisy, source = add_noise(base, 0.5, copies=4, rng=0)
    assert noisy.shape == (12, 2) and noisy.dtype == np.float32
    assert source.tolist() == [0, 1, 2] * 4
    clean, source = add_noise(base, 0.0, copies=2, rng=0)
    np.testing.assert_array_equal(clean, base[source])


def test_add_noise_is_gaussian_with_std_alpha_and_fresh_per_copy():
    base = np.zeros((200, 50))
    noisy, source = add_noise(base, 0.3, copies=3, rng=np.random.default_rng(1))
    noise = noisy - base[source]
    assert noise.std() == pytest.approx(0.3, rel=0.02)
    assert abs(noise.mean()) < 0.01
    assert not np.array_equal(noisy[:200], noisy[200:400])


def test_add_noise_is_reproducible_and_dtype_independent():
    base = np.random.default_rng(5).random((10, 4))
    a, _ = add_noise(base, 0.2, 2, rng=7)
    b, _ = add_noise(base, 0.2, 2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    c, _ = add_noise(base.astype(np.float32), 0.2, 2, rng=7)
    np.testing.assert_allclose(c, a, atol=1e-6)
    integers, _ = add_noise(np.ones((2, 2), dtype=np.uint8), 0.1, 1, rng=0)
    assert integers.dtype == np.float64


def test_add_noise_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        add_noise(X, -0.1, 1, 0)
    with pytest.raises(ValueError, match="copies"):
        add_noise(X, 0.1, 0, 0)
