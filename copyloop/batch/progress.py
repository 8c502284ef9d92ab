"""Progress of a batch: a rich bar (items/s, ETA, failures) on stderr, or nothing in quiet mode.

Quiet mode is for runs whose stderr goes to a log file: an animated bar there is noise; the
command still prints its final summary.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def _rate(task: Task) -> float | None:
    """Items per second of this phase so far. Rich's own estimate only looks at the last 30 s,
    which is empty when one item takes minutes (the real model on a busy machine)."""
    if not task.completed or not task.elapsed:
        return None
    return task.completed / task.elapsed


class ItemsPerSecondColumn(ProgressColumn):
    """Throughput of the current phase: items/s, or items/min when below one per second."""

    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if rate is None:
            return Text("? items/s", style="progress.data.speed")
        text = f"{rate:.2f} items/s" if rate >= 1 else f"{rate * 60:.2f} items/min"
        return Text(text, style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """Time left at the phase's average rate so far."""

    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if rate is None or task.total is None:
            return Text("ETA -:--:--", style="progress.remaining")
        left = int(max(0.0, task.total - task.completed) / rate)
        return Text(f"ETA {left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}", style="progress.remaining")


class BatchProgress:
    """One bar per phase (drafting, diversity re-drafts)."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._failed = 0
        if not quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                ItemsPerSecondColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                EtaColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> "BatchProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def phase(self, description: str, total: int) -> None:
        self._failed = 0
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total, failed=0)

    def advance(self, ok: bool = True) -> None:
        if not ok:
            self._failed += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, failed=self._failed)


__all__ = ["BatchProgress", "EtaColumn", "ItemsPerSecondColumn"]
