"""Snapshots of long-running jobs (indexing, adapting) that widgets on any screen can watch.

The app holds one of each in a reactive attribute and replaces it on every update, so a
progress widget mounted on the search screen and one on the index screen show the same thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from localsearch.progress import ProgressEvent

INDEX_STAGE_LABELS = {
    "scan": "Scanning folders",
    "files": "Reading files",
    "embed": "Embedding chunks",
    "reembed": "Re-embedding",
    "lexical": "Rebuilding the keyword index",
}


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

    @property
    def eta_seconds(self) -> float | None:
        """Time left in this stage at its average rate so far; None until it can be guessed.

        Only for a stage with its own total: while chunks are embedded between files, the
        files' rate says little (unchanged files fly by, new ones wait for the embedder).
        """
        stage = self.measured_stage
        if not self.running or stage is None or stage != self.stage:
            return None
        done, total = self.stages[stage]
        elapsed = time.monotonic() - self.stage_started.get(stage, self.started_at)
        if done <= 0 or not total or elapsed < 1.0:
            return None
        return elapsed / done * (total - done)


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
