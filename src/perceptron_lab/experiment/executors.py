"""Where sweep points run: in this process, in local processes (joblib), or on a Dask cluster.

Every executor maps a picklable function over tasks and yields `TaskResult`s in completion
order, so the caller can write each result as soon as it arrives. Functions return their results
as data: the caller (the driver) writes every file, so Dask workers need no shared filesystem.

Each parallel worker caps its BLAS thread pools (threadpoolctl) so that
workers x threads does not exceed the cores of its machine.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from joblib import cpu_count
from threadpoolctl import threadpool_info, threadpool_limits

from ..errors import UserError
from ..nn import kernels

BACKENDS = ("local", "dask")
SCHEDULER_ADDRESS = re.compile(
    r"((tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(:[0-9]{1,5})?"
)
"""[protocol://]host[:port]: what a Dask Client accepts, nothing with spaces or paths."""


@dataclass
class TaskResult:
    """The outcome of task `index`: its return value, or `error` when the task could not finish
    (a worker died, the cluster lost it); the function's own exceptions are its business."""

    index: int
    value: Any = None
    error: str | None = None


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """BLAS threads each of `workers` concurrent workers may use: max(1, cores // workers)."""
    cores = cores if cores is not None else cpu_count(only_physical_cores=False)
    return max(1, cores // max(1, workers))


class SerialExecutor:
    """Tasks one after another in this process (BLAS keeps all its threads)."""

    def map(self, function: Callable, tasks: Sequence) -> Iterator[TaskResult]:
        for index, task in enumerate(tasks):
            yield TaskResult(index, function(task))

    def finished(self) -> list[TaskResult]:
        """Nothing runs in the background: an interrupt stops the task it hits."""
        return []

    def close(self) -> None:
        pass


class JoblibExecutor:
    """Tasks in `jobs` local worker processes (joblib's loky process pool).

    Results are yielded as they complete; after an interrupt, `finished()` hands over those
    that completed but were not yet yielded, so none is thrown away. Workers ignore SIGINT
    (Ctrl-C reaches the driver, which stops them) and exit by themselves when the driver dies,
    even by kill -9 (see _watch_driver).
    """

    def __init__(self, jobs: int):
        if jobs < 1:
            raise UserError(f"jobs must be >= 1 (got {jobs})", param="jobs")
        self.jobs = jobs
        self.threads = threads_per_worker(jobs)
        self._pool: Any = None
        self._unseen: dict[Any, int] = {}

    def _make_pool(self, n_tasks: int) -> Any:
        """A concurrent.futures-style pool whose workers run _watch_driver first."""
        from joblib.externals.loky import get_reusable_executor

        return get_reusable_executor(
            max_workers=self.jobs, initializer=_watch_driver, initargs=(os.getpid(),)
        )

    def map(self, function: Callable, tasks: Sequence) -> Iterator[TaskResult]:
        if not tasks:
            return
        self._pool = self._make_pool(len(tasks))
        # Only _unseen refers to a future once submitted: a yielded result is not kept alive.
        self._unseen = {
            self._pool.submit(_indexed, function, index, task, self.threads): index
            for index, task in enumerate(tasks)
        }
        try:
            for future in concurrent.futures.as_completed(list(self._unseen)):
                yield _task_result(future, self._unseen.pop(future))
        finally:
            for future in self._unseen:
                future.cancel()

    def finished(self) -> list[TaskResult]:
        """Tasks that completed but were not yielded (an interrupt stopped the iteration)."""
        done = [
            (future, index)
            for future, index in self._unseen.items()
            if future.done() and not future.cancelled() and not _interrupted(future)
        ]
        for future, _ in done:
            self._unseen.pop(future)
        return [_task_result(future, index) for future, index in done]

    def close(self) -> None:
        """Stop the workers (a task still running is abandoned)."""
        if self._pool is not None:
            self._shutdown(self._pool)
            self._pool = None

    @staticmethod
    def _shutdown(pool: Any) -> None:
        pool.shutdown(wait=False, kill_workers=True)


def _interrupted(future) -> bool:
    error = future.exception()
    return isinstance(error, (KeyboardInterrupt, concurrent.futures.process.BrokenProcessPool))


def _task_result(future, index: int) -> TaskResult:
    try:
        return TaskResult(index, future.result()[1])
    except Exception as error:  # the worker died (killed, out of memory): the task is lost
        return TaskResult(index, error=" ".join(f"{type(error).__name__}: {error}".split()))


def _watch_driver(driver_pid: int, period_s: float = 1.0) -> None:
    """Worker initializer: ignore SIGINT, and exit as soon as the driver process is gone.

    The driver is this worker's parent; when it dies (kill -9 included) the worker is
    re-parented, which a daemon thread notices within `period_s`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and _alive(driver_pid):
            time.sleep(period_s)
        os._exit(1)

    threading.Thread(target=watch, name="watch-driver", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _indexed(function: Callable, index: int, task: Any, threads: int) -> tuple[int, Any]:
    """(index, function(task)) with this worker's BLAS pools limited to `threads`."""
    with threadpool_limits(limits=threads), kernels.limit_threads(threads):
        return index, function(task)


def cap_blas_threads(limit: int) -> int:
    """Lower every BLAS/OpenMP pool of this process to at most `limit` threads (never raise one).

    Returns the cap applied. Set for the whole process, not per call: Dask workers run tasks in
    threads, and nested per-task limits would restore each other's settings out of order.
    """
    sizes = [pool["num_threads"] for pool in threadpool_info()]
    cap = min([limit, *sizes])
    threadpool_limits(limits=cap)
    return cap


def _on_dask_worker(function: Callable, task: Any) -> Any:
    """Run `function(task)` on a Dask worker with BLAS threads capped to cores // worker threads.

    Dask's nanny already starts worker processes with one BLAS thread; the cap only matters for
    workers started otherwise and never raises a smaller setting.
    """
    from distributed import get_worker

    cap = cap_blas_threads(threads_per_worker(get_worker().state.nthreads))
    with kernels.limit_threads(cap):
        return function(task)


class DaskExecutor:
    """Tasks on an existing Dask cluster reached at `address` (tcp://HOST:PORT)."""

    def __init__(self, address: str | None, timeout_s: float = 10):
        if not address:
            raise UserError(
                "backend dask needs address tcp://HOST:PORT of the Dask scheduler",
                param=("backend", "address"),
            )
        if not SCHEDULER_ADDRESS.fullmatch(address):
            raise UserError(
                f"address: {address!r} is not like tcp://HOST:PORT or HOST:PORT (a Dask scheduler)",
                param="address",
            )
        try:
            from distributed import Client
        except ImportError:
            raise UserError(
                "backend dask needs the optional Dask extra: pip install 'perceptron_lab[dask]'",
                param="backend",
            ) from None
        try:
            self.client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise UserError(
                f"address {address}: cannot reach a Dask scheduler ({error})", param="address"
            ) from None

    def map(self, function: Callable, tasks: Sequence) -> Iterator[TaskResult]:
        from distributed import as_completed

        futures = [self.client.submit(_on_dask_worker, function, task, pure=False) for task in tasks]
        index_of = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                index = index_of[future.key]
                try:
                    yield TaskResult(index, future.result())
                except Exception as error:  # the task was lost (a worker died), not a point's failure
                    yield TaskResult(index, error=f"{type(error).__name__}: {error}")
                future.release()
        finally:
            for future in futures:
                future.cancel()

    def finished(self) -> list[TaskResult]:
        """Results still on the cluster are not fetched after an interrupt: resume redoes them."""
        return []

    def close(self) -> None:
        """Idempotent, like every executor's close."""
        if self.client.status not in ("closed", "closing"):
            self.client.close()


def make_executor(backend: str = "local", jobs: int = 1, address: str | None = None):
    """The executor for `backend` ("local" with `jobs` processes, or "dask" at `address`).

    Local processes are forked from this one where the platform can fork (fork_executor.py),
    else started by joblib.
    """
    if backend == "local":
        if address:
            raise UserError("address is for backend dask", param=("address", "backend"))
        if jobs == 1:
            return SerialExecutor()
        from .fork_executor import ForkExecutor, fork_available

        return ForkExecutor(jobs) if fork_available() else JoblibExecutor(jobs)
    if backend == "dask":
        return DaskExecutor(address)
    raise UserError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}", param="backend")
