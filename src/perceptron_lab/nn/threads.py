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
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

SMALL_PRODUCT = 1 << 23
MAX_THREADS = 4

_POOL: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The shared worker threads (created on first use)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=MAX_THREADS - 1, thread_name_prefix="perceptron_lab")
    return _POOL


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
