"""Rich progress bars on stderr for the pull, compute and write phases (only on a
terminal: cron mail and log files get the summary, not redraw noise)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from sync.output import stderr


class RichReporter:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    @contextmanager
    def phase(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        task = self.progress.add_task(description, total=total)
        yield lambda n: self.progress.advance(task, n)
        self.progress.update(
            task,
            total=self.progress.tasks[task].completed or 1,
            completed=self.progress.tasks[task].completed or 1,
        )


@contextmanager
def reporter(enabled: bool) -> Iterator[RichReporter | None]:
    if not enabled or not stderr.is_terminal:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    )
    with progress:
        yield RichReporter(progress)
