"""`localsearch watch` with real files: every kind of change, an editor's save by rename, a
burst of 500 files, and the end state equal to a fresh index of the same folder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import tantivy
from helpers import ctrl_c_interrupts, index_files

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.store import Store
from localsearch.watch import WatchCallbacks, Watcher

DEADLINE_SECONDS = 300


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def watch_printing(docs: Path, home: Path) -> Iterator[list[str]]:
    """`localsearch watch docs` in a process of its own: the lines it writes to stderr, as
    they come; killed at the end."""
    watch = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "watch", str(docs), "--home", str(home)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(watch.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        yield lines
    finally:
        watch.kill()
        watch.wait(DEADLINE_SECONDS)


def documents(home: Path, root: Path) -> dict[str, str]:
    """{path relative to root: the text of its chunks}."""
    store = Store(home / "localsearch.db")
    try:
        rows = store.conn.execute(
            "SELECT d.path, group_concat(c.text, '|') FROM documents d"
            " LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.path"
        ).fetchall()
    finally:
        store.close()
    return {str(Path(path).relative_to(root)): text or "" for path, text in rows}


def signature(home: Path, root: Path) -> tuple:
    """What must equal between a watched index and a fresh one: documents, chunks, BM25."""
    store = Store(home / "localsearch.db")
    try:
        docs = sorted(
            (str(Path(p).relative_to(root)), h, t)
            for p, h, t in store.conn.execute("SELECT path, content_hash, title FROM documents")
        )
        chunks = sorted(
            (str(Path(c.path).relative_to(root)), c.text, c.heading, c.start_line, c.end_line)
            for c in store.iter_chunks()
        )
        vectors = store.count_vectors(store.active_space())  # type: ignore[arg-type]
    finally:
        store.close()
    index = tantivy.Index.open(str(home / "lexical"))
    index.reload()
    return docs, chunks, vectors, index.searcher().num_docs


@pytest.fixture
def watched(tmp_path):  # type: ignore[no-untyped-def]
    docs, home = index_files(tmp_path, {"a.md": "# Alpha\n\nThe first note, about tides.\n"})
    ready = threading.Event()
    watcher = Watcher(load_settings(home), [docs], WatchCallbacks(on_ready=lambda r: ready.set()))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: ready.is_set() or errors, "the watcher to start")
    yield docs, home, watcher
    watcher.stop.set()
    thread.join(30)
    assert not errors, errors


def test_watching_every_root_follows_folders_and_single_files_indexed_later(tmp_path) -> None:
    docs, home = index_files(tmp_path, {"a.md": "# Alpha\n\nThe first note, about tides.\n"})
    later = tmp_path / "later"
    later.mkdir()
    single = tmp_path / "single.md"
    single.write_text("# Single\n\nA file indexed on its own.\n")
    watcher = Watcher(load_settings(home), [], WatchCallbacks())  # every indexed root
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(watcher.ready.is_set, "the watcher to start")
        index = Index(load_settings(home))  # as `localsearch index` beside `serve --watch`
        try:
            index.update([later, single])
        finally:
            index.close()
        time.sleep(3)  # past the next look at the roots
        (later / "narwhal.md").write_text("# Narwhal\n\nA tusked whale.\n")
        wait_for(
            lambda: "later/narwhal.md" in documents(home, tmp_path),
            "a file in a folder indexed after the watch began",
        )
        # An editor's save by rename, then a plain append: both reach the index.
        temporary = tmp_path / ".single.md.tmp"
        temporary.write_text("# Single\n\nRewritten about glaciers.\n")
        os.replace(temporary, single)
        wait_for(lambda: "glaciers" in documents(home, tmp_path).get("single.md", ""), "a save")
        with single.open("a") as handle:
            handle.write("\nAnd then moraines.\n")
        wait_for(lambda: "moraines" in documents(home, tmp_path).get("single.md", ""), "an append")
    finally:
        watcher.stop.set()
        thread.join(30)


def test_create_modify_rename_delete_and_save_by_rename(watched) -> None:
    docs, home, _ = watched
    (docs / "b.md").write_text("# Beta\n\nSourdough starter notes.\n")
    wait_for(lambda: "b.md" in documents(home, docs), "a created file")

    (docs / "b.md").write_text("# Beta\n\nRye bread instead.\n")
    wait_for(lambda: "Rye bread" in documents(home, docs).get("b.md", ""), "a modified file")

    (docs / "b.md").rename(docs / "c.md")
    wait_for(lambda: set(documents(home, docs)) == {"a.md", "c.md"}, "a renamed file")

    (docs / "c.md").unlink()
    wait_for(lambda: set(documents(home, docs)) == {"a.md"}, "a deleted file")

    # How vim and many editors save: write a temporary file, then rename it over the original.
    temporary = docs / ".a.md.tmp"
    temporary.write_text("# Alpha\n\nRewritten: glaciers carve valleys.\n")
    os.replace(temporary, docs / "a.md")
    wait_for(lambda: "glaciers" in documents(home, docs).get("a.md", ""), "a save by rename")
    assert set(documents(home, docs)) == {"a.md"}


def test_a_file_whose_name_is_not_utf8_is_indexed_and_watching_goes_on(watched) -> None:
    # watchfiles cannot name such a path and raised, ending `watch` (and a server's watching).
    docs, home, watcher = watched
    with open(os.path.join(os.fsencode(docs), b"caf\xe9.md"), "wb") as handle:
        handle.write(b"# Cafe\n\nAn espresso with steamed milk.\n")
    wait_for(lambda: "caf\\xe9.md" in documents(home, docs), "the oddly named file")
    (docs / "b.md").write_text("# Beta\n\nSourdough starter notes.\n")
    wait_for(lambda: "b.md" in documents(home, docs), "a file created after it")


def test_a_watched_folder_deleted_and_made_again_is_watched_again(watched) -> None:
    # The watch stayed on the deleted folder and saw nothing of the new one.
    import shutil

    docs, home, _ = watched
    shutil.rmtree(docs)
    time.sleep(3)  # past a look at the roots: the deleted folder keeps its documents
    docs.mkdir()
    (docs / "k2.md").write_text("# Kiwi\n\nKiwi again.\n")
    wait_for(lambda: set(documents(home, docs)) == {"k2.md"}, "the folder made again")


def test_a_root_removed_while_watched_stays_removed(tmp_path) -> None:
    # A change in it soon after `roots --remove` indexed the whole folder again.
    docs, home = index_files(tmp_path, {"a.md": "# Aardvark\n\nA private note.\n"})
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.md").write_text("# Badger\n\nAnother note.\n")
    index = Index(load_settings(home))
    try:
        index.update([other])
    finally:
        index.close()
    watcher = Watcher(load_settings(home), [], WatchCallbacks())  # every indexed root
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(watcher.ready.is_set, "the watcher to start")
        index = Index(load_settings(home))
        try:
            index.remove_root(docs)
        finally:
            index.close()
        (docs / "n.md").write_text("# Note\n\nWritten just after the removal.\n")
        updates = watcher.updates
        (other / "c.md").write_text("# Cat\n\nA change elsewhere, seen after it.\n")
        wait_for(lambda: watcher.updates > updates, "the change elsewhere")
        assert set(documents(home, tmp_path)) == {"other/b.md", "other/c.md"}
    finally:
        watcher.stop.set()
        thread.join(30)


@pytest.mark.slow
def test_a_burst_of_500_files_ends_as_a_fresh_index(watched, tmp_path) -> None:
    docs, home, watcher = watched
    staging = tmp_path / "staging"
    staging.mkdir()
    names = {f"burst/{i // 100}/note-{i}.md" for i in range(500)}
    for name in sorted(names):
        number = name.rsplit("-", 1)[1].split(".")[0]
        source = staging / f"{number}.md"
        source.write_text(
            f"# Note {number}\n\nPassage number {number} about topic {int(number) % 7}.\n"
        )
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, docs / name)  # each file appears whole, as a checkout writes them
    (docs / "a.md").unlink()
    wanted = names
    wait_for(lambda: set(documents(home, docs)) == wanted and not watcher.busy, "the burst")
    watcher.stop.set()

    fresh_home = tmp_path / "fresh-home"
    index = Index(load_settings(fresh_home))
    try:
        index.update([docs])
    finally:
        index.close()
    assert signature(home, docs) == signature(fresh_home, docs)


def test_a_watching_server_makes_a_saved_file_searchable(tmp_path, capsys) -> None:
    from helpers import run_cli

    from localsearch.server.client import ask
    from localsearch.server.service import SearchServer

    docs, home = index_files(tmp_path, {"a.md": "# Alpha\n\nThe first note, about tides.\n"})
    server = SearchServer(load_settings(home), idle_seconds=0, watch=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: ask(home, {"op": "status"}) is not None, "the server")
        (docs / "b.md").write_text("# Beta\n\nBeekeepers inspect the hive weekly.\n")

        def found() -> bool:
            code, out, _ = run_cli(["search", "beekeepers hive", "--home", str(home)], capsys)
            return code == 0 and out.startswith("1. Beta  ")

        wait_for(found, "the saved file in the server's results")
        assert server.served >= 1
    finally:
        server.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_watch_refuses_a_file_and_an_empty_home(tmp_path, capsys) -> None:
    from helpers import run_cli

    note = tmp_path / "note.md"
    note.write_text("# Note\n")
    assert run_cli(["watch", "--home", str(tmp_path / "home")], capsys) == (
        1,
        "",
        "Error: no folders are indexed yet — run `localsearch watch PATH`\n",
    )
    assert run_cli(["watch", str(note), "--home", str(tmp_path / "home")], capsys) == (
        2,
        "",
        f"Error: not a folder: {note} — watch folders, not single files\n",
    )
    missing = tmp_path / "missing"  # was "not a folder … watch folders, not single files"
    assert run_cli(["watch", str(missing), "--home", str(tmp_path / "home")], capsys) == (
        2,
        "",
        f"Error: no such folder: {missing}\n",
    )


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])  # SIGTERM ended it with -15
def test_ctrl_c_or_sigterm_while_watching_stops_cleanly(tmp_path, signal_name) -> None:
    import signal

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    watch = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "watch", str(docs), "--home", str(tmp_path / "h")],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_interrupts,
    )
    assert watch.stderr is not None
    lines = []
    try:
        while not (lines and lines[-1].startswith("Watching ")):
            lines.append(watch.stderr.readline())
            assert lines[-1], lines  # it ended before watching
        watch.send_signal(getattr(signal, signal_name))
        code, rest = watch.wait(DEADLINE_SECONDS), watch.stderr.read()
    finally:
        watch.kill()
    assert (code, rest.splitlines()[-1:]) == (0, ["Stopped watching."]), (lines, rest)
    assert "Interrupted" not in rest


def test_watch_names_a_file_it_skips_once(tmp_path) -> None:
    # A corrupt PDF saved into a watched folder was skipped without a word: no line came, and
    # the file was simply not found. Each skip is named once, not again at every change.

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    (docs / "old.pdf").write_bytes(b"%PDF-1.4 not a PDF at all")
    with watch_printing(docs, tmp_path / "h") as lines:
        wait_for(lambda: any(line.startswith("Watching ") for line in lines), "the watch")
        said = [line for line in lines if "━" not in line]  # progress bars aside
        assert said[0].startswith("Indexed in ") and said[0].endswith(
            ": 1 added, 0 updated, 0 removed; 1 chunk written (1 embedded, 0 reused); 1 file"
            " skipped (`localsearch status --skipped` says why).\n"
        ), lines
        (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not a PDF either")
        wait_for(lambda: any(line.startswith("skipped ") for line in lines), "the skip")
        (docs / "b.md").write_text("# Beta\n\nSourdough.\n")
        wait_for(lambda: any(line.startswith("Updated in ") for line in lines), "the next file")
    skips = [line for line in lines if line.startswith("skipped ")]
    assert skips == [f"skipped {docs / 'broken.pdf'}: corrupt PDF: data format error\n"], lines


def test_each_later_update_says_what_it_wrote_as_index_does(tmp_path) -> None:
    # "Updated in 0.4s: 1 added, 0 updated, 0 removed." said nothing of chunks or vectors,
    # which index's report and watch's first line count.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    with watch_printing(docs, tmp_path / "h") as lines:
        wait_for(lambda: any(line.startswith("Watching ") for line in lines), "the watch")
        updated = lambda: [line for line in lines if line.startswith("Updated in ")]  # noqa: E731
        (docs / "b.md").write_text("# Beta\n\nSourdough.\n")
        wait_for(lambda: len(updated()) == 1, "the new file")
        (docs / "c.md").write_text("# Beta\n\nSourdough.\n")  # the same text: its vector
        wait_for(lambda: len(updated()) == 2, "the copy")
        (docs / "b.md").unlink()
        wait_for(lambda: len(updated()) == 3, "the deletion")
    assert [line.partition(": ")[2] for line in updated()] == [
        "1 added, 0 updated, 0 removed; 1 chunk written (1 embedded, 0 reused).\n",
        "1 added, 0 updated, 0 removed; 1 chunk written (0 embedded, 1 reused).\n",
        "0 added, 0 updated, 1 removed; 0 chunks written (0 embedded, 0 reused).\n",
    ], lines


def test_watch_says_a_deleted_folder_is_missing_then_watches_it_again(tmp_path) -> None:
    # Deleting the watched folder printed "Watching …/docs (Ctrl-C stops)." about the folder
    # just deleted, as if nothing had happened.
    import shutil

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    watching = f"Watching {docs} (Ctrl-C stops).\n"
    with watch_printing(docs, tmp_path / "h") as lines:
        wait_for(lambda: watching in lines, "the watch")
        shutil.rmtree(docs)
        said = lambda: [line for line in lines if "━" not in line]  # noqa: E731 - bars aside
        wait_for(lambda: len(said()) > 2, "a word on the deleted folder")
        assert said()[2:] == [
            f"Warning: {docs} is missing; its documents are kept, and it is watched again once"
            " it is back.\n"
        ]
        docs.mkdir()
        (docs / "b.md").write_text("# Beta\n\nSourdough.\n")
        wait_for(lambda: any(line.startswith("Updated in ") for line in lines), "the new folder")
    updated = [line for line in lines if line.startswith("Updated in ")]
    assert updated[0].endswith(
        ": 1 added, 0 updated, 1 removed; 1 chunk written (1 embedded, 0 reused).\n"
    ), lines


def test_watch_shows_progress_while_it_indexes_before_watching(tmp_path) -> None:
    # The first update (a whole new folder, or the backlog of vectors an interrupted index
    # left) drew nothing: a minute of silence, then "Indexed in 53.2s: 0 added, …".

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    (docs / "b.md").write_text("# Beta\n\nSourdough.\n")
    with watch_printing(docs, tmp_path / "h") as lines:
        wait_for(lambda: any(line.startswith("Watching ") for line in lines), "the watch")
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("Watching ")) + 1]
    bars = {line.split("━")[0].strip(): line.split() for line in lines if "━" in line}
    assert "2/2" in bars["Files"] and "2/2" in bars["Embedding chunks"], lines
    assert lines[-2].endswith(
        ": 2 added, 0 updated, 0 removed; 2 chunks written (2 embedded, 0 reused).\n"
    ), lines


def test_a_later_update_that_takes_a_while_shows_progress_too(
    tmp_path, capsys, monkeypatch
) -> None:
    # Only the first update drew index's bars: 200 files copied into a watched folder were
    # minutes of silence, then "Updated in …". One that takes more than a moment draws them.
    import _thread
    import signal

    from helpers import run_cli

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    watchers: list[Watcher] = []
    updated: list[str] = []
    update = Watcher._update

    def counted(self, index, roots, changed):  # type: ignore[no-untyped-def]
        watchers.append(self)
        update(self, index, roots, changed)
        updated.extend(changed)

    def save_then_stop() -> None:
        try:
            wait_for(lambda: watchers and watchers[0].ready.is_set(), "the watch")
            (docs / "b.md").write_text("# Beta\n\nSourdough.\n")  # as if it took a while
            wait_for(lambda: str(docs / "b.md") in updated, "the update for b.md")
            monkeypatch.setattr("localsearch.cli.watch_cmd.LATER_BARS_AFTER_SECONDS", 3600.0)
            (docs / "c.md").write_text("# Gamma\n\nBees.\n")  # done in a moment
            wait_for(lambda: str(docs / "c.md") in updated, "the update for c.md")
        finally:
            _thread.interrupt_main()  # Ctrl-C, also when a wait failed

    monkeypatch.setattr(Watcher, "_update", counted)
    monkeypatch.setattr("localsearch.cli.watch_cmd.LATER_BARS_AFTER_SECONDS", 0.0, raising=False)
    on_sigterm = signal.getsignal(signal.SIGTERM)
    driver = threading.Thread(target=save_then_stop, daemon=True)
    driver.start()
    try:
        code, _, err = run_cli(["watch", str(docs), "--home", str(tmp_path / "h")], capsys)
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)
    driver.join(DEADLINE_SECONDS)
    lines = err.splitlines()
    assert (code, lines[-1]) == (0, "Stopped watching."), err
    lines = lines[[n for n, line in enumerate(lines) if line.startswith("Watching ")][-1] :]
    ends = [n for n, line in enumerate(lines) if line.startswith("Updated in ")]
    assert len(ends) == 2, err  # b.md, then c.md
    bars = {line.split()[0]: line.split() for line in lines[: ends[0]] if "━" in line}
    assert "3/3" in bars["Files"] or "2/2" in bars["Files"], err
    assert not any("━" in line for line in lines[ends[0] : ends[1]]), err


def test_watch_carries_on_with_the_new_version_once_localsearch_is_upgraded(tmp_path) -> None:
    """A watch left on the old code would go on writing the index as that version does (and
    rebuild what the new one made): once localsearch's own files change and settle, it starts
    again from them, in the same process."""
    import signal

    from helpers import copy_of_localsearch

    package = copy_of_localsearch(tmp_path) / "localsearch"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nTides.\n")
    watch = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "watch", str(docs), "--home", str(tmp_path / "h")],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        preexec_fn=ctrl_c_interrupts,
    )
    assert watch.stderr is not None
    lines: list[str] = []
    give_up = threading.Timer(120, watch.kill)  # then a read ends the test, not the suite
    give_up.start()

    def read_until(start: str) -> None:
        while not (lines and lines[-1].startswith(start)):
            lines.append(watch.stderr.readline())  # type: ignore[union-attr]
            assert lines[-1], lines  # it ended

    try:
        read_until("Watching ")
        with (package / "wording.py").open("a") as upgrade:
            upgrade.write("\n# the next version\n")
        read_until("localsearch changed on disk (an upgrade or an edit)")
        read_until("Watching ")
        (docs / "b.md").write_text("# Badgers\n\nSetts.\n")
        read_until("Updated ")
        assert set(documents(tmp_path / "h", docs)) == {"a.md", "b.md"}
        watch.send_signal(signal.SIGINT)
        code, rest = watch.wait(DEADLINE_SECONDS), watch.stderr.read()
    finally:
        give_up.cancel()
        watch.kill()
    assert (code, rest.splitlines()[-1:]) == (0, ["Stopped watching."]), (lines, rest)
