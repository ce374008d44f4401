"""The indexer end to end: real model, real SQLite/sqlite-vec and tantivy."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import bm25_chunk_ids, ctrl_c_interrupts, index_hanging_at, stored_chunk_ids
from helpers import run_cli as run_cli_in_process

from localsearch.config import load_settings
from localsearch.errors import IndexBusyError, ModelMismatchError, UsageError
from localsearch.index import Index
from localsearch.lexical import LexicalIndex
from localsearch.search import SearchEngine
from localsearch.store import Store
from localsearch.store.connection import open_connection

DOCS = {
    "guide/install.md": "# Installing\n\nRun the installer with pip. It needs Python 3.11.\n",
    "guide/usage.md": (
        "# Usage\n\n## Searching\n\n"
        + "Type a query; results are ranked by meaning and by words. " * 25
        + "\n\n## Filtering\n\n"
        + "Restrict results to a folder with a glob pattern. " * 25
        + "\n"
    ),
    "notes/cooking.txt": "A recipe for sourdough bread: flour, water, salt and a starter.\n",
    "src/tool.py": (
        'def greet(name):\n    """Say hello to someone by name."""\n    return f"hi {name}"\n'
    ),
}


def run_cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALSEARCH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "localsearch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def search_paths(settings, query: str, mode: str = "hybrid") -> list[str]:
    engine = SearchEngine(settings)
    try:
        return [Path(h.path).name for h in engine.search(query, mode=mode).hits]
    finally:
        engine.close()


def test_index_then_search_finds_documents(settings, make_docs):
    root = make_docs(DOCS)
    index = Index(settings)
    report = index.update([root])
    index.close()
    assert (report.added, report.updated, report.removed) == (4, 0, 0)
    assert report.chunks >= 5
    assert search_paths(settings, "bread recipe")[0] == "cooking.txt"
    assert search_paths(settings, "baking a loaf", mode="dense")[0] == "cooking.txt"
    assert search_paths(settings, "glob pattern", mode="bm25")[0] == "usage.md"


def test_vectors_live_in_a_real_vec0_table(settings, make_docs):
    index = Index(settings)
    index.update([make_docs(DOCS)])
    index.close()
    conn = open_connection(settings.database_path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'vectors_1'").fetchone()[0]
    assert "USING vec0" in sql
    assert conn.execute("SELECT vec_version()").fetchone()[0].startswith("v")
    chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert conn.execute("SELECT COUNT(*) FROM vectors_1").fetchone()[0] == chunks


def test_incremental_runs_touch_only_what_changed(settings, make_docs):
    root = make_docs(DOCS)
    index = Index(settings)
    index.update([root])

    again = index.update()
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)
    assert again.chunks_embedded == 0

    # Same bytes, new mtime: hashed, not re-extracted or re-embedded.
    os.utime(root / "guide/install.md", ns=(time.time_ns(), time.time_ns() + 10**9))
    touched = index.update()
    assert (touched.updated, touched.unchanged, touched.chunks_embedded) == (0, 4, 0)

    # A new section: the old section's chunk is reused, only the new one is embedded.
    usage = root / "guide/usage.md"
    usage.write_text(
        usage.read_text() + "\n## Exporting\n\n" + "Write results to JSON for scripts. " * 30
    )
    changed = index.update()
    assert changed.updated == 1
    assert changed.chunks_reused >= 1
    assert 1 <= changed.chunks_embedded < changed.chunks

    (root / "notes/cooking.txt").unlink()
    (root / "notes/garden.md").write_text("# Garden\n\nTomatoes need sun and water.\n")
    final = index.update()
    assert (final.added, final.removed) == (1, 1)
    index.close()
    assert "cooking.txt" not in search_paths(settings, "sourdough bread")
    assert search_paths(settings, "tomatoes")[0] == "garden.md"
    assert search_paths(settings, "exporting results to JSON", mode="bm25")[0] == "usage.md"


def test_a_home_inside_the_indexed_folder_is_not_indexed(make_docs):
    root = make_docs({"tides.md": "# Tides\n\nThe moon pulls the sea.\n"})
    settings = load_settings(root / "search-data")  # `index . --home search-data`
    index = Index(settings)
    try:
        first = index.update([root])
        # Its own database, BM25 files and settings are not documents, and never "changed".
        assert (first.added, first.skipped) == (1, [])
        again = index.update([root])
        assert (again.added, again.updated, again.unchanged, again.skipped) == (0, 0, 1, [])
    finally:
        index.close()
    assert search_paths(settings, "moon sea", mode="bm25") == ["tides.md"]


def test_bad_files_are_skipped_with_reasons_and_the_run_continues(settings, make_docs):
    root = make_docs(
        {
            **DOCS,
            "broken.pdf": b"%PDF-1.7\nthis is not really a pdf",
            "broken.docx": b"PK\x03\x04 not a zip at all",
            "blob.dat": bytes(range(256)) * 64,
            "latin1.txt": (
                "Le café est une boisson préparée à partir des grains torréfiés du caféier."
                " La crème brûlée est un dessert français à base de crème et de sucre."
            ).encode("latin-1"),
        }
    )
    settings = load_settings(settings.home, max_file_mb=0.005)
    (root / "huge.md").write_text("# Big\n\n" + "word " * 2000)
    index = Index(settings)
    report = index.update([root])
    status = index.status()
    index.close()
    reasons = {Path(path).name: reason for path, reason in report.skipped}
    assert set(reasons) >= {"broken.pdf", "broken.docx", "blob.dat", "huge.md"}
    assert reasons["huge.md"].startswith("over "), reasons
    assert reasons["broken.pdf"].startswith("corrupt PDF")
    assert report.added == 5  # the four good files and the latin-1 text
    assert status.skipped == len(report.skipped)
    assert "latin1.txt" in search_paths(settings, "crème brûlée", mode="bm25")


def test_a_folder_that_does_not_exist_is_a_usage_error(settings, tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        Index(settings).update([tmp_path / "nope"])


def test_a_device_or_pipe_is_refused_and_not_made_a_root(settings, tmp_path):
    # `index /dev/null` reported "1 skipped" and listed /dev/null among the roots ever after.
    os.mkfifo(tmp_path / "pipe")
    for path in (Path("/dev/null"), tmp_path / "pipe"):
        with pytest.raises(UsageError) as refused:
            Index(settings).update([path])
        assert refused.value.message == f"not a file or folder: {path}"
    assert not settings.database_path.exists()


def test_a_second_writer_is_refused_with_a_clear_message(settings, make_docs):
    root = make_docs(DOCS)
    holder = Index(settings)
    with holder.writer_lock():
        with pytest.raises(IndexBusyError, match="another localsearch process"):
            Index(settings).update([root])
        result = run_cli("index", str(root), "--quiet", home=settings.home, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: another localsearch process is writing to this index")
    assert "Traceback" not in result.stderr


def test_concurrent_index_runs_never_corrupt(settings, corpus):
    root = corpus / "docutils" / "docutils" / "docs" / "howto"
    env = {**os.environ, "LOCALSEARCH_HOME": str(settings.home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "localsearch", "index", str(root), "--quiet"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 0], [0, 1]), outcomes
    for code, err in outcomes:
        if code == 1:
            assert "another localsearch process is writing" in err
    conn = open_connection(settings.database_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = Index(settings).update()
    assert again.added == again.updated == again.removed == 0


def _count(settings, sql: str) -> int:
    """One number from the database, or 0 while its tables do not exist yet."""
    try:
        conn = open_connection(settings.database_path)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - the schema or the vector table may not exist yet
        return 0


def _index_until(settings, root: Path, killed_when) -> None:
    """Start `localsearch index root` in a process and kill -9 it once `killed_when()`."""
    env = {**os.environ, "LOCALSEARCH_HOME": str(settings.home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "index", str(root), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not killed_when():
        time.sleep(0.1)
    assert proc.poll() is None, "indexing finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


# Five real files, 354 chunks: past one committed embedding batch (256), so the second kill
# lands mid-embedding, and half the encoding of the whole folder (702 chunks).
KILLED_FILES = ("config.rst", "latex.rst", "smartquotes.rst", "html.rst", "todo-lists.rst")


def test_kill_9_mid_run_leaves_a_searchable_index_and_the_rerun_finishes(
    settings, corpus, tmp_path
):
    root = tmp_path / "user"
    root.mkdir()
    for name in KILLED_FILES:
        shutil.copy2(corpus / "docutils" / "docutils" / "docs" / "user" / name, root)
    documents = "SELECT COUNT(*) FROM documents"
    chunks = "SELECT COUNT(*) FROM chunks"
    vectors = "SELECT COUNT(*) FROM vectors_1"

    # Killed while the text goes in: what was committed is searchable by its words.
    _index_until(settings, root, lambda: _count(settings, documents) >= 2)
    conn = open_connection(settings.database_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    kept = _count(settings, documents)
    assert kept >= 2
    assert _count(settings, vectors) <= _count(settings, chunks)
    assert search_paths(settings, "docutils", mode="bm25")

    # Killed while embedding: every file's text is in and BM25 finds it; dense is partial.
    _index_until(settings, root, lambda: _count(settings, vectors) > 0)
    total_chunks, embedded = _count(settings, chunks), _count(settings, vectors)
    assert 0 < embedded < total_chunks
    assert "smartquotes.rst" in search_paths(settings, "typographic quotation marks", "bm25")[:3]
    engine = SearchEngine(settings)
    try:
        partial = engine.search("typographic quotation marks")
    finally:
        engine.close()
    assert "smartquotes.rst" in [Path(hit.path).name for hit in partial.hits[:3]]
    assert partial.dense is not None and partial.dense.to_dict() == {
        "embedded": embedded,
        "chunks": total_chunks,
    }
    assert partial.warnings == [
        f"dense: {embedded:,} of {total_chunks:,} chunks embedded; chunks without a vector are"
        " found by BM25 alone until `localsearch index` finishes"
    ]

    rerun = Index(settings)
    report = rerun.update()
    status = rerun.status()
    rerun.close()
    assert report.added == report.updated == 0
    assert report.chunks_embedded + report.chunks_reused == total_chunks - embedded
    assert (status.chunks, status.vectors, status.dense_complete) == (total_chunks,) * 2 + (True,)
    assert status.lexical_in_step
    engine = SearchEngine(settings)
    try:
        done = engine.search("typographic quotation marks", mode="dense")
    finally:
        engine.close()
    assert Path(done.hits[0].path).name == "smartquotes.rst"
    assert done.dense is None and done.warnings == []


def test_kill_9_while_bm25_is_behind_sqlite_the_next_search_and_run_catch_it_up(
    settings, corpus, tmp_path
):
    root = tmp_path / "howto"
    shutil.copytree(corpus / "docutils" / "docutils" / "docs" / "howto", root)
    files = sorted(path.name for path in root.iterdir())
    assert len(files) == 6  # one SQLite batch (data version) each

    # Three files in SQLite, one in BM25: a search meanwhile sees BM25's state, and says nothing.
    proc = index_hanging_at(settings, root, 3)
    held = bm25_chunk_ids(settings)
    assert held and held < stored_chunk_ids(settings)
    assert LexicalIndex(settings.lexical_dir).synced_version() == 1
    engine = SearchEngine(settings)
    try:
        during = engine.search("docutils", mode="bm25")
    finally:
        engine.close()
    assert during.hits and {hit.chunk_id for hit in during.hits} <= held
    assert during.warnings == []
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    # The next search brings BM25 up to SQLite before it answers.
    assert bm25_chunk_ids(settings) == held
    engine = SearchEngine(settings)
    try:
        after = engine.search("docutils", mode="bm25")
    finally:
        engine.close()
    assert after.warnings == []
    assert {hit.chunk_id for hit in after.hits} - held
    assert bm25_chunk_ids(settings) == stored_chunk_ids(settings)

    # Killed again with two more files in SQLite than in BM25: the next run catches up first.
    proc = index_hanging_at(settings, root, 5)
    assert bm25_chunk_ids(settings) < stored_chunk_ids(settings)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    index = Index(settings)
    try:
        report = index.update()
        status = index.status()
    finally:
        index.close()
    assert (report.added, report.unchanged) == (1, 5)
    assert status.documents == 6 and status.lexical_in_step
    assert bm25_chunk_ids(settings) == stored_chunk_ids(settings)


def test_ctrl_c_while_bm25_is_behind_sqlite_commits_bm25_before_it_exits(
    settings, corpus, tmp_path
):
    # BM25 was left behind SQLite, so the next search rebuilt it whole (a minute at 1M chunks).
    root = tmp_path / "howto"
    shutil.copytree(corpus / "docutils" / "docutils" / "docs" / "howto", root)
    proc = index_hanging_at(settings, root, 3)
    try:
        assert bm25_chunk_ids(settings) < stored_chunk_ids(settings)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    finally:
        proc.kill()  # not left hanging for an hour when it failed
    assert LexicalIndex(settings.lexical_dir).synced_version() == 3
    assert bm25_chunk_ids(settings) == stored_chunk_ids(settings)


class _OtherEncoder:
    """A second 'model': the bundled one under another name, to provoke a mismatch."""

    def __init__(self, inner, name: str) -> None:
        self.inner, self.name, self.location = inner, name, inner.location + "#" + name

    dimension = property(lambda self: self.inner.dimension)
    fingerprint = property(lambda self: "other-" + self.inner.fingerprint)

    def encode_passages(self, texts, on_progress=None):
        return self.inner.encode_passages(texts, on_progress)

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)


def test_a_model_change_needs_reembed_and_reembed_switches(settings, make_docs):
    from localsearch.embed.sentence_transformer import load_encoder

    root = make_docs(DOCS)
    base = load_encoder("all-MiniLM-L6-v2", settings.models_dir)

    def factory(reference: str):
        return base if reference == "all-MiniLM-L6-v2" else _OtherEncoder(base, reference)

    index = Index(settings, encoder_factory=factory)
    index.update([root])
    with pytest.raises(ModelMismatchError, match="--reembed"):
        index.update(model="other-model")
    report = index.update(model="other-model", reembed=True)
    assert report.chunks_embedded == index.status().chunks
    status = index.status()
    index.close()
    assert status.model == "other-model"
    assert status.vectors == status.chunks


def test_nested_roots_are_merged_and_roots_can_be_removed(settings, make_docs, capsys):
    root = make_docs(DOCS)
    index = Index(settings)
    index.update([root / "guide"])
    index.update([root])
    status = index.status()
    assert [r["path"] for r in status.roots] == [str(root)]
    assert status.documents == 4
    with Index(settings).writer_lock():
        with pytest.raises(IndexBusyError, match="or pass --wait"):
            index.remove_root(root)
    # The hint names --wait, so `roots` has it too: it waits for a writer that finishes.
    holder = Index(settings).writer_lock()
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    assert index.remove_root(root, wait_seconds=60) == 4
    assert index.status().documents == 0
    index.close()
    assert search_paths(settings, "bread", mode="bm25") == []
    # `roots` said nothing at all once the last folder was gone.
    assert run_cli_in_process(["roots"], capsys) == (
        0,
        "",
        "No folders are indexed: add one with `localsearch index PATH`.\n",
    )


def test_status_json_and_cli_errors(settings, make_docs, tmp_path, capsys):
    for command in (["status"], ["roots"], ["roots", "--remove", str(tmp_path)]):
        missing = run_cli_in_process(command, capsys)
        assert missing[0] == 1, command
        assert missing[2].strip() == (
            f"Error: no index in {settings.home} — run `localsearch index PATH` first"
        )
        # Asking created no empty index, which would hide the hint from the next search.
        assert not settings.database_path.exists(), command
    bad = run_cli_in_process(["index", str(tmp_path / "nope")], capsys)
    assert bad[0] == 2
    assert bad[2].strip() == f"Error: no such file or folder: {tmp_path / 'nope'}"

    root = make_docs(DOCS)
    code, _, err = run_cli_in_process(["index", str(root), "--quiet"], capsys)
    assert code == 0, err
    assert "4 added, 0 updated, 0 removed" in err

    info = json.loads(run_cli_in_process(["status", "--json"], capsys)[1])
    assert info["documents"] == 4
    assert run_cli_in_process(["status", "--skipped"], capsys)[1] == (
        "No skipped files: every file found was indexed.\n"
    )
    (root / "scan.pdf").write_bytes(b"%PDF-1.4 not really")
    assert run_cli_in_process(["index", str(root), "--quiet"], capsys)[0] == 0
    out = run_cli_in_process(["status"], capsys)[1]
    assert f"({info['chunks']} chunks, 1 skipped file; `status --skipped` says why)" in out
    code, out, _ = run_cli_in_process(["status", "--skipped"], capsys)
    assert code == 0 and out.startswith(f"{root / 'scan.pdf'}: ")
    [only] = json.loads(run_cli_in_process(["status", "--skipped", "--json"], capsys)[1])
    assert only["path"] == str(root / "scan.pdf") and out == f"{only['path']}: {only['reason']}\n"
    assert info["model"] == "all-MiniLM-L6-v2"
    assert info["roots"][0]["path"] == str(root)
    assert info["chunks"] >= 5


def test_engine_imports_no_ui_and_cli_start_needs_no_torch():
    code = (
        "import sys, localsearch.index, localsearch.search, localsearch.store, "
        "localsearch.lexical, localsearch.ingest.walk, localsearch.ingest.extract, "
        "localsearch.ingest.chunk, localsearch.history\n"
        "bad = [m for m in ('textual', 'rich', 'click', 'localsearch.cli', 'localsearch.tui', "
        "'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from localsearch.cli import _register; _register()\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ctrl_c_mid_run_exits_cleanly_and_keeps_the_index(settings, corpus):
    root = corpus / "docutils" / "docutils" / "docs" / "user"
    env = {**os.environ, "LOCALSEARCH_HOME": str(settings.home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "index", str(root), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_interrupts,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            conn = open_connection(settings.database_path)
            if conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= 2:
                break
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            continue
    assert proc.poll() is None, "indexing finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    conn = open_connection(settings.database_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    documents, chunks = (
        conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("documents", "chunks")
    )
    store = Store(settings.database_path)
    try:
        vectors = sum(store.count_vectors(space) for space in store.spaces())  # none yet, or one
    finally:
        store.close()
    assert documents >= 2
    # The counts a search has, not the bar's (which counts chunks encoded, not yet committed).
    assert err.strip().splitlines()[-1] == (
        f"Interrupted. Kept and searchable: {documents} documents ({chunks} chunks,"
        f" {vectors} with vectors); run `localsearch index` again to finish."
    )
    assert search_paths(settings, "docutils", mode="bm25")


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2500k", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_a_clear_error_and_keeps_the_previous_index(tiny_disk, corpus):
    from localsearch.errors import LocalSearchError

    settings = load_settings(tiny_disk / "home")
    index = Index(settings)
    first = index.update([corpus / "docutils" / "docutils" / "docs" / "howto"])
    with pytest.raises(LocalSearchError, match="disk is full"):
        index.update([corpus / "docutils" / "docutils" / "docs"])
    index.close()
    conn = open_connection(settings.database_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= first.added
    conn.close()
    assert "rst-directives.rst" in search_paths(settings, "how do I create my own directive")


def test_a_name_spelt_as_another_files_escaped_bytes_is_a_document_of_its_own(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / os.fsdecode(b"bad\xff.md")).write_text("armadillo from the odd bytes\n")
    (docs / "bad\\xff.md").write_text("armadillo from the backslash\n")  # the escape, literally
    home = str(tmp_path / "home")
    code, _, err = run_cli_in_process(["index", str(docs), "--home", home, "-q"], capsys)
    assert code == 0 and "2 added, 0 updated, 0 removed, 0 unchanged" in err
    code, out, _ = run_cli_in_process(["search", "armadillo", "--home", home, "--json"], capsys)
    paths = {hit["path"] for hit in json.loads(out)["results"]}
    assert paths == {str(docs / "bad\\xff.md"), str(docs / "bad\\xff (2).md")}
    code, _, err = run_cli_in_process(["index", "--home", home, "-q"], capsys)
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in err  # was 1 updated on every run


def test_an_upgrade_that_extracts_differently_reads_unchanged_files_again(
    settings, make_docs, capsys
) -> None:
    # Files indexed by an older extraction kept its titles and text until they changed: the
    # fixes to extraction never reached an existing index.
    from localsearch.ingest.types import EXTRACTION_VERSION

    root = make_docs(
        {
            "tides.md": "# Tides\n\nThe moon pulls the sea twice a day.\n",
            "ch03-04-comments.md": "## 注释\n\n所有程序员都力求使其代码易于理解。\n",
        }
    )
    assert run_cli_in_process(["index", str(root)], capsys)[0] == 0
    # As an index written by the extraction before this one left them.
    conn = open_connection(settings.database_path)
    with conn:
        conn.execute(
            "UPDATE documents SET content_hash = substr(content_hash, 1, 64),"
            " title = CASE WHEN path LIKE '%comments.md' THEN 'ch03-04-comments' ELSE title END"
        )
    conn.close()
    code, _, err = run_cli_in_process(["index"], capsys)
    assert code == 0
    assert " 0 added, 2 updated, 0 removed, 0 unchanged, 0 skipped; 2 chunks written (" in err
    assert err.splitlines()[-1] == (
        "Read 2 unchanged files again: this version of localsearch extracts text differently"
        f" (extraction {EXTRACTION_VERSION})."
    )
    conn = open_connection(settings.database_path)
    try:
        titles = dict(conn.execute("SELECT path, title FROM documents"))
    finally:
        conn.close()
    assert titles == {str(root / "tides.md"): "Tides", str(root / "ch03-04-comments.md"): "注释"}
    code, _, err = run_cli_in_process(["index"], capsys)
    assert code == 0 and " 0 updated, 0 removed, 2 unchanged," in err and "again" not in err


def test_the_files_count_runs_on_across_folders(settings, make_docs):
    # It started again at 0 for each folder of one run: "3/3", then "0/4" up to "4/4".
    from localsearch.progress import ProgressEvent

    first = make_docs({f"a{n}.md": f"# A{n}\n\nalpha {n}\n" for n in range(3)}, folder="one")
    second = make_docs({f"b{n}.md": f"# B{n}\n\nbeta {n}\n" for n in range(4)}, folder="two")
    files: list[tuple[int, int | None]] = []

    def note(event: ProgressEvent) -> None:
        if event.stage == "files":
            files.append((event.completed, event.total))

    Index(settings).update([first, second], progress=note)
    done = [completed for completed, _ in files]
    assert done == sorted(done) and files[-1] == (7, 7)
    assert all(total is None or completed <= total for completed, total in files)
