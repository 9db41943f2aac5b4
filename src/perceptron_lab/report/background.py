"""Drawing a run's figures in a helper process that loads matplotlib while the run trains.

Importing matplotlib and the figure modules costs about half a second; a helper forked before
training pays it on the other core, and then draws `lab run`'s figures when the files are
written. Where forking is unavailable or unsafe (experiment/fork_executor.py), the block yields
None and the figures are drawn in this process.
"""

from __future__ import annotations

import contextvars
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_current: contextvars.ContextVar[FigureProcess | None] = contextvars.ContextVar(
    "figure_process", default=None
)


def _serve(connection, parent_end) -> None:
    """The helper: import the figure code, then draw each (run_dir, out_dir) it is sent (the run
    directory is still being built: read without requiring status complete). It ends when told
    (None) or when the parent's end of the pipe closes."""
    import signal

    from .. import report
    from ..experiment.results_dir import read_run_dir
    from . import parallel_save

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes us
    parent_end.close()  # so that the parent's exit reaches us as the end of the pipe
    parallel_save.MIN_FIGURES = 2  # the parent only waits for us: even two figures use both cores

    report.plot_run  # noqa: B018 - imports matplotlib and the figure modules now, during training
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            paths = report.plot_run(read_run_dir(request[0]), request[1], essential=True)
            connection.send(("ok", [str(path) for path in paths]))
        except Exception as error:  # noqa: BLE001 - reported to the caller, which decides
            connection.send(("error", f"{type(error).__name__}: {error}"))


class FigureProcessError(RuntimeError):
    """A figure failed in the helper; the message is the helper's "<Type>: <message>"."""


class FigureProcess:
    """A forked helper process drawing the essential figures of run directories on request."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        # Not a daemon: it may fork workers to render its figures (report/parallel_save.py).
        self.process = context.Process(target=_serve, args=(child, self.connection))
        self.process.start()
        child.close()

    def draw(self, run_dir: Path, out_dir: Path) -> list[Path]:
        """plot_run(run_dir, out_dir, essential=True) in the helper; FigureProcessError if it failed."""
        self.connection.send((str(run_dir), str(out_dir)))
        try:
            status, value = self.connection.recv()
        except EOFError:
            raise FigureProcessError("EOFError: the figure process ended without drawing") from None
        if status != "ok":
            raise FigureProcessError(value)
        return [Path(path) for path in value]

    def close(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
        self.connection.close()


def current_figure_process() -> FigureProcess | None:
    """The helper of the enclosing `figures_in_background` block, if any."""
    return _current.get()


@contextmanager
def figures_in_background(enabled: bool = True) -> Iterator[FigureProcess | None]:
    """Within the block, `lab run`'s figures are drawn by a helper started now (None when not
    enabled or the platform cannot fork)."""
    from ..experiment.fork_executor import fork_available

    if not enabled or not fork_available():
        yield None
        return
    helper = FigureProcess()
    token = _current.set(helper)
    try:
        yield helper
    finally:
        _current.reset(token)
        helper.close()
