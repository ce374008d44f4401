"""The status bar: what is indexed, which model, which mode, how long the last query took."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from localsearch.index import IndexStatus
from localsearch.tui.adapt_bridge import ADAPT_STAGE_LABELS
from localsearch.tui.state import INDEX_STAGE_LABELS, JobState, format_seconds

MODEL_STATES = {
    "idle": "",
    "loading": " (loading…)",
    "ready": "",
    "failed": " (unavailable)",
}


def describe_status(
    status: IndexStatus | None,
    model_state: str,
    mode: str,
    latency_ms: float | None,
    indexing: JobState,
    adapting: JobState | None = None,
) -> Text:
    adapting = adapting or JobState()
    out = Text()
    if status is None:
        out.append("no index yet", style="italic")
    else:
        out.append(f"{status.documents:,}", style="bold")
        out.append(" documents · ")
        out.append(f"{status.chunks:,}", style="bold")
        out.append(" chunks")
        out.append("  │  model ")
        out.append(status.model or "none", style="bold")
        out.append(MODEL_STATES.get(model_state, ""), style="italic")
    out.append("  │  mode ")
    out.append(mode, style="bold")
    if latency_ms is not None:
        out.append("  │  ")
        out.append(f"{latency_ms:.0f} ms", style="bold")
    if indexing.running:
        out.append("  │  ")
        out.append(describe_job(indexing), style="italic")
    if adapting.running:
        out.append("  │  ")
        out.append(describe_adapt_job(adapting), style="italic")
    return out


def describe_job(state: JobState) -> str:
    """A few words on a running index job for the status bar: "Embedding chunks 512"."""
    if not state.stage or state.total == 0:
        return "indexing…"
    label = INDEX_STAGE_LABELS.get(state.stage, state.stage)
    if state.total:
        text = f"{label} {state.completed:,}/{state.total:,}"
    else:
        text = f"{label} {state.completed:,}" if state.completed else f"{label}…"
    eta = state.eta_seconds
    return text + (f" · ~{format_seconds(eta)} left" if eta is not None else "")


def describe_adapt_job(state: JobState) -> str:
    """Adapting (or switching models), for the status bar: "Adapting: Training 40/120"."""
    if not state.stage:
        return "Adapting…"
    label = ADAPT_STAGE_LABELS.get(state.stage, state.stage)
    counts = f" {state.completed:,}/{state.total:,}" if state.total else ""
    return f"Adapting: {label}{counts}"


class StatusBar(Static):
    """Redraws whenever the app's index status, model state, mode, latency or jobs change."""

    def on_mount(self) -> None:
        for name in ("index_status", "model_state", "mode", "latency_ms", "indexing", "adapting"):
            self.watch(self.app, name, self._changed, init=False)
        self._changed()

    def _changed(self, *_: Any) -> None:
        app: Any = self.app
        self.update(
            describe_status(
                app.index_status,
                app.model_state,
                app.mode,
                app.latency_ms,
                app.indexing,
                app.adapting,
            )
        )
