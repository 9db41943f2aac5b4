import numpy as np
import pytest

from perceptron_lab.nn import INITIALIZERS, get_initializer

FAN_IN, FAN_OUT = 400, 300


def _draw(spec, seed=0):
    return get_initializer(spec)((FAN_IN, FAN_OUT), FAN_IN, FAN_OUT, np.random.default_rng(seed))


@pytest.mark.parametrize(
    "spec, std",
    [
        ("glorot_uniform", np.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("glorot_normal", np.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_uniform", np.sqrt(2 / FAN_IN)),
        ("he_normal", np.sqrt(2 / FAN_IN)),
        ("lecun_normal", np.sqrt(1 / FAN_IN)),
        ({"name": "normal", "std": 0.3}, 0.3),
        ({"name": "uniform", "low": -0.6, "high": 0.6}, 0.6 / np.sqrt(3)),
    ],
    ids=str,
)
def test_scale(spec, std):
    w = _draw(spec)
    assert abs(w.mean()) < 4 * std / np.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.02)


def test_uniform_limits():
    limit = np.sqrt(6 / (FAN_IN + FAN_OUT))
    w = _draw("xavier_uniform")
    assert w.max() <= limit and w.min() >= -limit and w.max() > 0.99 * limit
    w = _draw({"name": "uniform", "low": 0.2, "high": 0.5})
    assert w.min() >= 0.2 and w.max() < 0.5


def test_constant_zeros_orthogonal():
    assert not _draw("zeros").any()
    assert (_draw({"name": "constant", "value": 0.25}) == 0.25).all()
    q = get_initializer({"name": "orthogonal", "gain": 2.0})((40, 30), 40, 30, np.random.default_rng(0))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(30), atol=1e-10)  # orthonormal columns times gain
    wide = get_initializer("orthogonal")((3, 5), 3, 5, np.random.default_rng(0))
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-12)


def test_aliases_and_reproducibility():
    for alias, name in [
        ("xavier_uniform", "glorot_uniform"),
        ("xavier_normal", "glorot_normal"),
        ("kaiming_uniform", "he_uniform"),
        ("kaiming_normal", "he_normal"),
    ]:
        assert INITIALIZERS[alias] is INITIALIZERS[name]
    np.testing.assert_array_equal(_draw("he_normal", seed=3), _draw("he_normal", seed=3))
    assert not np.array_equal(_draw("he_normal", seed=3), _draw("he_normal", seed=4))
    assert get_initializer({"name": "uniform", "low": -1, "high": 1}).get_config() == {
        "name": "uniform",
        "low": -1.0,
        "high": 1.0,
    }
