"""Text first, vectors after (issue 16): an index run interrupted while embedding leaves BM25
searchable and a backlog that search, status and adapt name and the next `index` finishes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from localsearch.embed.sentence_transformer import load_encoder
from localsearch.index import Index
from localsearch.search import SearchEngine

DOCS = {
    "install.md": "# Installing\n\nRun the installer with pip. It needs Python 3.11.\n",
    "cooking.txt": "A recipe for sourdough bread: flour, water, salt and a starter.\n",
    "garden.md": "# Garden\n\nTomatoes need sun and water every day in summer.\n",
    "tool.py": 'def greet(name):\n    """Say hello to someone by name."""\n    return name\n',
    "travel.md": "# Travel\n\nTrains across the Alps run every hour in winter.\n",
}


class _Interrupted:
    """The bundled encoder, interrupted (as by Ctrl-C) after `batches` batches of passages, or
    while the model loads when `batches` is None."""

    def __init__(self, settings, batches: int | None) -> None:
        self.inner = load_encoder("all-MiniLM-L6-v2", settings.models_dir)
        self.name, self.location, self.batches = self.inner.name, self.inner.location, batches

    @property
    def dimension(self) -> int:
        if self.batches is None:
            raise KeyboardInterrupt
        return int(self.inner.dimension)

    @property
    def fingerprint(self) -> str:
        return str(self.inner.fingerprint)

    def encode_passages(self, texts, on_progress=None):
        if not self.batches:
            raise KeyboardInterrupt
        self.batches -= 1
        return self.inner.encode_passages(texts, on_progress)

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)


def interrupted_index(settings, root: Path, batches: int | None) -> None:
    index = Index(settings, encoder_factory=lambda reference: _Interrupted(settings, batches))
    try:
        with pytest.raises(KeyboardInterrupt):
            index.update([root])
    finally:
        index.close()


def search(settings, query: str, mode: str = "hybrid"):
    engine = SearchEngine(settings)
    try:
        return engine.search(query, mode=mode)
    finally:
        engine.close()


def test_an_interrupted_embed_phase_leaves_bm25_and_a_backlog_the_next_index_finishes(
    settings, make_docs, capsys, monkeypatch
):
    monkeypatch.setattr("localsearch.embed_backlog.BACKLOG_BATCH", 2)
    root = make_docs(DOCS)
    interrupted_index(settings, root, batches=1)

    index = Index(settings)
    status = index.status()
    index.close()
    assert (status.documents, status.vectors, status.dense_complete) == (5, 2, False)
    chunks = status.chunks
    partial = (
        f"dense: 2 of {chunks} chunks embedded; chunks without a vector are found by BM25 alone"
        " until `localsearch index` finishes"
    )

    found = search(settings, "sourdough bread recipe")
    assert Path(found.hits[0].path).name == "cooking.txt"
    assert found.warnings == [partial]

    code, out, err = run_cli(["search", "sourdough bread recipe", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert Path(data["results"][0]["path"]).name == "cooking.txt"
    assert data["dense"] == {"embedded": 2, "chunks": chunks}
    assert err == f"Warning: {partial}\n"
    code, out, err = run_cli(["search", "sourdough", "--mode", "bm25", "--json"], capsys)
    assert (code, err) == (0, "")
    assert "dense" not in json.loads(out)

    code, out, err = run_cli(["status"], capsys)
    assert code == 0
    dense_line = f"Dense:      2 of {chunks} chunks embedded; `localsearch index` embeds the rest\n"
    assert dense_line in out

    code, out, err = run_cli(["adapt"], capsys)
    assert code == 1
    assert err.strip() == (
        f"Error: dense: 2 of {chunks} chunks embedded; adapt needs them all — run"
        f" `localsearch index` to embed the other {chunks - 2} first"
    )

    code, out, err = run_cli(["index", "--quiet"], capsys)
    assert code == 0
    assert re.search(
        rf": 0 added, 0 updated, 0 removed, 5 unchanged, 0 skipped; 0 chunks written"
        rf" \({chunks - 2} embedded, 0 reused\)\.",
        err,
    )
    code, out, err = run_cli(["status"], capsys)
    assert "Dense:" not in out
    assert f"384-d, {chunks} vectors)" in out
    done = search(settings, "baking a loaf", mode="dense")
    assert Path(done.hits[0].path).name == "cooking.txt"
    assert done.warnings == [] and done.dense is None


def test_before_any_vector_hybrid_answers_from_bm25_and_dense_says_why_it_is_empty(
    settings, make_docs, capsys
):
    root = make_docs(DOCS)
    interrupted_index(settings, root, batches=None)  # the text is in; the model never loaded

    index = Index(settings)
    status = index.status()
    index.close()
    assert (status.model, status.vectors, status.dense_complete) == (None, 0, False)

    found = search(settings, "trains across the alps")
    assert Path(found.hits[0].path).name == "travel.md"
    assert found.warnings == [
        f"dense: 0 of {status.chunks} chunks embedded; chunks without a vector are found by BM25"
        " alone until `localsearch index` finishes"
    ]
    dense = search(settings, "trains across the alps", mode="dense")
    assert dense.hits == []
    assert dense.warnings == [
        f"dense: 0 of {status.chunks} chunks embedded; chunks without a vector are not searched"
        " until `localsearch index` finishes"
    ]

    index = Index(settings)
    report = index.update()
    status = index.status()
    index.close()
    assert (report.unchanged, report.chunks_embedded) == (5, status.chunks)
    assert (status.model, status.vectors) == ("all-MiniLM-L6-v2", status.chunks)
    assert search(settings, "railway in the mountains", mode="dense").warnings == []


def test_a_changed_file_keeps_its_unchanged_passages_and_embeds_the_rest_after_the_text(
    settings, make_docs
):
    root = make_docs(DOCS)
    index = Index(settings)
    try:
        index.update([root])
        garden = root / "garden.md"
        garden.write_text(garden.read_text() + "\n## Winter\n\n" + "Cover the beds. " * 60)
        events = []
        report = index.update(progress=events.append)
        status = index.status()
    finally:
        index.close()
    assert report.updated == 1
    assert report.chunks_reused >= 1 and report.chunks_embedded >= 1
    assert report.chunks_reused + report.chunks_embedded == report.chunks
    assert status.vectors == status.chunks
    stages = [e.stage for e in events]
    assert max(i for i, s in enumerate(stages) if s == "files") < stages.index("embed")
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds[-1].completed == embeds[-1].total == report.chunks_embedded


def test_an_up_to_date_index_does_not_load_the_model(settings, make_docs):
    root = make_docs(DOCS)
    index = Index(settings)
    index.update([root])
    index.close()
    # Any encoding or model load would raise.
    index = Index(settings, encoder_factory=lambda reference: _Interrupted(settings, None))
    try:
        events = []
        report = index.update(progress=events.append)
    finally:
        index.close()
    assert report.unchanged == 5
    assert "model" not in {e.stage for e in events}


async def test_the_tui_status_bar_shows_the_backlog_until_indexing_embeds_it(
    settings, make_docs
) -> None:
    from tui_helpers import make, settle, wait_until

    from localsearch.store.connection import open_connection

    root = make_docs(DOCS)
    index = Index(settings)
    index.update([root])
    chunks = index.status().chunks
    index.close()
    conn = open_connection(settings.database_path)  # two vectors lost, as a kill leaves them
    conn.execute("DELETE FROM vectors_1 WHERE chunk_id IN (SELECT id FROM chunks LIMIT 2)")
    conn.close()

    app = make(settings)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        status = str(app.screen.query_one("#status").render())
        assert f"dense: {chunks - 2} of {chunks} chunks embedded" in status
        assert app.start_indexing(None)
        await wait_until(pilot, lambda: not app.indexing.running, timeout=300)
        await settle(pilot)
        assert not app.indexing.error, app.indexing.error
        status = str(app.screen.query_one("#status").render())
        assert "dense:" not in status and f"{chunks} chunks" in status
