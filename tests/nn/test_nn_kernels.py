"""The kernel switch (nn/kernels.py): modes, the environment variable, thread limits, compilation."""

import numpy as np
import pytest

from perceptron_lab.nn import kernels
from perceptron_lab.nn.kernels import kernel
from perceptron_lab.nn.threads import MAX_THREADS, lane_range, run_lanes


@kernel
def _scaled(a, i, factor):
    return a[i] * factor


@kernel
def _row_sums(a, factor, out):
    for i in range(a.shape[0]):
        total = 0.0
        for j in range(a.shape[1]):
            total += _scaled(a[i], j, factor)
        out[i] = total


def test_environment_variable_chooses_the_path(monkeypatch):
    monkeypatch.setenv(kernels.ENVIRONMENT_VARIABLE, "numpy")
    assert kernels.mode() == "numpy" and not kernels.enabled()
    monkeypatch.setenv(kernels.ENVIRONMENT_VARIABLE, "auto")
    assert kernels.enabled() == kernels.available()


def test_unknown_mode_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv(kernels.ENVIRONMENT_VARIABLE, "fortran")
    with pytest.raises(ValueError, match=kernels.ENVIRONMENT_VARIABLE):
        kernels.mode()
    with pytest.raises(ValueError, match="kernels must be one of"):
        kernels.use("fortran")


def test_using_restores_the_previous_choice(monkeypatch):
    monkeypatch.delenv(kernels.ENVIRONMENT_VARIABLE, raising=False)
    with kernels.using("numpy"):
        assert not kernels.enabled()
        with kernels.using("auto"):
            assert kernels.mode() == "auto"
        assert kernels.mode() == "numpy"
    assert kernels.mode() == "auto"


def test_numba_mode_without_numba_says_how_to_install(monkeypatch):
    monkeypatch.setattr(kernels, "available", lambda: False)
    with kernels.using("numba"), pytest.raises(RuntimeError, match=r"perceptron_lab\[fast\]"):
        kernels.enabled()


def test_a_kernel_body_runs_as_plain_python_too():
    a = np.arange(12.0).reshape(3, 4)
    out = np.empty(3)
    _row_sums.function(a, 2.0, out)
    np.testing.assert_array_equal(out, 2.0 * a.sum(axis=1))


@pytest.mark.skipif(not kernels.available(), reason="numba not installed")
def test_compiled_kernel_calls_other_kernels_and_matches_numpy():
    a = np.random.default_rng(0).random((37, 5))
    out = np.empty(37)
    _row_sums(a, 3.0, out)
    np.testing.assert_allclose(out, 3.0 * a.sum(axis=1), rtol=1e-12)


def test_thread_budget_is_lowered_inside_limit_threads_and_restored():
    cores = kernels.threads()
    assert 1 <= cores <= MAX_THREADS
    with kernels.limit_threads(1):
        assert kernels.threads() == 1
        with kernels.limit_threads(3):  # never raised by an inner limit
            assert kernels.threads() == 1
    assert kernels.threads() == cores


@pytest.mark.parametrize("total, lanes", [(0, 2), (5, 2), (7, 3), (160, 4), (3, 4)])
def test_lane_ranges_cover_the_work_once_in_order(total, lanes):
    parts = [lane_range(total, lanes, lane) for lane in range(lanes)]
    assert [i for start, stop in parts for i in range(start, stop)] == list(range(total))
    sizes = [stop - start for start, stop in parts]
    assert max(sizes) - min(sizes) <= 1


def test_run_lanes_runs_every_lane_once_and_reraises():
    seen: list[int] = []
    run_lanes(3, seen.append)
    assert sorted(seen) == [0, 1, 2]

    def failing(lane):
        if lane == 1:
            raise ValueError("lane 1 failed")

    with pytest.raises(ValueError, match="lane 1"):
        run_lanes(2, failing)


def _lanes_in_child(queue):
    seen: list[int] = []
    run_lanes(2, seen.append)
    queue.put(sorted(seen))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_pool_threads():
    import multiprocessing

    run_lanes(2, lambda lane: None)  # the parent's pool exists, with a thread
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_lanes_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0, "the forked child hung or failed running lanes"
    assert queue.get(timeout=5) == [0, 1]


@pytest.mark.skipif(not kernels.available(), reason="numba not installed")
def test_kernels_compile_without_a_writable_cache(monkeypatch):
    import numba

    real_njit = numba.njit

    def njit_without_cache(*args, **options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **options)

    monkeypatch.setattr(numba, "njit", njit_without_cache)
    fresh = kernel(_row_sums.function)
    a = np.arange(6.0).reshape(2, 3)
    out = np.empty(2)
    fresh(a, 1.0, out)
    np.testing.assert_array_equal(out, a.sum(axis=1))
