"""BM25 left behind SQLite (a kill -9 between paced commits) catches up on the chunks the change
log lists after the position it recorded, instead of being rebuilt whole; where the log cannot
vouch for it, it is rebuilt. Either way it answers as SQLite says."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from helpers import bm25_chunk_ids, index_hanging_at, run_cli, stored_chunk_ids

from localsearch import index as index_module
from localsearch.config import Settings, load_settings
from localsearch.index import Index
from localsearch.lexical import LexicalIndex, catch_up, paced_commits
from localsearch.lexical.catch_up import LexicalSync
from localsearch.progress import ProgressEvent
from localsearch.search import SearchEngine
from localsearch.store import Store, database

FILES = {
    "a.md": "# Aardvark\n\nThe aardvark digs for termites at night.\n",
    "b.md": "# Badger\n\nThe badger keeps a tidy sett.\n",
    "c.md": "# Capybara\n\nThe capybara is the largest rodent.\n",
    "d.md": "# Dormouse\n\nThe dormouse sleeps through the winter.\n",
    "f.md": "# Ferret\n\nThe ferret hunts rabbits in their burrows at night.\n",
}
QUERIES = [
    "capybara",
    "capybara rodent",
    "capybara rivers",
    "dormouse winter",
    "echidna eggs",
    "badger sett latrine",
    "the night",
]


@pytest.fixture(autouse=True)
def text_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index runs in this process stop after the text phase: BM25 needs no model."""
    monkeypatch.setattr(Index, "embed_pending", lambda *args: None)


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The data versions of the whole BM25 rebuilds made in this process."""
    made: list[int] = []
    rebuild = LexicalIndex.rebuild

    def noted(self, chunks, version, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(version)
        return rebuild(self, chunks, version, *args, **kwargs)

    monkeypatch.setattr(LexicalIndex, "rebuild", noted)
    return made


def _write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _index(settings: Settings, roots: list[Path] | None = None) -> None:
    index = Index(settings)
    try:
        index.update(roots)
    finally:
        index.close()


def _change_files(root: Path) -> None:
    """b.md and c.md replaced, d.md deleted, e.md added: in a run with one SQLite batch per
    file, b.md's batch is BM25's first commit, then c.md's, e.md's and the deletion wait."""
    (root / "b.md").write_text("# Badger\n\nThe badger keeps a tidy sett and a latrine.\n")
    (root / "c.md").write_text("# Capybara\n\nThe capybara now swims in warm rivers.\n")
    (root / "d.md").unlink()
    (root / "e.md").write_text("# Echidna\n\nThe echidna is a spiny anteater that lays eggs.\n")


def _index_leaving_bm25_behind(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index run whose BM25 commits never happen, as when killed before its first."""
    with monkeypatch.context() as patched:
        patched.setattr(paced_commits.PacedLexicalCommits, "commit", lambda self: None)
        _index(settings)


def _ranked(lexical_dir: Path, query: str) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) of every chunk the query finds, in a fixed order (ties between
    segments come in either order)."""
    lexical = LexicalIndex(lexical_dir)
    try:
        return sorted(lexical.search(query, 100))
    finally:
        lexical.close()


def _rebuilt_from_sqlite(settings: Settings, folder: Path) -> Path:
    """A BM25 index built whole from the home's database in `folder`."""
    store = Store(settings.database_path)
    lexical = LexicalIndex(folder)
    try:
        lexical.rebuild(store.iter_chunks(), store.data_version())
    finally:
        lexical.close()
        store.close()
    return folder


def _data_version(settings: Settings) -> int:
    store = Store(settings.database_path)
    try:
        return store.data_version()
    finally:
        store.close()


def _bm25_names(settings: Settings, query: str) -> tuple[list[str], list[str]]:
    """(file names of a BM25 search's hits, its warnings)."""
    engine = SearchEngine(settings)
    try:
        found = engine.search(query, mode="bm25")
    finally:
        engine.close()
    return [Path(hit.path).name for hit in found.hits], found.warnings


def test_after_a_kill_9_the_next_search_and_run_catch_bm25_up_as_the_run_would_have(
    settings, tmp_path, monkeypatch, rebuilds
):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    _change_files(root)
    uninterrupted = load_settings(tmp_path / "uninterrupted")
    shutil.copytree(settings.home, uninterrupted.home)

    proc = index_hanging_at(settings, root, _data_version(settings) + 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    behind = LexicalIndex(settings.lexical_dir).synced_version()
    assert behind == _data_version(settings) - 3  # b.md's batch went in, three did not
    assert bm25_chunk_ids(settings) != stored_chunk_ids(settings)
    folder = settings.lexical_dir.stat().st_ino
    rebuilds.clear()

    # The next search brings BM25 up to SQLite from the change log: no rebuild, the same files.
    assert _bm25_names(settings, "capybara rivers") == (["c.md"], [])
    assert rebuilds == [] and settings.lexical_dir.stat().st_ino == folder
    assert LexicalIndex(settings.lexical_dir).synced_version() == _data_version(settings)
    assert bm25_chunk_ids(settings) == stored_chunk_ids(settings)

    # The same run, not killed, in a copy of the home from before it: its last commit deleted
    # and added what the catch-up did, so every score is the same. A whole rebuild finds the
    # same chunks; its scores differ a little, its statistics counting no deleted documents.
    monkeypatch.setattr(index_module, "BATCH_CHUNKS", 1)
    monkeypatch.setattr(paced_commits, "COMMIT_SECONDS", 3600.0)
    _index(uninterrupted)
    assert stored_chunk_ids(uninterrupted) == stored_chunk_ids(settings)
    rebuilt = _rebuilt_from_sqlite(settings, tmp_path / "rebuilt")
    for query in QUERIES:
        caught_up = _ranked(settings.lexical_dir, query)
        assert caught_up == _ranked(uninterrupted.lexical_dir, query), query
        assert [c for c, _ in caught_up] == [c for c, _ in _ranked(rebuilt, query)], query
    assert _ranked(settings.lexical_dir, "dormouse") == []
    assert _ranked(settings.lexical_dir, "rodent") == []
    assert _bm25_names(settings, "echidna eggs") == (["e.md"], [])

    # Killed again with SQLite ahead: the next run catches BM25 up before it reads the files.
    (root / "a.md").write_text("# Aardvark\n\nThe aardvark eats ants by day.\n")
    (root / "f.md").unlink()
    (root / "g.md").write_text("# Gecko\n\nThe gecko climbs glass.\n")
    proc = index_hanging_at(settings, root, _data_version(settings) + 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert bm25_chunk_ids(settings) != stored_chunk_ids(settings)
    rebuilds.clear()
    index = Index(settings)
    try:
        report = index.update()
        in_step = index.status().lexical_in_step
    finally:
        index.close()
    assert (report.added, report.updated, report.removed, report.warnings) == (0, 0, 0, [])
    assert rebuilds == [] and settings.lexical_dir.stat().st_ino == folder
    assert in_step and bm25_chunk_ids(settings) == stored_chunk_ids(settings)
    rebuilt = _rebuilt_from_sqlite(settings, tmp_path / "rebuilt-again")
    for query in ["aardvark ants", "termites", "ferret rabbits", "gecko glass", "the night"]:
        found = [c for c, _ in _ranked(settings.lexical_dir, query)]
        assert found == [c for c, _ in _ranked(rebuilt, query)], query
    assert _ranked(settings.lexical_dir, "termites") == []


def test_a_change_log_trimmed_past_bm25s_position_rebuilds_it_whole(
    settings, tmp_path, monkeypatch, rebuilds
):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    _change_files(root)
    _index_leaving_bm25_behind(settings, monkeypatch)
    lexical = LexicalIndex(settings.lexical_dir)
    since = lexical.synced_log_seq()
    assert since is not None and lexical.synced_version() != _data_version(settings)
    monkeypatch.setattr(database, "VECTOR_LOG_KEEP", 1)
    store = Store(settings.database_path)
    try:
        with store.transaction():
            store.bump_data_version()  # trims the log to its last row or two
        assert store.vector_changes_since(since) is None
    finally:
        store.close()
    rebuilds.clear()

    assert _bm25_names(settings, "capybara rivers") == (["c.md"], [])
    assert rebuilds == [_data_version(settings)]
    rebuilt = _rebuilt_from_sqlite(settings, tmp_path / "rebuilt")
    for query in QUERIES:
        assert _ranked(settings.lexical_dir, query) == _ranked(rebuilt, query), query
    assert _ranked(settings.lexical_dir, "dormouse") == []


def test_a_database_restored_from_before_bm25s_position_rebuilds_it(settings, tmp_path, rebuilds):
    # The log of a database put back from a backup is not the one BM25 read: nothing in it
    # says that c.md had other words, and the count of chunks is the same.
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    backup = tmp_path / "backup.db"
    shutil.copyfile(settings.database_path, backup)
    (root / "c.md").write_text("# Capybara\n\nThe capybara now swims in warm rivers.\n")
    _index(settings)
    assert _bm25_names(settings, "capybara rivers") == (["c.md"], [])
    for part in settings.database_path.parent.glob(settings.database_path.name + "-*"):
        part.unlink()  # the -wal and -shm files of the database replaced
    shutil.copyfile(backup, settings.database_path)
    rebuilds.clear()

    assert _bm25_names(settings, "capybara rodent") == (["c.md"], [])
    assert rebuilds == [_data_version(settings)]
    assert _ranked(settings.lexical_dir, "rivers") == []


def test_a_document_retitled_or_renamed_in_place_reaches_bm25s_catch_up(
    settings, tmp_path, rebuilds
):
    # BM25 holds each chunk's title and path; neither is a chunk row, whose changes alone the
    # log listed before migration 9.
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    store = Store(settings.database_path)
    try:
        with store.transaction():
            store.conn.execute(
                "UPDATE documents SET title = 'Wombat' WHERE path = ?", (str(root / "c.md"),)
            )
            store.conn.execute(
                "UPDATE documents SET path = ? WHERE path = ?",
                (str(root / "quokka.md"), str(root / "a.md")),
            )
            store.bump_data_version()
    finally:
        store.close()
    rebuilds.clear()

    index = Index(settings)
    try:
        assert index.sync_lexical() is LexicalSync.CAUGHT_UP
    finally:
        index.close()
    assert rebuilds == []
    assert _bm25_names(settings, "wombat") == (["c.md"], [])
    assert _bm25_names(settings, "quokka") == (["quokka.md"], [])
    lexical = LexicalIndex(settings.lexical_dir)
    try:  # the old title is gone from the title field (the word stays in heading and body)
        assert lexical.search_query_text("wombat", 10, ["title"], {"title": 1.0})
        assert lexical.search_query_text("capybara", 10, ["title"], {"title": 1.0}) == []
    finally:
        lexical.close()


def test_bm25_state_from_before_positions_gets_one_in_step_and_is_rebuilt_behind(
    settings, tmp_path, monkeypatch, rebuilds
):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    lexical = LexicalIndex(settings.lexical_dir)
    store = Store(settings.database_path)
    try:
        assert lexical.synced_log_seq() == store.change_log_seq()  # the run's last commit's
        state = json.loads(lexical.state_path.read_text())
        del state["log_seq"]  # as an older localsearch wrote it
        lexical.state_path.write_text(json.dumps(state))
        assert lexical.synced_log_seq() is None

        # In step with SQLite, it holds what the log says now: that becomes its position.
        rebuilds.clear()
        index = Index(settings)
        try:
            assert index.sync_lexical() is LexicalSync.IN_STEP
        finally:
            index.close()
        assert rebuilds == [] and lexical.synced_log_seq() == store.change_log_seq()

        # Behind, with no position to catch up from: rebuilt whole.
        _change_files(root)
        _index_leaving_bm25_behind(settings, monkeypatch)
        state = json.loads(lexical.state_path.read_text())
        del state["log_seq"]
        lexical.state_path.write_text(json.dumps(state))
        assert _bm25_names(settings, "capybara rivers") == (["c.md"], [])
        assert rebuilds == [store.data_version()]
        assert lexical.synced_log_seq() == store.change_log_seq()
    finally:
        lexical.close()
        store.close()


def _scramble_segments(lexical: Path) -> None:
    for part in lexical.glob("*.idx"):
        part.write_bytes(b"\xde\xad" * (part.stat().st_size // 2 + 1))


def _delete_store(lexical: Path) -> None:
    for part in lexical.glob("*.store"):
        part.unlink()


def _garbage_meta(lexical: Path) -> None:
    (lexical / "meta.json").write_text("garbage", encoding="utf-8")


def _forget_a_segment(lexical: Path) -> None:
    """Every file reads, and the chunks of one segment are missing (a meta.json restored from
    before they were committed): only the count after a catch-up tells."""
    meta = json.loads((lexical / "meta.json").read_text())
    assert meta["segments"]
    meta["segments"] = meta["segments"][1:]
    (lexical / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage", [_scramble_segments, _delete_store, _garbage_meta, _forget_a_segment]
)
def test_damaged_bm25_files_behind_sqlite_are_rebuilt_not_caught_up(
    settings, tmp_path, monkeypatch, damage
):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    _change_files(root)
    _index_leaving_bm25_behind(settings, monkeypatch)
    damage(settings.lexical_dir)

    names, warnings = _bm25_names(settings, "capybara rivers")
    assert names == ["c.md"]
    assert warnings in ([], ["the BM25 index was damaged; rebuilt it from the database"])
    assert bm25_chunk_ids(settings) == stored_chunk_ids(settings)
    rebuilt = _rebuilt_from_sqlite(settings, tmp_path / "rebuilt")
    for query in QUERIES:
        assert _ranked(settings.lexical_dir, query) == _ranked(rebuilt, query), query


def test_a_long_catch_up_says_so_as_the_bm25_stage(settings, tmp_path, monkeypatch):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    _change_files(root)
    _index_leaving_bm25_behind(settings, monkeypatch)
    monkeypatch.setattr(catch_up, "PROGRESS_FROM", 1)
    events: list[ProgressEvent] = []
    index = Index(settings)
    try:
        assert index.sync_lexical(events.append) is LexicalSync.CAUGHT_UP
    finally:
        index.close()
    assert events and {(e.stage, e.detail) for e in events} == {
        ("lexical", "bringing BM25 index up to date")
    }
    assert events[-1].completed == events[-1].total


def test_a_search_says_on_stderr_that_it_rebuilds_bm25_for_a_new_version(
    settings, tmp_path, capsys
):
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    lexical = LexicalIndex(settings.lexical_dir)
    state = json.loads(lexical.state_path.read_text())
    lexical.state_path.write_text(json.dumps({**state, "schema": state["schema"] - 1}))

    args = ["search", "capybara rodent", "--mode", "bm25", "--json"]
    code, out, err = run_cli(args, capsys)
    assert (code, err) == (
        0,
        "Rebuilding the BM25 index for this version of localsearch (5 chunks)…\n",
    )
    assert Path(json.loads(out)["results"][0]["path"]).name == "c.md"
    code, out, err = run_cli(args, capsys)  # once
    assert (code, err) == (0, "")
    assert Path(json.loads(out)["results"][0]["path"]).name == "c.md"


def test_bm25_files_from_a_newer_version_are_left_to_it(settings, tmp_path, capsys):
    """A process left running across an upgrade must not rebuild the newer version's BM25 in
    its own schema: the two would rebuild it in turn after every change."""
    root = _write(tmp_path / "docs", FILES)
    _index(settings, [root])
    lexical = LexicalIndex(settings.lexical_dir)
    state = json.loads(lexical.state_path.read_text())
    newer = json.dumps({**state, "schema": state["schema"] + 1})
    lexical.state_path.write_text(newer)

    code, out, err = run_cli(["search", "capybara rodent", "--json"], capsys)
    assert code == 0, err
    assert f"{catch_up.NEWER_VERSION}; showing dense results only" in json.loads(out)["warnings"]
    assert catch_up.NEWER_VERSION.startswith("the BM25 index is from a newer version")
    code, _, err = run_cli(["index"], capsys)
    assert code != 0
    assert len(err.strip().splitlines()) <= 2 and "newer version of localsearch" in err
    assert f"remove {settings.lexical_dir}" in err
    assert lexical.state_path.read_text() == newer
