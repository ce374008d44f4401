"""Terminal output for the CLI: results on stdout, progress and diagnostics on stderr."""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from localsearch.progress import ProgressEvent
from localsearch.terminal_text import safe_json, terminal_safe


class SafeConsole(Console):
    """A rich Console that neutralises control characters in whatever it prints."""

    def print(self, *objects: Any, **options: Any) -> None:  # type: ignore[override]
        super().print(*(_safe_renderable(o) for o in objects), **options)

    def on_broken_pipe(self) -> None:
        # rich's own ends the process with exit 1; the CLI ends it as for any closed pipe.
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def _safe_renderable(value: Any) -> Any:
    if isinstance(value, str):
        return terminal_safe(value)
    if isinstance(value, Text):
        safe = value.copy()
        safe.plain = terminal_safe(value.plain)
        return safe
    return value


stdout = SafeConsole(highlight=False, soft_wrap=True)
stderr = SafeConsole(stderr=True, highlight=False, soft_wrap=True)

STAGE_LABELS = {
    "model": "Loading the model",
    "scan": "Scanning",
    "files": "Files",
    "mailbox": "Mailbox (MB)",
    "embed": "Embedding chunks",
    "reembed": "Re-embedding",
    "lexical": "BM25 index",
}


def print_json(data: Any) -> None:
    sys.stdout.write(safe_json(data) + "\n")


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def highlighted(text: str, spans: list[tuple[int, int]], style: str = "bold yellow") -> Text:
    # Made safe before rich sees it: rich drops some controls (BEL, CR), shifting the spans.
    out = Text(terminal_safe(text))
    for start, end in spans:
        out.stylize(style, start, end)
    return out


class RichProgress:
    """A ProgressCallback that draws one bar per stage on stderr."""

    def __init__(self, labels: dict[str, str] | None = None, *, enabled: bool = True) -> None:
        self.labels = {**STAGE_LABELS, **(labels or {})}
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=False,
            disable=not enabled,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started: dict[str, float] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tasks or self.progress.disable:
            self.progress.stop()
        else:  # nothing drawn: Progress.stop would end a log's output with an empty line
            self.progress.live.transient = True
            self.progress.live.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage not in self.tasks:
            self.tasks[event.stage] = self.progress.add_task(
                self.labels.get(event.stage, event.stage.capitalize()), total=event.total, rate=""
            )
            self.started[event.stage] = time.monotonic()
        elapsed = max(time.monotonic() - self.started[event.stage], 1e-6)
        rate = f"{event.completed / elapsed:.1f}/s" if event.completed and elapsed > 1 else ""
        task_id = self.tasks[event.stage]
        if event.total is None:  # no longer known (a mailbox's messages): update() keeps the old
            for task in self.progress.tasks:
                if task.id == task_id:
                    task.total = None
        self.progress.update(task_id, completed=event.completed, total=event.total, rate=rate)
