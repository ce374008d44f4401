"""A progress panel for a long job (indexing, adapting): stage, bar, counts, ETA, detail."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from localsearch.tui.state import STAGE_UNITS, JobState, format_seconds


def describe_progress(state: JobState, labels: dict[str, str]) -> Text:
    """ "Embedding chunks 300/512 · reading files 12/64 · 85 chunks/s · ~40s left"."""
    line = Text(labels.get(state.stage, state.stage.capitalize()))
    if state.total:
        line.append(f" {state.completed:,}/{state.total:,}", style="bold")
    elif state.completed:
        line.append(f" {state.completed:,}", style="bold")
    for other in ("files", "embed"):
        if other != state.stage and other in state.stages and other in labels:
            done, total = state.stages[other]
            counts = f"{done:,}/{total:,}" if total else f"{done:,}"
            line.append(f" · {labels[other].lower()} {counts}")
    rate = state.rate(state.stage)
    unit = STAGE_UNITS.get(state.stage)
    if rate is not None and unit:
        line.append(f" · {rate:,.0f} {unit}/s" if rate >= 10 else f" · {rate:.1f} {unit}/s")
    eta = state.eta_seconds
    if eta is not None:
        line.append(f" · ~{format_seconds(eta)} left", style="dim")
    return line


class JobProgress(Vertical):
    """Follows the app's reactive `attribute` (a JobState); hidden while nothing has run."""

    def __init__(self, attribute: str, labels: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attribute = attribute
        self.labels = labels

    def compose(self) -> ComposeResult:
        yield Static("", classes="job-stage")
        yield ProgressBar(total=None, show_eta=False, classes="job-bar")
        yield Static("", classes="job-detail")

    def on_mount(self) -> None:
        self.watch(self.app, self.attribute, self.show_state, init=True)

    def show_state(self, state: JobState) -> None:
        self.display = state.running or bool(state.outcome or state.error)
        stage = self.query_one(".job-stage", Static)
        bar = self.query_one(".job-bar", ProgressBar)
        detail = self.query_one(".job-detail", Static)
        if not state.running:
            bar.display = False
            message = Text(state.error or state.outcome)
            if state.error:
                message.stylize("bold red")
            stage.update(message)
            detail.update("")
            return
        bar.display = True
        if state.total == 0 or not state.stage:
            # Nothing countable yet (the model loading, say): no bar to fill.
            stage.update(Text("Preparing…"))
            bar.update(total=None)
            detail.update("")
            return
        stage.update(describe_progress(state, self.labels))
        measured = state.measured_stage
        if measured:
            done, total = state.stages[measured]
            bar.update(total=total, progress=done)
        else:
            bar.update(total=None)
        detail.update(Text(state.detail, style="dim", no_wrap=True, overflow="ellipsis"))
