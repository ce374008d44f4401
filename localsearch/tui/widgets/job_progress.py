"""A progress panel for a long job (indexing, adapting): stage, bar, counts, ETA, detail."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from localsearch.tui.state import JobState, format_seconds


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
        line = Text(self.labels.get(state.stage, state.stage.capitalize()))
        if state.total:
            line.append(f"  {state.completed:,}/{state.total:,}", style="bold")
        elif state.completed:
            line.append(f"  {state.completed:,}", style="bold")
        measured = state.measured_stage
        if measured and measured != state.stage:
            done, total = state.stages[measured]
            line.append(f"   {self.labels.get(measured, measured).lower()} {done:,}/{total:,}")
        eta = state.eta_seconds
        if eta is not None:
            line.append(f"  ~{format_seconds(eta)} left", style="dim")
        stage.update(line)
        if measured:
            done, total = state.stages[measured]
            bar.update(total=total, progress=done)
        else:
            bar.update(total=None)
        detail.update(Text(state.detail, style="dim", no_wrap=True, overflow="ellipsis"))
