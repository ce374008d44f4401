"""The status bar: what is indexed, which model, which mode, how long the last query took,
and the running jobs; shortened part by part to fit the terminal's width."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from localsearch.embed_backlog import DenseCoverage
from localsearch.index_status import IndexStatus
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
    width: int | None = None,
    waiting_for: str = "",
) -> Text:
    """The status line; within `width` columns, parts are shortened, then dropped, the least
    needed first: a running job and the mode stay longest. `waiting_for`, what a search waits
    for (the engine's word, such as a BM25 rebuild), comes first and is never cut."""
    adapting = adapting or JobState()
    parts: dict[str, list[Text]] = {}
    if status is None:
        parts["index"] = [Text("no index yet", style="italic")]
    else:
        documents, chunks = f"{status.documents:,}", f"{status.chunks:,}"
        parts["index"] = [
            Text.assemble((documents, "bold"), " documents · ", (chunks, "bold"), " chunks"),
            Text.assemble((documents, "bold"), " docs · ", (chunks, "bold"), " chunks"),
            Text.assemble((documents, "bold"), " docs"),
            Text(),
        ]
        model = status.model  # None in a first index's text phase: no model chosen yet
        if model is not None:
            state = (MODEL_STATES.get(model_state, ""), "italic")
            short = model if len(model) <= 14 else model[:13] + "…"
            parts["model"] = [
                Text.assemble("model ", (model, "bold"), state),
                Text.assemble((model, "bold"), state),
                Text.assemble((short, "bold"), state),
                Text(),
            ]
        if not status.dense_complete:
            # Text is searchable before its vectors: say how much dense search sees so far.
            coverage = DenseCoverage(status.vectors, status.chunks)
            parts["dense"] = [
                Text(coverage.describe(), style="italic"),
                Text(f"dense {coverage.embedded:,}/{coverage.chunks:,}", style="italic"),
                Text(),
            ]
    parts["mode"] = [Text.assemble("mode ", (mode, "bold")), Text(mode, style="bold")]
    if latency_ms is not None:
        parts["latency"] = [Text(f"{latency_ms:.0f} ms", style="bold"), Text()]
    if indexing.running:
        parts["indexing"] = [
            Text(describe_job(indexing), style="italic"),
            Text(describe_job(indexing, short=True), style="italic"),
        ]
    if adapting.running:
        parts["adapting"] = [
            Text(describe_adapt_job(adapting), style="italic"),
            Text(describe_adapt_job(adapting, short=True), style="italic"),
        ]
    if waiting_for:  # a search's wait that nothing else on screen explains: first, never cut
        parts["waiting"] = [Text(waiting_for, style="italic")]
    order = ["waiting", "index", "model", "dense", "mode", "latency", "indexing", "adapting"]
    chosen = {name: 0 for name in parts}
    separator = "  │  "

    def assembled() -> Text:
        shown = [parts[name][chosen[name]] for name in order if name in parts]
        return Text(separator).join(text for text in shown if text.plain)

    if width is not None:
        for step in DEGRADE_STEPS:
            if assembled().cell_len <= width:
                break
            if step == "separator":
                separator = " │ "
            elif step in parts and chosen[step] + 1 < len(parts[step]):
                chosen[step] += 1
    out = assembled()
    if width is not None and out.cell_len > width:
        out.truncate(width, overflow="ellipsis")
    return out


# What gives way first when the status line is too long for the terminal.
DEGRADE_STEPS = (
    "separator",
    "latency",
    "dense",
    "model",
    "index",
    "mode",
    "indexing",
    "adapting",
    "model",
    "index",
    "dense",
    "model",
    "index",
)


def describe_job(state: JobState, short: bool = False) -> str:
    """A few words on a running index job for the status bar: "Embedding chunks 512/1,611";
    `short`: "Embedding 512/1,611 · ~1m20s"."""
    if not state.stage or state.total == 0:
        return "indexing…"
    label = INDEX_STAGE_LABELS.get(state.stage, state.stage)
    if short:
        label = label.split()[0]
    if state.total:
        text = f"{label} {state.completed:,}/{state.total:,}"
    else:
        text = f"{label} {state.completed:,}" if state.completed else f"{label}…"
    eta = state.eta_seconds
    if eta is None:
        return text
    return text + (f" · ~{format_seconds(eta)}" if short else f" · ~{format_seconds(eta)} left")


def describe_adapt_job(state: JobState, short: bool = False) -> str:
    """Adapting (or switching models), for the status bar: "Adapting: Training 40/120"."""
    if not state.stage:
        return "Adapting…"
    label = ADAPT_STAGE_LABELS.get(state.stage, state.stage)
    counts = f" {state.completed:,}/{state.total:,}" if state.total else ""
    if short:
        return f"{label.split()[0]}{counts}"
    return f"Adapting: {label}{counts}"


class StatusBar(Static):
    """Redraws whenever the app's index status, model state, mode, latency, jobs or a search's
    explained wait change."""

    def on_mount(self) -> None:
        for name in (
            "index_status",
            "model_state",
            "mode",
            "latency_ms",
            "indexing",
            "adapting",
            "waiting_for",
        ):
            self.watch(self.app, name, self._changed, init=False)
        self._changed()

    def on_resize(self) -> None:
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
                width=self.content_size.width or None,
                waiting_for=app.waiting_for,
            )
        )
