"""Snapshots of long-running jobs (indexing, adapting) that widgets on any screen can watch.

The app holds one of each in a reactive attribute and replaces it on every update, so a
progress widget mounted on the search screen and one on the index screen show the same thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from localsearch.progress import ProgressEvent

INDEX_STAGE_LABELS = {
    "model": "Loading the model",
    "scan": "Scanning folders",
    "files": "Reading files",
    "mailbox": "Reading a mailbox (MB)",
    "embed": "Embedding chunks",
    "reembed": "Re-embedding",
    "lexical": "Updating the keyword index",  # caught up from the change log, or rebuilt
}


# What a stage counts, for rates ("85 chunks/s").
STAGE_UNITS = {
    "files": "files",
    "mailbox": "MB",
    "embed": "chunks",
    "reembed": "chunks",
    "train": "steps",
}
# The stage that measures a whole indexing run: every file passes through it once.
WHOLE_RUN_STAGE = "files"


@dataclass(frozen=True)
class JobState:
    """A job's latest progress; `running` False with `outcome` or `error` once it has ended."""

    running: bool = False
    stage: str = ""
    completed: int = 0
    total: int | None = None
    detail: str = ""
    started_at: float = 0.0
    outcome: str = ""
    error: str = ""
    stages: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # latest per stage
    stage_started: dict[str, float] = field(default_factory=dict)  # when each stage began

    def started(self) -> JobState:
        return JobState(running=True, started_at=time.monotonic())

    def progressed(self, event: ProgressEvent) -> JobState:
        stage_started = self.stage_started
        if event.stage not in stage_started:
            stage_started = {**stage_started, event.stage: time.monotonic()}
        return replace(
            self,
            stage=event.stage,
            completed=event.completed,
            total=event.total,
            detail=event.detail,
            stage_started=stage_started,
            stages={**self.stages, event.stage: (event.completed, event.total)},
        )

    @property
    def measured_stage(self) -> str | None:
        """The stage whose progress the bar shows: this one if it has a total, else the latest
        one that had (files read, while their chunks are embedded)."""
        if self.total:
            return self.stage
        for name, (_, total) in reversed(list(self.stages.items())):
            if total:
                return name
        return None

    def ended(self, outcome: str = "", error: str = "") -> JobState:
        return replace(self, running=False, outcome=outcome, error=error)

    def rate(self, stage: str) -> float | None:
        """Units of `stage` per second since it began; None in its first second."""
        if stage not in self.stages:
            return None
        elapsed = time.monotonic() - self.stage_started.get(stage, self.started_at)
        done = self.stages[stage][0]
        return done / elapsed if elapsed >= 1.0 and done > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the average rate so far; None until it can be guessed.

        An indexing run is measured by its files, whose pace includes waiting for their chunks
        to embed; once every file is read, by the chunks still to embed. Other jobs (adapting)
        by the current stage, when it has a total.
        """
        if not self.running:
            return None
        stage = WHOLE_RUN_STAGE if WHOLE_RUN_STAGE in self.stages else self.stage
        if stage not in self.stages:
            return None
        done, total = self.stages[stage]
        if stage == WHOLE_RUN_STAGE and total and done >= total and self.stage == "embed":
            stage = "embed"
            done, total = self.stages[stage]
        if stage == WHOLE_RUN_STAGE and not total and self.stage == "mailbox":
            stage = "mailbox"  # its messages cannot be counted ahead: the time left in it
            done, total = self.stages[stage]
        rate = self.rate(stage)
        if not total or rate is None:
            return None
        return max(0, total - done) / rate


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
