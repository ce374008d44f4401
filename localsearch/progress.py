"""Progress reporting through callbacks: the engine says what it is doing, front ends draw it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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
