"""The search history: recording, reading back as current chunk ids, privacy switches."""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from helpers import index_files, run_cli

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


class TerminalInput(io.StringIO):
    """stdin as if typed at a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def indexed_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("history")
    index_files(base, DOCS)
    return base


@pytest.fixture
def indexed(indexed_once: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The indexed folder and a fresh copy of its home, for tests that write only to the
    database (the copy's roots name the shared folder, so a test that re-indexes makes its own)."""
    shutil.copytree(indexed_once / "home", tmp_path / "indexed-home")
    return indexed_once / "docs", tmp_path / "indexed-home"


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


# -- the CLI: search records, --open, feedback, history ---------------------------------------


def logged_at(home: Path) -> list[str]:
    store = Store(load_settings(home).database_path)
    try:
        return [
            datetime.fromtimestamp(s.at).strftime("%Y-%m-%d %H:%M")
            for s in SearchHistory(store).searches()
        ]
    finally:
        store.close()


def recording_editor(tmp_path: Path) -> tuple[str, Path]:
    """An $EDITOR named vim (so it is given +LINE) that writes its arguments to a file."""
    calls = tmp_path / "editor-calls"
    script = tmp_path / "bin" / "vim"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script), calls


def test_open_reaches_a_file_whose_name_is_not_utf8(tmp_path, monkeypatch, capsys) -> None:
    # The result showed the name escaped (bad\\xffname.txt) and --open looked for that name:
    # "no longer exists".
    import os

    from helpers import index_files

    docs, home = index_files(tmp_path, {"placeholder.md": "# Placeholder\n\nNothing here.\n"})
    real = os.path.join(os.fsencode(docs), b"bad\xffname.txt")
    with open(real, "wb") as file:
        file.write(b"Bilby ears are long and thin.\n")
    assert run_cli(["index", "--home", str(home)], capsys)[0] == 0
    editor, calls = recording_editor(tmp_path)
    monkeypatch.setenv("EDITOR", editor)
    code, out, err = run_cli(
        ["search", "bilby ears", "-k", "1", "--open", "1", "--home", str(home)], capsys
    )
    assert (code, err) == (0, f"Opened {docs}/bad\\xffname.txt:1\n")
    assert os.fsencode(calls.read_text(errors="surrogateescape")) == b"+1 " + real + b"\n"


def test_a_root_folder_that_is_gone_is_named_with_what_to_do(tmp_path, capsys) -> None:
    # "re-index to bring the index up to date", but `index` keeps a missing root's documents
    # (a disk not mounted), and `roots` listed it as any other.
    import shutil

    from helpers import index_files

    docs, home = index_files(tmp_path, {"wombat.md": "# Wombats\n\nWombat droppings are cubes.\n"})
    shutil.rmtree(docs)
    code, out, err = run_cli(["search", "wombat cubes", "--open", "1", "--home", str(home)], capsys)
    assert code == 1
    assert err == (
        f"Error: {docs}/wombat.md no longer exists: the indexed folder {docs} is gone — put it"
        f" back (a disk not mounted?), or drop it from the index: `localsearch roots --remove"
        f" {docs}`\n"
    )
    warning = (
        f"Warning: {docs} is missing; its documents are kept until it is back or"
        f" `localsearch roots --remove {docs}`\n"
    )
    code, out, err = run_cli(["roots", "--home", str(home)], capsys)
    assert (code, out, err) == (0, f"{docs}\n", warning)
    code, out, err = run_cli(["status", "--home", str(home)], capsys)
    assert (code, err) == (0, warning)  # status listed it as any other folder
    assert f"  {docs}  (1 document, 1 chunk)" in out


def test_cli_search_open_feedback_and_history(indexed, tmp_path, monkeypatch, capsys) -> None:
    docs, home = indexed
    h = ["--home", str(home)]
    bread = docs / "bread.md"
    assert run_cli(["history", *h], capsys) == (0, "No searches recorded.\n", "")

    code, out, err = run_cli(["search", "sourdough starter", "--mode", "bm25", *h], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("1. Sourdough bread")
    assert run_cli(["feedback", "1", "--good", *h], capsys) == (
        0,
        f'Marked result 1 of search #1 "sourdough starter" as "this is it": {bread}:1\n',
        "",
    )
    assert run_cli(["feedback", "2", "--bad", *h], capsys) == (
        2,
        "",
        "Error: search #1 has no result 2 — see `localsearch history`\n",
    )

    editor, calls = recording_editor(tmp_path)
    monkeypatch.setenv("EDITOR", editor)
    code, out, err = run_cli(["search", "beekeeping hive", "--open", "1", "-k", "2", *h], capsys)
    assert code == 0
    assert err == f"Opened {docs / 'bees.txt'}:1\n"
    assert calls.read_text() == f"+1 {docs / 'bees.txt'}\n"
    # The search is logged with what it showed, so it shows it: the user gets to see what there
    # is (and `feedback N` works on it) instead of an error alone.
    code, out, err = run_cli(["search", "beekeeping hive", "--open", "3", "-k", "2", *h], capsys)
    assert (code, err) == (2, "Error: no result 3: the search found 2 results\n")
    assert out.startswith("1. ") and "\n2. " in out
    assert run_cli(["feedback", "2", "--bad", "--search", "2", *h], capsys)[0] == 0

    second, first = logged_at(home)[1:]
    code, out, err = run_cli(["history", "-n", "2", *h], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("#3  ") and lines[0].endswith(
        "cli hybrid  beekeeping hive  (2 results)"
    )
    assert lines[1:] == [
        f"#2  {second}  cli hybrid  beekeeping hive  (2 results)",
        f"    opened: 1. {docs / 'bees.txt'}:1",
        f"    not this: 2. {lines[-1].split('2. ', 1)[1]}",
    ]
    assert run_cli(["history", "-n", "1", "--json", *h], capsys)[0] == 0
    code, out, _ = run_cli(["history", "--json", *h], capsys)
    data = json.loads(out)
    assert [(s["id"], s["query"], s["source"]) for s in data] == [
        (3, "beekeeping hive", "cli"),
        (2, "beekeeping hive", "cli"),
        (1, "sourdough starter", "cli"),
    ]
    assert [(o["rank"], o["path"]) for o in data[1]["opened"]] == [(1, str(docs / "bees.txt"))]
    assert [r["path"] for r in data[2]["relevant"]] == [str(bread)]
    assert data[2]["mode"] == "bm25" and len(data[2]["shown"]) == 1
    assert first == logged_at(home)[2]

    code, out, err = run_cli(
        ["search", "yeast", "--path", "*.md", "--type", "md", "--type", "txt", *h], capsys
    )
    assert (code, err) == (0, "")
    code, out, _ = run_cli(["history", "-n", "1", *h], capsys)
    assert out.splitlines()[0].endswith(
        "cli hybrid  yeast  --path '*.md' --type md --type txt  (2 results)"
    )
    [filtered] = json.loads(run_cli(["history", "-n", "1", "--json", *h], capsys)[1])
    assert (filtered["path_glob"], filtered["doc_types"]) == ("*.md", ["md", "txt"])
    assert (data[0]["path_glob"], data[0]["doc_types"]) == (None, [])
    # Types alone are set apart from the query as a path is: "yeast --type md" read as a query.
    assert run_cli(["search", "yeast", "--type", "txt", *h], capsys)[0] == 0
    code, out, _ = run_cli(["history", "-n", "1", *h], capsys)
    assert out.splitlines()[0].endswith("cli hybrid  yeast  --type txt  (1 result)")
    # A newline in a query cannot break the listing's one line per search.
    assert run_cli(["search", "yeast\n#9  fake line", "--mode", "bm25", *h], capsys)[0] == 0
    code, out, _ = run_cli(["history", "-n", "1", *h], capsys)
    assert len(out.splitlines()) == 1
    assert "yeast\u240a#9  fake line" in out

    # At a terminal --clear asks first, and anything but yes keeps the log.
    monkeypatch.setattr("sys.stdin", TerminalInput("\n"))
    code, out, err = run_cli(["history", "--clear", *h], capsys)
    assert (code, out) == (0, "Nothing deleted.\n"), err
    assert err.startswith("Delete all 6 recorded searches? `localsearch adapt` learns from them")
    monkeypatch.setattr("sys.stdin", TerminalInput(""))
    assert run_cli(["history", "--clear", *h], capsys)[:2] == (0, "Nothing deleted.\n")  # EOF
    assert len(json.loads(run_cli(["history", "--json", *h], capsys)[1])) == 6
    assert run_cli(["history", "--clear", "--json", *h], capsys) == (
        0,
        '{\n  "deleted": 6,\n  "active_model_learnt_from_them": false\n}\n',
        "",
    )
    assert run_cli(["search", "yeast", "--mode", "bm25", *h], capsys)[0] == 0
    monkeypatch.setattr("sys.stdin", TerminalInput("y\n"))
    code, out, _ = run_cli(["history", "--clear", *h], capsys)
    assert (code, out) == (0, "Deleted 1 search from the history.\n")
    assert run_cli(["history", *h], capsys) == (0, "No searches recorded.\n", "")
    assert run_cli(["feedback", "1", "--good", *h], capsys) == (
        1,
        "",
        "Error: no search to give feedback on — run `localsearch search QUERY` first\n",
    )


def test_cli_feedback_errors(indexed, capsys) -> None:
    _, home = indexed
    h = ["--home", str(home)]
    assert run_cli(["feedback", "1", *h], capsys) == (2, "", "Error: say --good or --bad\n")
    both = "Error: say --good or --bad, not both\n"
    assert run_cli(["feedback", "1", "--good", "--bad", *h], capsys) == (2, "", both)
    assert run_cli(["feedback", "1", "--good", "--search", "9", *h], capsys) == (
        2,
        "",
        "Error: no search #9 in the history — see `localsearch history`\n",
    )
    code, _, err = run_cli(["feedback", "0", "--good", *h], capsys)
    assert code == 2 and "Invalid value for 'N': 0 is not in the range x>=1." in err


def test_cli_records_nothing_when_history_is_off(indexed, monkeypatch, capsys) -> None:
    _, home = indexed
    h = ["--home", str(home)]
    monkeypatch.setenv("LOCALSEARCH_RECORD_HISTORY", "0")
    code, out, _ = run_cli(["search", "tidal power", "--json", *h], capsys)
    assert code == 0 and json.loads(out)["search_id"] is None
    off = "set record_history = true in config.toml and unset LOCALSEARCH_RECORD_HISTORY"
    assert run_cli(["history", *h], capsys) == (
        0,
        f"No searches recorded. Recording is off ({off} to turn it on).\n",
        "",
    )
    assert run_cli(["feedback", "1", "--good", *h], capsys) == (
        1,
        "",
        f"Error: the search history is off — {off}\n",
    )
    monkeypatch.delenv("LOCALSEARCH_RECORD_HISTORY")
    assert run_cli(["history", *h], capsys) == (0, "No searches recorded.\n", "")


def test_a_search_the_server_answers_is_logged_by_the_server(indexed, monkeypatch, capsys) -> None:
    import threading
    import time

    from localsearch.server.client import ask
    from localsearch.server.service import SearchServer

    _, home = indexed
    server = SearchServer(load_settings(home), idle_seconds=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while ask(home, {"op": "status"}) is None:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.1)
    h = ["--home", str(home)]
    try:
        code, out, _ = run_cli(["search", "beekeeping hive", "--json", *h], capsys)
        assert code == 0 and server.served == 1
        assert json.loads(out)["search_id"] == 1
        monkeypatch.setenv("LOCALSEARCH_RECORD_HISTORY", "0")
        code, out, _ = run_cli(["search", "sourdough", "--json", *h], capsys)
        assert code == 0 and server.served == 2 and json.loads(out)["search_id"] is None
    finally:
        server.stop()
        thread.join(10)
    monkeypatch.delenv("LOCALSEARCH_RECORD_HISTORY")
    store = Store(load_settings(home).database_path)
    try:
        assert [(s.query, s.source) for s in SearchHistory(store).searches()] == [
            ("beekeeping hive", "cli")
        ]
    finally:
        store.close()


def interrupt(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("where", "autostart"),
    [
        ("localsearch.cli.search_cmd.print_results", "0"),  # while the results are printed
        ("localsearch.server.client.start_in_background", "1"),  # as it starts a server
    ],
)
def test_ctrl_c_before_the_results_are_shown_logs_no_search(
    indexed, monkeypatch, capsys, where, autostart
) -> None:
    # The search was in the history with its results though it printed none, and the CLI said
    # "Interrupted; nothing was written."
    _, home = indexed
    monkeypatch.setenv("LOCALSEARCH_SERVER_AUTOSTART", autostart)
    monkeypatch.setattr(where, interrupt)
    assert run_cli(["search", "beekeeping hive", "--home", str(home)], capsys) == (
        130,
        "",
        "Interrupted; nothing was written.\n",
    )
    store = Store(load_settings(home).database_path)
    try:
        assert SearchHistory(store).count() == 0
    finally:
        store.close()


def test_a_search_whose_client_left_before_the_reply_is_not_logged(indexed) -> None:
    # A Ctrl-C while the server searched: the server logged it, then found no one to tell.
    import socket
    import threading
    import time

    from localsearch.server.client import ask
    from localsearch.server.protocol import PROTOCOL_VERSION, encode, short_address, socket_path
    from localsearch.server.service import SearchServer

    _, home = indexed
    server = SearchServer(load_settings(home), idle_seconds=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while ask(home, {"op": "status"}) is None:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.1)
    try:
        request = {"protocol": PROTOCOL_VERSION, "op": "search", "query": "hive", "history": "cli"}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            with short_address(socket_path(home)) as address:
                conn.connect(address)
            conn.sendall(encode(request))
        assert ask(home, {"op": "status"}) is not None  # one request at a time: that one is done
        assert server.served == 1
    finally:
        server.stop()
        thread.join(10)
    store = Store(load_settings(home).database_path)
    try:
        assert SearchHistory(store).count() == 0
    finally:
        store.close()


# -- the settling rule for search-as-you-type faces -------------------------------------------


class FakeHistory:
    def __init__(self) -> None:
        self.searches: list[tuple] = []
        self.actions: list[tuple[int, int, str]] = []

    def record_search(self, query, mode, shown, source, **filters):  # type: ignore[no-untyped-def]
        self.searches.append((query, mode, tuple(shown), source, *filters.values()))
        return len(self.searches)

    def record_action(self, search_id, chunk_id, action):  # type: ignore[no-untyped-def]
        self.actions.append((search_id, chunk_id, action))


def test_only_settled_searches_are_logged_and_an_action_settles_one() -> None:
    from localsearch.history.settle import SettledSearchLog

    fake = FakeHistory()
    log = SettledSearchLog(lambda: fake, "tui")  # type: ignore[arg-type, return-value]
    log.showing("tid", "hybrid", [1])
    log.showing("tidal", "hybrid", [2, 3])  # the prefix was replaced before it settled
    assert log.settle() == 1
    assert log.settle() == 1  # once
    log.showing("tidal ", "hybrid", [2, 3])  # the same results again: the same search
    assert log.act(3, "open") is True
    log.showing("tidal power", "hybrid", [4], "notes/*", ["md"])
    assert log.act(4, "relevant") is True  # settles it first
    log.clear()
    assert log.settle() is None
    log.showing("   ", "hybrid", [])
    assert log.settle() is None  # a blank query is never a search
    assert fake.searches == [
        ("tidal", "hybrid", (2, 3), "tui", None, ()),
        ("tidal power", "hybrid", (4,), "tui", "notes/*", ("md",)),
    ]
    assert fake.actions == [(1, 3, "open"), (2, 4, "relevant")]

    no_index = SettledSearchLog(lambda: None, "tui")
    no_index.showing("tidal", "hybrid", [1])
    assert no_index.settle() is None and no_index.act(1, "open") is False


def test_clear_leaves_no_trace_of_the_queries_in_the_database_files(indexed, capsys) -> None:
    """`history --clear` is a privacy control: the deleted queries must not stay readable in
    SQLite's free pages or its write-ahead log (`strings localsearch.db` showed them)."""
    docs, home = indexed
    h = ["--home", str(home)]
    secret = "zanzibar pregnancy test results"
    assert run_cli(["search", secret, "--mode", "bm25", *h], capsys)[0] == 0
    assert run_cli(["history", "--clear", "--yes", *h], capsys)[0] == 0
    for path in home.glob("localsearch.db*"):
        assert secret.encode() not in path.read_bytes(), path.name


def test_a_damaged_row_is_left_out_not_fatal(indexed, capsys) -> None:
    """A row whose values are not of their column's type (a hand edit, a damaged page) used to
    stop `history`, `eval --history` and adapt with "internal error (ValueError ...)"; the
    searches that can be read are read."""
    docs, home = indexed
    h = ["--home", str(home)]
    for query in ("sourdough starter", "beekeeping hive", "tidal power"):
        assert run_cli(["search", query, "--mode", "bm25", *h], capsys)[0] == 0
    store = Store(load_settings(home).database_path)
    with store.transaction():
        store.conn.execute("UPDATE search_log SET at = 'yesterday' WHERE id = 1")
        store.conn.execute("UPDATE search_log_chunks SET start_line = 'abc' WHERE search_id = 2")
    store.close()
    code, out, err = run_cli(["history", "--json", *h], capsys)
    assert (code, err) == (0, "")
    assert [(s["id"], len(s["shown"])) for s in json.loads(out)] == [(3, 1), (2, 0)]
    code, out, err = run_cli(["history", *h], capsys)
    assert (code, err) == (0, "")
    assert "#3" in out and "sourdough" not in out


def test_a_pasted_page_is_shortened_in_the_listing_and_whole_in_json(indexed, capsys) -> None:
    """A 110 KB query (a page pasted into search) filled 1,400 terminal lines of `history`."""
    docs, home = indexed
    h = ["--home", str(home)]
    pasted = "sourdough starter " * 6000
    assert run_cli(["search", pasted, "--mode", "bm25", *h], capsys)[0] == 0
    code, out, err = run_cli(["history", *h], capsys)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert len(line) < 300
    assert f"  {pasted[:100]}" in line and f"… ({len(pasted.strip()):,} characters)" in line
    [logged] = json.loads(run_cli(["history", "--json", *h], capsys)[1])
    assert logged["query"] == pasted.strip()


def test_one_search_can_be_deleted_and_n_does_not_narrow_clear(indexed, capsys) -> None:
    """The only privacy control was --clear, all or nothing, and `history -n 1 --clear --yes`
    (meant: the last one) deleted the whole log that adapt learns from."""
    docs, home = indexed
    h = ["--home", str(home)]
    secret = "zanzibar sourdough starter"
    for query in ("beekeeping hive", secret, "tidal power"):
        assert run_cli(["search", query, "--mode", "bm25", *h], capsys)[0] == 0
    assert run_cli(["history", "-n", "1", "--clear", "--yes", *h], capsys) == (
        2,
        "",
        "Error: -n does not narrow --clear, which deletes every search — to delete some,"
        " give --delete ID (the #ID `localsearch history` lists)\n",
    )
    assert run_cli(["history", "--delete", "2", *h], capsys) == (
        0,
        "Deleted 1 search from the history.\n",
        "",
    )
    assert [s["id"] for s in json.loads(run_cli(["history", "--json", *h], capsys)[1])] == [3, 1]
    for path in home.glob("localsearch.db*"):
        assert b"zanzibar" not in path.read_bytes(), path.name
    assert run_cli(["history", "--delete", "2", "--delete", "3", *h], capsys) == (
        2,
        "",
        "Error: no search #2 in the history — see `localsearch history`\n",
    )
    assert len(json.loads(run_cli(["history", "--json", *h], capsys)[1])) == 2  # all or none
    assert run_cli(["history", "--delete", "3", "--delete", "1", "--json", *h], capsys) == (
        0,
        '{\n  "deleted": 2\n}\n',
        "",
    )
