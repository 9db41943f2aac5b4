"""Optimizers against their formulas, on f(w) = 1/2 sum_i a_i w_i^2 (gradient a * w)."""

import math

import numpy as np
import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.nn import OPTIMIZERS, get_optimizer, kernels, optimizers
from perceptron_lab.nn.optimizers import ADAM_CHUNK

needs_numba = pytest.mark.skipif(not kernels.available(), reason="numba not installed")

A = np.array([1.0, 3.0])
W0 = [1.0, -2.0]


def _run(spec, steps=3, w0=W0):
    opt = get_optimizer(spec)
    w = np.array([w0], dtype=np.float64)  # one replica
    path = []
    for _ in range(steps):
        opt.step(w, A * w)
        path.append(w[0].copy())
    return path


# Hand-computed (lr = 0.1, mu = 0.9).
HAND = {
    "sgd": [[0.9, -1.4], [0.81, -0.98], [0.729, -0.686]],
    "momentum": [[0.9, -1.4], [0.72, -0.44], [0.486, 0.556]],
    "nesterov": [[0.81, -0.86], [0.5751, 0.1162], [0.327321, 0.696346]],
}


@pytest.mark.parametrize("name", list(HAND))
def test_first_three_steps_by_hand(name):
    spec = (
        {"name": name, "learning_rate": 0.1}
        if name == "sgd"
        else {"name": name, "learning_rate": 0.1, "momentum": 0.9}
    )
    np.testing.assert_allclose(_run(spec), HAND[name], rtol=0, atol=1e-12)


def _rmsprop_reference(lr, rho, eps, steps):
    w, s, path = list(W0), [0.0, 0.0], []
    for _ in range(steps):
        for i in range(2):
            g = A[i] * w[i]
            s[i] = rho * s[i] + (1 - rho) * g * g
            w[i] = w[i] - lr * g / (math.sqrt(s[i]) + eps)
        path.append(list(w))
    return path


def _adam_reference(lr, b1, b2, eps, steps):
    w, m, v, path = list(W0), [0.0, 0.0], [0.0, 0.0], []
    for t in range(1, steps + 1):
        for i in range(2):
            g = A[i] * w[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            w[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        path.append(list(w))
    return path


def test_rmsprop_first_three_steps():
    # step 1 by hand: s = 0.1 g^2, so w1 = w0 - 0.1 g / (sqrt(0.1) |g|) = w0 - sqrt(0.1) sign(g)
    path = _run({"name": "rmsprop", "learning_rate": 0.1, "rho": 0.9, "eps": 1e-8})
    np.testing.assert_allclose(path[0], [1 - math.sqrt(0.1), -2 + math.sqrt(0.1)], atol=1e-7)
    np.testing.assert_allclose(path, _rmsprop_reference(0.1, 0.9, 1e-8, 3), rtol=0, atol=1e-12)


def test_adam_first_three_steps_and_defaults():
    opt = get_optimizer("adam")
    assert (opt.beta1, opt.beta2, opt.eps) == (0.9, 0.999, 1e-8)
    path = _run({"name": "adam", "learning_rate": 0.1})
    # step 1 by hand: m_hat = g, v_hat = g^2, so w1 = w0 - 0.1 sign(g)
    np.testing.assert_allclose(path[0], [0.9, -1.9], atol=1e-8)
    np.testing.assert_allclose(path, _adam_reference(0.1, 0.9, 0.999, 1e-8, 3), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_idle_replicas_are_untouched(name, kernel_mode):
    """A replica masked out of a step keeps params and state; later it continues as if alone."""
    opt = get_optimizer({"name": name, "learning_rate": 0.05})
    w = np.array([W0, W0, W0], dtype=np.float64)
    pattern = [[True, True, False], [True, False, False], [True, True, True], [False, True, True]]
    for active in pattern:
        before = w.copy()
        opt.step(w, A * w, np.array(active))
        idle = ~np.array(active)
        np.testing.assert_array_equal(w[idle], before[idle])
    np.testing.assert_array_equal(opt.steps, [3, 3, 2])
    for r in range(3):
        alone = _run({"name": name, "learning_rate": 0.05}, steps=sum(a[r] for a in pattern))
        np.testing.assert_allclose(w[r], alone[-1], rtol=0, atol=1e-14)


def test_weight_decay_and_l1_act_on_decay_columns_only():
    w = np.array([[0.5, -2.0, 3.0, 1.0]])
    g = np.array([[0.1, 0.2, -0.3, 0.4]])
    opt = get_optimizer({"name": "sgd", "learning_rate": 0.1, "weight_decay": 0.2, "l1": 0.05})
    opt.prepare(w, decay_columns=[slice(0, 2)])
    expected = w - 0.1 * (g + np.array([[0.2 * 0.5 + 0.05, 0.2 * -2.0 - 0.05, 0, 0]]))
    opt.step(w, g.copy())
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)


def test_float32_state_stays_float32(kernel_mode):
    w = np.ones((2, 5), dtype=np.float32)
    opt = get_optimizer("adam")
    opt.step(w, w * 0.5)
    opt.step(w, w * 0.5, np.array([True, False]))
    opt.step(w, w * 0.5)
    assert w.dtype == np.float32 and all(s.dtype == np.float32 for s in opt._states)


def test_specs_and_configs():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}
    for name in OPTIMIZERS:
        opt = get_optimizer(name)
        assert get_optimizer(opt.get_config()).get_config() == opt.get_config()
    assert get_optimizer("momentum").momentum == 0.9
    with pytest.raises(UserError, match="learning_rate"):
        get_optimizer({"name": "sgd", "learning_rate": 0})
    with pytest.raises(UserError, match="unknown optimizer"):
        get_optimizer("adagrad")


def test_adam_matches_the_textbook_over_steps_with_idle_replicas(kernel_mode):
    """The in-place step against Kingma & Ba's formulas, replica by replica, float64: weights
    and the state (m, v, t) after every step, with replicas that sit steps out (their t does
    not advance, so their bias correction is their own)."""
    rng = np.random.default_rng(5)
    R, P = 3, 7
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6
    opt = get_optimizer({"name": "adam", "learning_rate": lr, "beta1": b1, "beta2": b2, "eps": eps})
    w = rng.standard_normal((R, P))
    ref_w, ref_m, ref_v, ref_t = w.copy(), np.zeros((R, P)), np.zeros((R, P)), np.zeros(R, int)
    pattern = [None, [True, False, True], [False, False, True], None, [True, True, False], None]
    for active in pattern:
        g = rng.standard_normal((R, P)) * rng.choice([1e-3, 1.0, 30.0], size=(R, P))
        mask = np.ones(R, bool) if active is None else np.array(active)
        for r in np.flatnonzero(mask):
            ref_t[r] += 1
            ref_m[r] = b1 * ref_m[r] + (1 - b1) * g[r]
            ref_v[r] = b2 * ref_v[r] + (1 - b2) * g[r] ** 2
            m_hat, v_hat = ref_m[r] / (1 - b1 ** ref_t[r]), ref_v[r] / (1 - b2 ** ref_t[r])
            ref_w[r] -= lr * m_hat / (np.sqrt(v_hat) + eps)
        opt.step(w, g.copy(), None if active is None else mask)
        m, v, t = opt.moments()
        np.testing.assert_allclose(w, ref_w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(m, ref_m, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(v, ref_v, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(t, ref_t)


# -- the compiled Adam step --------------------------------------------------------------------

IDLE_PATTERN = [
    None,
    [True, False, True],
    [False, False, True],
    None,
    [True, True, False],
    [False, True, False],
]


def _adam_path(mode, w0, grads, pattern=IDLE_PATTERN, lanes=None):
    """(w, m, v, t) after stepping from w0 with each gradient, replicas idle as in pattern
    (lanes: the threads the compiled step must have chosen)."""
    with kernels.using(mode):
        opt = get_optimizer({"name": "adam", "learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6})
        w = w0.copy()
        opt.prepare(w)
    assert opt._kernel_path == (mode == "numba")
    assert lanes is None or opt._lanes == lanes
    for active, g in zip(pattern, grads):
        opt.step(w, g.copy(), None if active is None else np.array(active))
    return (w, *opt.moments())


def _gradients(rng, shape, dtype, steps=len(IDLE_PATTERN)):
    return [
        (rng.standard_normal(shape) * rng.choice([1e-4, 1.0, 50.0], size=shape)).astype(dtype)
        for _ in range(steps)
    ]


@needs_numba
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_compiled_adam_equals_the_numpy_passes(dtype, rtol):
    """Six steps with replicas sitting steps out, rows longer than two kernel stretches."""
    rng = np.random.default_rng(8)
    shape = (3, 2 * ADAM_CHUNK + 123)
    w0 = rng.standard_normal(shape).astype(dtype)
    grads = _gradients(rng, shape, dtype)
    expected = _adam_path("numpy", w0, grads)
    got = _adam_path("numba", w0, grads)
    assert got[0].dtype == dtype and not np.allclose(got[0], w0)
    for name, a, b in zip("wmv", got[:3], expected[:3]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)
    np.testing.assert_array_equal(got[3], expected[3])


@needs_numba
def test_compiled_adam_rows_do_not_depend_on_other_replicas_or_threads(monkeypatch):
    """Each replica of a stacked step split over threads has the numbers it gets alone on one."""
    monkeypatch.setattr(optimizers, "ADAM_LANE", ADAM_CHUNK)  # a thread for every two stretches
    rng = np.random.default_rng(9)
    shape = (3, 2 * ADAM_CHUNK + 77)
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = _gradients(rng, shape, np.float32)
    with kernels.limit_threads(4):
        stacked = _adam_path("numba", w0, grads, lanes=min(4, kernels.threads()))
    for r in range(3):
        alone_pattern = [[True] if a is None else [a[r]] for a in IDLE_PATTERN]
        with kernels.limit_threads(1):
            alone = _adam_path("numba", w0[r : r + 1], [g[r : r + 1] for g in grads], alone_pattern, lanes=1)
        for a, b in zip(stacked, alone):
            np.testing.assert_array_equal(a[r], b[0])


@needs_numba
def test_only_many_parameters_take_the_compiled_step():
    for shape, compiled in [((5, 67), False), ((2, optimizers.COMPILED_MIN_PARAMETERS // 2), True)]:
        with kernels.using("numba"):
            opt = get_optimizer("adam")
            opt.prepare(np.zeros(shape, np.float32))
        assert opt._kernel_path == compiled
