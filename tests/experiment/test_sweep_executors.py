"""Executors: serial and joblib maps, BLAS thread caps in workers, backend selection errors."""

import os
import sys

import pytest

from perceptron_lab.errors import UserError
from perceptron_lab.experiment.executors import (
    JoblibExecutor,
    SerialExecutor,
    cap_blas_threads,
    make_executor,
    threads_per_worker,
)
from perceptron_lab.experiment.fork_executor import ForkExecutor, fork_available


def square_in_worker(task):
    """(task, task squared, worker pid, thread count of every BLAS/OpenMP pool)."""
    import numpy  # noqa: F401  (loads the BLAS pools threadpoolctl reports)
    from threadpoolctl import threadpool_info

    return task, task * task, os.getpid(), [pool["num_threads"] for pool in threadpool_info()]


@pytest.mark.parametrize("workers, cores, expected", [(1, 8, 8), (2, 8, 4), (3, 8, 2), (16, 8, 1), (2, 2, 1)])
def test_threads_per_worker_never_oversubscribes_the_cores(workers, cores, expected):
    assert threads_per_worker(workers, cores) == expected
    assert threads_per_worker(workers, cores) * workers <= max(cores, workers)


def test_serial_executor_yields_every_task_in_order_in_this_process():
    results = list(SerialExecutor().map(square_in_worker, [3, 1, 2]))
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.value[1] for r in results] == [9, 1, 4]
    assert {r.value[2] for r in results} == {os.getpid()}


def parallel_executors():
    return [JoblibExecutor, *([ForkExecutor] if fork_available() else [])]


@pytest.mark.parametrize("executor_class", parallel_executors())
def test_parallel_executors_run_tasks_in_other_processes_with_capped_blas_threads(executor_class):
    executor = executor_class(jobs=2)
    tasks = [5, 6, 7, 8]
    results = list(executor.map(square_in_worker, tasks))
    assert sorted(r.index for r in results) == [0, 1, 2, 3]
    for result in results:
        task, squared, pid, pools = result.value
        assert task == tasks[result.index] and squared == task * task
        assert pid != os.getpid()
        assert pools and max(pools) <= executor.threads
    assert executor.threads == threads_per_worker(2)
    executor.close()


@pytest.mark.skipif(not fork_available(), reason="the platform cannot fork")
def test_forked_workers_report_a_dead_worker_as_a_task_error():
    executor = ForkExecutor(jobs=2)
    results = list(executor.map(os._exit, [3]))  # the worker process exits without an answer
    executor.close()
    assert [r.index for r in results] == [0]
    assert results[0].value is None and "BrokenProcessPool" in results[0].error


def test_cap_blas_threads_lowers_pools_but_never_raises_them():
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=1):
        assert cap_blas_threads(4) == 1
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    with threadpool_limits(limits=2):
        assert cap_blas_threads(1) == 1
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}


def test_make_executor_picks_the_backend_and_rejects_bad_arguments():
    assert isinstance(make_executor("local", jobs=1), SerialExecutor)
    assert isinstance(make_executor("local", jobs=3), ForkExecutor if fork_available() else JoblibExecutor)
    with pytest.raises(UserError, match="^backend: 'spark'"):
        make_executor("spark")
    with pytest.raises(UserError, match="^jobs must be >= 1"):
        make_executor("local", jobs=0)
    with pytest.raises(UserError, match="^address is for backend dask$"):
        make_executor("local", address="tcp://127.0.0.1:8786")
    with pytest.raises(UserError, match="^backend dask needs address "):
        make_executor("dask")


def test_dask_backend_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(UserError, match=r"pip install 'perceptron_lab\[dask\]'"):
        make_executor("dask", address="tcp://127.0.0.1:8786")


def test_dask_backend_with_an_unreachable_scheduler_is_a_user_error():
    pytest.importorskip("distributed", reason="the dask extra is not installed: pip install -e '.[dask]'")
    from perceptron_lab.experiment.executors import DaskExecutor

    with pytest.raises(UserError, match="cannot reach a Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1)
