"""Rendering progress events (progress.ProgressEvent) as rich bars on a terminal.

One bar per phase: a phase that starts completes the one before, so writing and drawing get a
bar and a count of their own after training. A phase whose total is not known yet shows a
pulsing bar and says what it is doing, never a bar stuck at 0%.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from .progress import PHASES, ProgressEvent

UNITS = {"train": "epoch", "write": "file", "plot": "figure", "points": "point", "report": "step"}


def _number(value: float) -> str:
    return f"{value:.4g}"


def describe(event: ProgressEvent) -> tuple[str, str]:
    """(count, status) texts of an event, e.g. ("epoch 300/1500", "loss 0.0364  accuracy 1")."""
    status = event.status
    unit = UNITS.get(event.phase, "step")
    if event.phase == "train":
        count = f"epoch {status.get('epoch', event.done)}/{status.get('epochs', event.total)}"
        if status.get("chunks", 1) > 1:
            count += f" (replicas chunk {status['chunk']}/{status['chunks']})"
        shown = [f"{m} {_number(status[m])}" for m in ("loss", "accuracy") if m in status]
        return count, "  ".join(shown)
    count = f"{unit} {event.done}/{event.total}" if event.total is not None else ""
    if event.phase == "points":
        parts = []
        if status.get("failed"):
            parts.append(f"{status['failed']} failed")
        if status.get("best") is not None:
            parts.append(f"best {status['best']}: {status['result']} {_number(status['best_value'])}")
        elif status.get("remaining"):
            parts.append(f"running, {status['remaining']} to go")
        return count, ", ".join(parts)
    if event.phase == "plot" and event.total is None:
        if status.get("where") == "helper":
            return count, "in a helper process"
        return count, str(status.get("figure") or "importing matplotlib, building figures")
    if event.phase == "load":
        return count, str(status.get("dataset", ""))
    return count, str(status.get("file") or status.get("figure") or status.get("step") or "")


class ProgressView:
    """A listener for progress events drawing one rich bar per phase on `console`."""

    def __init__(self, bar: Progress):
        self.bar = bar
        self.phase: str | None = None
        self.task: TaskID | None = None

    def __call__(self, event: ProgressEvent) -> None:
        count, status = describe(event)
        if event.phase != self.phase:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.phase = event.phase
            label = PHASES.get(event.phase, event.phase)
            self.task = self.bar.add_task(label, total=event.total, count=count, status=status)
        assert self.task is not None
        self.bar.update(self.task, completed=event.done, total=event.total, count=count, status=status)


def columns() -> tuple:
    return (
        TextColumn("{task.description}"),
        BarColumn(bar_width=12),
        TextColumn("{task.fields[count]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )


@contextmanager
def progress_view(console: Console, quiet: bool) -> Iterator[ProgressView | None]:
    """Yield a ProgressView drawing on `console`, or None when quiet or not on a terminal
    (logs then get no bars and no control codes). Dataset downloads inside the block get a bar
    of their own in the same display."""
    from .data import download_progress

    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(*columns(), console=console, transient=True) as bar:
        downloads: dict[str, TaskID] = {}

        def update_download(file: str, done: int, total: int | None) -> None:
            if file not in downloads:
                downloads[file] = bar.add_task(f"download {file}", total=total, count="", status="")
            bar.update(downloads[file], completed=done, total=total)

        with download_progress(update_download):
            yield ProgressView(bar)
