"""Optional compiled kernels: numba when installed (pip install 'perceptron_lab[fast]'), NumPy otherwise.

A few steps of training are chains of elementwise passes over large arrays (Adam's update,
max pooling, BatchNorm, im2col). NumPy runs each pass separately, on one core; a compiled
kernel fuses the chain into one pass. Every kernel has a NumPy path that computes the same
thing and is what runs without numba; the tests compare the two.

Which path runs is chosen by `use(mode)` or the environment variable PERCEPTRON_LAB_KERNELS:
"auto" (default: numba when it imports), "numpy" or "numba" (an error when numba is missing).
Ops and optimizers read `enabled()` when they are built, so a network's batch passes keep the
path that was chosen when they were made.

Kernels are plain Python functions over arrays, compiled on their first call with
`numba.njit(cache=True, nogil=True)`. They are serial: numba's own parallel loops are not safe
both in threads (Dask workers, parallel predict) and in forked sweep workers, so a kernel that
is worth spreading over cores takes a [start, stop) range of its outer loop and the caller runs
the ranges in threads (threads.run_lanes), the GIL released. Each outer iteration writes its
own outputs and sums in a fixed order, so results do not depend on the number of threads or on
how many replicas are stacked. The number of threads is `threads()`: the cores this process may
use (at most threads.MAX_THREADS), lowered by `limit_threads` (sweep workers set it with their
BLAS limit).
"""

from __future__ import annotations

import contextlib
import os
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from .threads import MAX_THREADS

MODES = ("auto", "numpy", "numba")
ENVIRONMENT_VARIABLE = "PERCEPTRON_LAB_KERNELS"

_mode: str | None = None
_numba: Any = None
_numba_checked = False


def _import_numba() -> Any:
    global _numba, _numba_checked
    if not _numba_checked:
        _numba_checked = True
        try:
            import numba
        except ImportError:
            _numba = None
        else:
            _numba = numba
    return _numba


def available() -> bool:
    """Whether numba imports."""
    return _import_numba() is not None


def mode() -> str:
    """The chosen mode: set by `use`, else PERCEPTRON_LAB_KERNELS, else "auto"."""
    if _mode is not None:
        return _mode
    value = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be one of {', '.join(MODES)}, got {value!r}")
    return value


def enabled() -> bool:
    """Whether compiled kernels run (the mode and numba's presence decide)."""
    chosen = mode()
    if chosen == "numpy":
        return False
    if chosen == "numba" and not available():
        raise RuntimeError(
            f"{ENVIRONMENT_VARIABLE}=numba but numba is not installed: pip install 'perceptron_lab[fast]'"
        )
    return available()


def use(chosen: str | None) -> None:
    """Choose "auto", "numpy" or "numba" for ops built from now on (None: back to the environment)."""
    global _mode
    if chosen is not None and chosen not in MODES:
        raise ValueError(f"kernels must be one of {', '.join(MODES)}, got {chosen!r}")
    _mode = chosen


@contextlib.contextmanager
def using(chosen: str) -> Iterator[None]:
    """`use(chosen)` inside the block, the previous choice after it."""
    global _mode
    previous = _mode
    use(chosen)
    try:
        yield
    finally:
        _mode = previous


THREADED_FACTOR = 4
"""Training passes THREADED_FACTOR times the size from which they run compiled also spread
over threads (see lanes)."""


def pays(work: int, minimum: int) -> bool:
    """Whether a pass of `work` (multiply-adds, values or parameters) runs on compiled kernels:
    from `minimum` on, when they are enabled. The size is checked first, so small networks
    never import numba (about 0.7 s per process with the kernels' loading)."""
    return work >= minimum and enabled()


def lanes(work: int, minimum: int, training: bool = True) -> int:
    """Threads for a compiled pass of `work` that runs compiled from `minimum`: threads() for
    training passes from THREADED_FACTOR x minimum, else 1 (inference passes run one:
    Network.predict already runs its row chunks in parallel)."""
    return threads() if training and work >= THREADED_FACTOR * minimum else 1


_budget = threading.local()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads() -> int:
    """Threads a kernel call from this thread may spread over (see limit_threads)."""
    limit = getattr(_budget, "limit", None)
    cores = min(_cores(), MAX_THREADS)
    return cores if limit is None else max(1, min(limit, cores))


@contextlib.contextmanager
def limit_threads(limit: int) -> Iterator[None]:
    """At most `limit` threads for kernels called from this thread inside the block."""
    previous = getattr(_budget, "limit", None)
    _budget.limit = limit if previous is None else min(limit, previous)
    try:
        yield
    finally:
        _budget.limit = previous


class Kernel:
    """A Python function compiled by numba (serial, GIL released) on its first call."""

    def __init__(self, function: Callable):
        self.function = function
        self._compiled: Callable | None = None
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__

    def compiled(self) -> Callable:
        if self._compiled is None:
            numba = _import_numba()
            if numba is None:
                raise RuntimeError(f"kernel {self.__name__} needs numba: pip install 'perceptron_lab[fast]'")
            f = self.function
            # Other kernels called inside the body are their compiled versions.
            names = {
                name: value.compiled()
                for name, value in f.__globals__.items()
                if name in f.__code__.co_names and isinstance(value, Kernel)
            }
            body = types.FunctionType(f.__code__, {**f.__globals__, **names}, f.__name__, f.__defaults__)
            body.__qualname__ = f.__qualname__
            body.__module__ = f.__module__
            try:
                self._compiled = numba.njit(cache=True, nogil=True)(body)
            except RuntimeError:  # no writable cache directory: compile in each process
                self._compiled = numba.njit(nogil=True)(body)
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        return self.compiled()(*args)


def kernel(function: Callable) -> Kernel:
    """Decorator: a lazily compiled `Kernel`."""
    return Kernel(function)
