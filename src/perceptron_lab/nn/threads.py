"""Threads for matrix products: one BLAS thread for small ones, parallel chunks for inference.

A threaded GEMM synchronises its threads on every call. For the small products of minibatch
training (a 32-row batch through a 784 x 256 layer) that costs about what it saves, and when
another process holds a core each call can wait for a whole scheduler time slice: tens of
times slower. So training steps whose largest product is below SMALL_PRODUCT multiply-adds
run on one BLAS thread (the trainer arranges it), and large inference passes run their row
chunks in parallel, one BLAS thread each, which also spreads the activations' elementwise
work. The thread count is the BLAS library's own (so OPENBLAS_NUM_THREADS or an outer
threadpoolctl limit hold here too).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

SMALL_PRODUCT = 1 << 23
MAX_THREADS = 4

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0


def pool() -> ThreadPoolExecutor:
    """The shared worker threads (created on first use, and anew in a forked child, which
    inherits the parent's pool object but none of its threads)."""
    global _POOL, _POOL_PID
    if _POOL is None or _POOL_PID != os.getpid():
        _POOL = ThreadPoolExecutor(max_workers=MAX_THREADS - 1, thread_name_prefix="perceptron_lab")
        _POOL_PID = os.getpid()
    return _POOL


def run_lanes(lanes: int, body: Callable[[int], None]) -> None:
    """body(lane) for lane in range(lanes): lane 0 in this thread, the others in the pool.
    lanes <= MAX_THREADS; body must not itself call run_lanes with lanes > 1."""
    if lanes <= 1:
        body(0)
        return
    pending = [pool().submit(body, lane) for lane in range(1, lanes)]
    try:
        body(0)
    finally:
        for future in pending:
            future.result()


def lane_range(total: int, lanes: int, lane: int) -> tuple[int, int]:
    """The lane-th of `lanes` contiguous, nearly equal parts of range(total): (start, stop)."""
    return total * lane // lanes, total * (lane + 1) // lanes


class BlasThreads:
    """The loaded BLAS libraries' thread count, and context managers that change it."""

    def __init__(self):
        self._blas = ThreadpoolController().select(user_api="blas")
        counts = [lib.num_threads for lib in self._blas.lib_controllers]
        self.threads = min(counts) if counts else 1

    def limit(self, threads: int):
        """At most `threads` threads inside the block (no-op when already at most that)."""
        if threads >= self.threads:
            return contextlib.nullcontext()
        return self._blas.limit(limits=threads)

    def restore(self):
        """The thread count found at construction, inside a `limit` block."""
        if self.threads == 1:
            return contextlib.nullcontext()
        return self._blas.limit(limits=self.threads)
