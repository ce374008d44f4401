"""Indexing progress says what is happening from the first second: files, the model loading
and chunks with their totals, a rate and the time left (issue 12)."""

from __future__ import annotations

import time
from dataclasses import replace

from localsearch.index import Index
from localsearch.progress import ProgressEvent
from localsearch.tui.state import INDEX_STAGE_LABELS, JobState


def test_index_reports_the_model_loading_and_chunks_against_a_total(settings, make_docs) -> None:
    docs = make_docs(
        {f"note{i}.md": f"# Note {i}\n\nSome words about topic {i}.\n" for i in range(5)}
    )
    events: list[ProgressEvent] = []
    index = Index(settings)
    try:
        index.update([docs], progress=events.append)
    finally:
        index.close()
    stages = [e.stage for e in events]
    # Text first: the files are read and committed (BM25 answers) before the model loads.
    assert stages.index("scan") < stages.index("files") < stages.index("model")
    assert stages.index("model") < stages.index("embed")
    assert max(i for i, s in enumerate(stages) if s == "files") < stages.index("model")
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds and all(e.total is not None and e.completed <= e.total for e in embeds)
    assert embeds[-1].completed == embeds[-1].total == 5
    files = [e for e in events if e.stage == "files"]
    assert files[-1].completed == files[-1].total == 5


def running(*events: ProgressEvent, seconds_ago: float = 10.0) -> JobState:
    """A job that received `events`, each stage begun `seconds_ago`."""
    state = JobState().started()
    for event in events:
        state = state.progressed(event)
    began = time.monotonic() - seconds_ago
    return replace(state, stage_started={stage: began for stage in state.stage_started})


def test_time_left_follows_the_files_then_the_chunks() -> None:
    from localsearch.tui.widgets.job_progress import describe_progress

    state = running(ProgressEvent("files", 20, 80, "a.md"), ProgressEvent("embed", 200, 400))
    eta = state.eta_seconds
    assert eta is not None and 29 < eta < 31  # 20 files in 10 s, 60 to go
    line = str(describe_progress(state, INDEX_STAGE_LABELS))
    assert line.startswith("Embedding chunks 200/400 · reading files 20/80 · 20 chunks/s · ~")
    assert line.endswith("left")
    # Every file read, the last chunks still embedding: the chunks' pace says how long.
    state = running(ProgressEvent("files", 80, 80), ProgressEvent("embed", 300, 400))
    eta = state.eta_seconds
    assert eta is not None and 3 < eta < 4  # 300 chunks in 10 s, 100 to go
    # In the first second there is nothing to go by yet.
    assert running(ProgressEvent("files", 1, 80), seconds_ago=0.0).eta_seconds is None


def test_time_left_inside_a_mailbox_follows_its_megabytes() -> None:
    # Its messages cannot be counted ahead: the files bar has no total, so no time was left.
    from localsearch.tui.widgets.job_progress import describe_progress

    state = running(
        ProgressEvent("files", 300, None, "m.mbox › 0300.eml"),
        ProgressEvent("mailbox", 100, 500, "m.mbox"),
    )
    eta = state.eta_seconds
    assert eta is not None and 39 < eta < 41  # 100 MB in 10 s, 400 to go
    line = str(describe_progress(state, INDEX_STAGE_LABELS))
    assert line.startswith("Reading a mailbox (MB) 100/500 · reading files 300 · 10.0 MB/s · ~")


def test_status_bar_shows_adapting() -> None:
    from localsearch.tui.widgets.status_bar import describe_status

    adapting = running(ProgressEvent("train", 40, 120))
    text = str(describe_status(None, "idle", "hybrid", None, JobState(), adapting))
    assert "Adapting: Training 40/120" in text


def test_status_bar_says_how_much_dense_search_sees_while_vectors_are_missing() -> None:
    from localsearch.index_status import IndexStatus
    from localsearch.tui.widgets.status_bar import describe_status

    def status(vectors: int, model: str | None = "all-MiniLM-L6-v2") -> IndexStatus:
        return IndexStatus(
            home="/h",
            roots=[],
            documents=1_200,
            chunks=36_000,
            skipped=0,
            model=model,
            dimension=384,
            vectors=vectors,
            database_bytes=0,
            lexical_bytes=0,
            lexical_in_step=True,
            last_indexed_at=None,
            dense_complete=vectors == 36_000,
        )

    text = str(describe_status(status(1_234), "ready", "hybrid", None, JobState()))
    assert "model all-MiniLM-L6-v2  │  dense: 1,234 of 36,000 chunks embedded  │  mode" in text
    assert "dense:" not in str(describe_status(status(36_000), "ready", "hybrid", None, JobState()))
    # A first index's text phase, before its model is chosen: no "model none".
    text = str(describe_status(status(0, model=None), "idle", "hybrid", None, JobState()))
    assert "model" not in text and text.startswith("1,200 documents · 36,000 chunks  │  dense: ")


def test_a_cli_bar_whose_total_becomes_unknown_drops_the_old_one() -> None:
    # rich's update() keeps a total it is given as None: "Files 35/1" inside a mailbox.
    from localsearch.cli.output import RichProgress

    bars = RichProgress(enabled=False)
    bars(ProgressEvent("files", 1, 1, "a.md"))
    bars(ProgressEvent("files", 35, None, "m.mbox › 0034.eml"))
    assert [(t.completed, t.total) for t in bars.progress.tasks] == [(35, None)]
    bars(ProgressEvent("files", 36, 36, "m.mbox"))
    assert [(t.completed, t.total) for t in bars.progress.tasks] == [(36, 36)]
