"""Progress of a long use case: named steps on a Rich progress bar (or the log only)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger(__name__)


class Steps:
    """Advance one Rich progress task through named steps (no-op without a bar).

    >>> steps = Steps(None, "scoring", 2)
    >>> steps("reading"); steps.done(); steps.completed
    1
    """

    def __init__(self, progress: Progress | None, title: str, total: int) -> None:
        self.progress, self.title, self.total, self.completed = progress, title, total, 0
        self.task = progress.add_task(title, total=total) if progress is not None else None

    def __call__(self, what: str) -> None:
        log.info("%s: %s", self.title, what)
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=f"{self.title}: {what}")

    def done(self) -> None:
        self.completed += 1
        if self.progress is not None and self.task is not None:
            final = self.completed >= self.total
            self.progress.update(self.task, advance=1,
                                 description=self.title if final else None)
