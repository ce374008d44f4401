"""Progress reporting through callbacks: the engine says what it is doing, front ends draw it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ProgressEvent:
    """`completed` of `total` units of `stage` are done (`total` None when not known yet)."""

    stage: str
    completed: int
    total: int | None = None
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def ignore_progress(event: ProgressEvent) -> None:
    """The default callback: library callers that want no progress pass nothing."""


class CountedOn:
    """A ProgressCallback whose `stage` counts on across runs instead of starting again at 0 with
    each: one run's files after another's, for one bar over several folders. A later run's
    total is not known before it starts, so the total grows as each begins."""

    def __init__(self, progress: ProgressCallback, stage: str) -> None:
        self.progress, self.stage = progress, stage
        self.before = 0  # counted by the runs before this one
        self.latest = 0

    def next_run(self) -> None:
        self.before += self.latest
        self.latest = 0

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == self.stage:
            self.latest = event.completed
            total = None if event.total is None else event.total + self.before
            event = replace(event, completed=event.completed + self.before, total=total)
        self.progress(event)
