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
    TimeRemainingColumn,
)
from rich.text import Text


class ItemsPerSecondColumn(ProgressColumn):
    """Throughput of the current phase (rich's own speed estimate over recent steps)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("? items/s" if speed is None else f"{speed:.2f} items/s", style="progress.data.speed")


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
                TextColumn("ETA"),
                TimeRemainingColumn(),
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


__all__ = ["BatchProgress", "ItemsPerSecondColumn"]
