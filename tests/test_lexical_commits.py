"""BM25 commits paced by time: the first batch at once, later ones together, the rest at the end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localsearch import index as index_module
from localsearch.index import Index
from localsearch.lexical import LexicalIndex, paced_commits
from localsearch.lexical.paced_commits import COMMIT_SECONDS, PacedLexicalCommits
from localsearch.search import SearchEngine


@dataclass
class _Chunk:
    id: int
    document_id: int
    text: str
    title: str = ""
    heading: str = ""
    path: str = "notes.md"


def _found(lexical: LexicalIndex, word: str) -> list[int]:
    return sorted(chunk_id for chunk_id, _ in lexical.search(word, 10))


def test_the_first_batch_commits_at_once_and_later_ones_once_time_is_up(tmp_path):
    lexical = LexicalIndex(tmp_path / "lexical")
    lexical.rebuild([], 0)
    rows = {10: _Chunk(10, 1, "alpha"), 20: _Chunk(20, 2, "bravo")}
    now = [0.0]
    rebuilds: list[int] = []
    commits = PacedLexicalCommits(
        lexical,
        lambda ids: {i: rows[i] for i in ids if i in rows},
        lambda: rebuilds.append(1),
        clock=lambda: now[0],
    )

    commits.add([1], [10], 1)
    assert (lexical.synced_version(), _found(lexical, "alpha")) == (1, [10])

    now[0] = 1.0
    commits.add([2], [20], 2)
    assert (lexical.synced_version(), _found(lexical, "bravo")) == (1, [])
    now[0] = 2.0  # document 2 changes again before tantivy saw it: chunk 20 gives way to 21
    del rows[20]
    rows[21] = _Chunk(21, 2, "bravo charlie")
    commits.add([2], [21], 3)
    assert lexical.synced_version() == 1

    now[0] = COMMIT_SECONDS
    rows[30] = _Chunk(30, 3, "delta")
    commits.add([3], [30], 4)
    assert lexical.synced_version() == 4
    assert (_found(lexical, "bravo"), _found(lexical, "delta")) == ([21], [30])
    commits.commit()  # nothing waits
    assert lexical.synced_version() == 4 and rebuilds == []

    # Tantivy does not hold what the changes waiting start from: rebuild from SQLite instead.
    now[0] = 3 * COMMIT_SECONDS
    commits.add([4], [40], 6)
    assert rebuilds == [1] and lexical.synced_version() == 4
    lexical.close()


FILES = {
    "a.md": "# Aardvark\n\nThe aardvark digs for termites at night.\n",
    "b.md": "# Badger\n\nThe badger keeps a tidy sett.\n",
    "c.md": "# Capybara\n\nThe capybara is the largest rodent.\n",
    "d.md": "# Dormouse\n\nThe dormouse sleeps through the winter.\n",
}


def _bm25_names(settings, query: str) -> list[str]:
    engine = SearchEngine(settings)
    try:
        return [Path(hit.path).name for hit in engine.search(query, mode="bm25").hits]
    finally:
        engine.close()


def test_indexing_commits_bm25_at_the_first_batch_and_the_end_not_per_batch(
    settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(index_module, "BATCH_CHUNKS", 1)  # one SQLite batch per file
    monkeypatch.setattr(paced_commits, "COMMIT_SECONDS", 3600.0)
    monkeypatch.setattr(Index, "embed_pending", lambda *args: None)  # the text phase alone
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text)
    index = Index(settings)
    committed: list[int] = []
    apply = index.lexical.apply

    def noted_apply(removed, added, version, log_seq):  # type: ignore[no-untyped-def]
        apply(removed, added, version, log_seq)
        committed.append(version)

    monkeypatch.setattr(index.lexical, "apply", noted_apply)
    try:
        index.update([root])
        assert committed == [1, 4]  # four SQLite batches, two tantivy commits
        assert index.status().lexical_in_step
        assert _bm25_names(settings, "dormouse winter") == ["d.md"]

        # Changes and deletions reach BM25 too: the changed file commits at once, the
        # deletion waits for the end.
        (root / "a.md").write_text("# Aardvark\n\nThe aardvark now eats ants by day.\n")
        (root / "c.md").unlink()
        committed.clear()
        index.update()
        assert committed == [5, 6]
        assert index.status().lexical_in_step
    finally:
        index.close()
    assert _bm25_names(settings, "aardvark ants") == ["a.md"]
    assert _bm25_names(settings, "termites") == []
    assert _bm25_names(settings, "capybara rodent") == []
