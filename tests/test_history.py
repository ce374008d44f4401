"""The search history: recording, reading back as current chunk ids, privacy switches."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import index_files

from localsearch.config import load_settings
from localsearch.errors import UsageError
from localsearch.history import SearchHistory
from localsearch.index import Index
from localsearch.search.engine import SearchEngine
from localsearch.store import Store

INTRO = " ".join(f"Turbine {n} turns the rise and fall of the sea into power." for n in range(20))
COSTS = " ".join(f"Barrage {n} is expensive to build but lasts a century." for n in range(20))
DOCS = {
    # Two sections too long to share a chunk, so an edit to one leaves the other's text alone.
    "a-tides.md": f"# Tidal power\n\n{INTRO}\n\n## Costs\n\n{COSTS}\n",
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast. Feed it daily; bake when it doubles.\n",
    "bees.txt": "Beekeeping notes: a hive needs a queen, workers and drones.\n",
}


@pytest.fixture(scope="module")
def indexed_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("history")
    index_files(base, DOCS)
    return base


@pytest.fixture
def indexed(indexed_once: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the home for each test that writes only to the database (its roots
    still name the original folder, so a test that re-indexes makes its own)."""
    shutil.copytree(indexed_once, tmp_path / "copy")
    return tmp_path / "copy" / "docs", tmp_path / "copy" / "home"


def chunk_ids(home: Path, query: str) -> list[int]:
    engine = SearchEngine(load_settings(home))
    try:
        return [hit.chunk_id for hit in engine.search(query, k=10, mode="bm25").hits]
    finally:
        engine.close()


def chunk_of(store: Store, name: str, heading: str = "") -> int:
    row = store.conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE d.path LIKE ? AND c.heading LIKE ? ORDER BY c.ordinal",
        (f"%/{name}", f"%{heading}%"),
    ).fetchone()
    assert row, name
    return int(row[0])


def reindex(home: Path, docs: Path) -> None:
    index = Index(load_settings(home))
    try:
        index.update([docs])
    finally:
        index.close()


def test_searches_read_back_newest_first_with_shown_opened_and_marks(indexed) -> None:
    docs, home = indexed
    store = Store(load_settings(home).database_path)
    history = SearchHistory(store)
    tides, bread, bees = (chunk_of(store, n) for n in ("a-tides.md", "bread.md", "bees.txt"))
    first = history.record_search("tidal power", "hybrid", [tides, bread], "tui", at=100.0)
    second = history.record_search("  bees ", "bm25", [bees, tides, bread], "cli", at=200.0)
    assert first is not None and second is not None
    history.record_action(second, tides, "open")
    history.record_action(second, bees, "open_folder")
    history.record_action(second, tides, "open")
    history.record_action(second, bread, "relevant")
    history.record_action(second, bees, "relevant")
    history.record_action(second, bread, "not_relevant")  # changed their mind

    logged = history.searches()
    assert [s.id for s in logged] == [second, first]
    newest = logged[0]
    assert (newest.query, newest.mode, newest.source, newest.at) == ("bees", "bm25", "cli", 200.0)
    assert newest.shown == (bees, tides, bread)
    assert newest.opened == (tides, bees)
    assert newest.relevant == (bees,)
    assert newest.not_relevant == (bread,)
    assert logged[1].shown == (tides, bread) and logged[1].opened == ()
    assert [s.id for s in history.searches(limit=1)] == [second]
    assert history.latest(source="tui") == logged[1]
    assert history.search(first) == logged[1]
    assert history.search(9999) is None

    assert history.clear() == 2
    assert history.searches() == []
    assert store.conn.execute("SELECT COUNT(*) FROM search_log_chunks").fetchone() == (0,)
    store.close()


def test_reindexed_file_resolves_to_new_chunk_ids_and_a_deleted_one_drops_out(
    tmp_path: Path,
) -> None:
    docs, home = index_files(tmp_path, DOCS)
    settings = load_settings(home)
    store = Store(settings.database_path)
    history = SearchHistory(store)
    costs = chunk_of(store, "a-tides.md", "Costs")
    bread = chunk_of(store, "bread.md")
    search_id = history.record_search("barrage cost", "hybrid", [costs, bread], "cli")
    assert search_id is not None
    history.record_action(search_id, costs, "open")
    history.record_action(search_id, bread, "not_relevant")

    # An edit above the Costs section rewrites every chunk of the file under new ids.
    tides = docs / "a-tides.md"
    tides.write_text(
        tides.read_text().replace("into power.", "into electricity."), encoding="utf-8"
    )
    (docs / "bread.md").unlink()
    reindex(home, docs)

    new_costs = chunk_of(store, "a-tides.md", "Costs")
    assert new_costs != costs
    logged = history.search(search_id)
    assert logged is not None
    assert logged.shown == (new_costs,)
    assert logged.opened == (new_costs,)
    assert logged.not_relevant == ()
    # Nothing about the deleted file is kept.
    kept = store.conn.execute("SELECT COUNT(*) FROM search_log_chunks").fetchone()
    assert kept == (2,)
    store.close()


def test_record_history_off_records_nothing(indexed, monkeypatch) -> None:
    docs, home = indexed
    monkeypatch.setenv("LOCALSEARCH_RECORD_HISTORY", "0")
    settings = load_settings(home)
    assert settings.record_history is False
    store = Store(settings.database_path)
    history = SearchHistory(store, enabled=settings.record_history)
    tides = chunk_of(store, "a-tides.md")
    assert history.record_search("tidal", "hybrid", [tides], "tui") is None
    history.record_action(1, tides, "open")
    assert history.searches() == []
    store.close()


def test_config_file_turns_recording_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert load_settings(home).record_history is True
    (home / "config.toml").write_text("record_history = false\n", encoding="utf-8")
    assert load_settings(home).record_history is False


def test_bad_arguments_are_usage_errors(indexed) -> None:
    docs, home = indexed
    store = Store(load_settings(home).database_path)
    history = SearchHistory(store)
    tides = chunk_of(store, "a-tides.md")
    with pytest.raises(UsageError, match="unknown mode 'fuzzy'"):
        history.record_search("q", "fuzzy", [tides], "cli")
    with pytest.raises(UsageError, match="unknown source 'web'"):
        history.record_search("q", "hybrid", [tides], "web")
    assert history.record_search("   ", "hybrid", [tides], "cli") is None
    search_id = history.record_search("tidal", "hybrid", [tides, 424242], "cli")
    assert search_id is not None
    with pytest.raises(UsageError, match="unknown action 'like'"):
        history.record_action(search_id, tides, "like")
    with pytest.raises(UsageError, match="no search #77 in the history"):
        history.record_action(77, tides, "open")
    with pytest.raises(UsageError, match="chunk 424242 is no longer in the index"):
        history.record_action(search_id, 424242, "open")
    logged = history.searches()
    assert [(s.query, s.shown, s.opened) for s in logged] == [("tidal", (tides,), ())]
    store.close()
