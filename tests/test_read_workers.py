"""Files read, extracted and chunked in worker processes (ingest/read_workers.py): the index
they make is the one the indexing process makes alone, a worker's death skips only its file,
and an interrupted run stops its workers and keeps what it committed."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from crashing_read import read_or_crash, read_or_loop
from helpers import ctrl_c_interrupts
from ingest_fixtures import one_page_pdf

import localsearch.ingest.read_workers as read_workers
from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.ingest.read_workers import worker_count
from localsearch.progress import ProgressEvent
from localsearch.search import SearchEngine
from localsearch.store.connection import open_connection

MIXED = {
    "guide/install.md": "# Installing\n\nRun the installer with pip. It needs Python 3.11.\n",
    "guide/usage.md": "# Usage\n\n## Searching\n\n"
    + "Type a query; results are ranked by meaning and by words. " * 40
    + "\n\n## Filtering\n\n"
    + "Restrict results to a folder with a glob pattern. " * 40
    + "\n",
    "notes/cooking.txt": "A recipe for sourdough bread: flour, water, salt and a starter.\n",
    "notes/page.html": "<html><head><title>Trains</title></head><body><h1>Alps</h1>"
    "<p>Trains across the Alps run every hour in winter.</p></body></html>",
    "notes/ref.rst": "Reference\n=========\n\nThe options of the command line tool.\n",
    "src/tool.py": 'def greet(name):\n    """Say hello to someone by name."""\n    return name\n',
    "paper.pdf": one_page_pdf("Glaciers retreat faster in warm summers"),
    "broken.pdf": b"%PDF-1.4 this is not really a pdf",
    "empty.md": "",
    "photo.png": b"\x89PNG\r\n\x1a\n",
}


MAILBOX = (
    "From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: Kiln\n\n"
    "The kiln reached cone six.\n\n"
    "From b@example.org Tue Jan  2 00:00:00 2024\nFrom: b@example.org\nSubject: Glaze\n\n"
    "The glaze crawled on the rim.\n"
)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _index(home: Path, root: Path, workers: int, progress=None):  # type: ignore[no-untyped-def]
    index = Index(load_settings(home, extract_workers=workers))
    try:
        return index.update([root], progress=progress or (lambda event: None))
    finally:
        index.close()


def _files_counted(events: list[ProgressEvent]) -> list[tuple[int, int | None, str]]:
    return [(e.completed, e.total, str(e.detail)) for e in events if e.stage == "files"]


def _contents(home: Path, root: Path) -> tuple[set[tuple[object, ...]], ...]:
    conn = open_connection(home / "localsearch.db")
    try:
        prefix = len(str(root))
        documents = {
            (path[prefix:], *rest)
            for path, *rest in conn.execute(
                "SELECT path, size, content_hash, doc_type, title FROM documents"
            )
        }
        chunks = {
            (path[prefix:], *rest)
            for path, *rest in conn.execute(
                "SELECT d.path, c.ordinal, c.text, c.heading, c.page, c.start_line,"
                " c.end_line, c.embed_hash FROM chunks c JOIN documents d ON d.id = c.document_id"
            )
        }
        skipped = {
            (path[prefix:], reason)
            for path, reason in conn.execute("SELECT path, reason FROM skipped")
        }
    finally:
        conn.close()
    return documents, chunks, skipped


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker counts ReadWorkers was started with, in this process."""
    counts: list[int] = []
    real = read_workers.ReadWorkers

    def counting(count, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts.append(count)
        return real(count, *args, **kwargs)

    monkeypatch.setattr(read_workers, "ReadWorkers", counting)
    return counts


def test_worker_count_leaves_a_core_to_the_indexing_process() -> None:
    def cores(n: int):  # type: ignore[no-untyped-def]
        return lambda: set(range(n))

    no_quota = lambda: None  # noqa: E731
    assert worker_count(0, 1000, cores(16), no_quota) == 15
    assert worker_count(0, 1000, cores(3), no_quota) == 2
    assert worker_count(0, 1000, cores(2), no_quota) == 1  # no workers on two cores
    assert worker_count(0, 1000, cores(16), lambda: 4.5) == 3  # the cgroup's quota
    # A few changed files are read faster in-process than workers start.
    assert worker_count(0, 20, cores(16), no_quota) == 2
    assert worker_count(0, 10, cores(16), no_quota) == 1
    # Set: as many as asked, never more than files to read.
    assert worker_count(4, 1000, cores(2), no_quota) == 4
    assert worker_count(4, 3, cores(2), no_quota) == 3
    assert worker_count(1, 1000, cores(16), no_quota) == 1


def test_workers_make_the_index_the_indexing_process_makes(
    tmp_path: Path, make_docs, started: list[int]
) -> None:
    root = make_docs(MIXED)
    (root / "bundle.zip").write_bytes(_zip({"inner.md": "# Inner\n\nA note inside a zip.\n"}))
    (root / "mail.mbox").write_text(MAILBOX)
    alone_events: list[ProgressEvent] = []
    parallel_events: list[ProgressEvent] = []
    alone = _index(tmp_path / "alone", root, workers=1, progress=alone_events.append)
    assert started == []
    parallel = _index(tmp_path / "parallel", root, workers=3, progress=parallel_events.append)
    assert started == [3]
    # The progress bar counts the same files, in the same order, to the same total.
    assert _files_counted(alone_events) == _files_counted(parallel_events)
    assert _files_counted(parallel_events)[-1][:2] == (14, 14)  # and the members of the zip, mbox
    first = _contents(tmp_path / "alone", root)
    assert first == _contents(tmp_path / "parallel", root)
    documents, chunks, skipped = first
    assert {d[0] for d in documents} >= {"/paper.pdf", "/bundle.zip", "/bundle.zip › inner.md"}
    assert sum(d[0].startswith("/mail.mbox › ") for d in documents) == 2
    assert ("/broken.pdf", "corrupt PDF") in {(p, r.split(":")[0]) for p, r in skipped}
    assert (alone.added, alone.chunks, sorted(alone.skipped), alone.warnings) == (
        parallel.added,
        parallel.chunks,
        sorted(parallel.skipped),
        parallel.warnings,
    )

    # Again after an edit and a touch: the touched file's hash is compared, not its text read.
    for folder in ("alone", "parallel"):
        (root / "notes" / "cooking.txt").write_text("Rye bread needs a longer proof.\n")
        os.utime(root / "guide" / "install.md", ns=(1, 1))
        report = _index(tmp_path / folder, root, workers=1 if folder == "alone" else 3)
        # Every file but the edited one; the members of the zip and the mailbox are not
        # counted, only their containers.
        assert (report.added, report.updated, report.unchanged) == (0, 1, len(documents) - 4)
    assert started == [3, 3]  # the edited, the touched and the skipped files read again
    assert _contents(tmp_path / "alone", root) == _contents(tmp_path / "parallel", root)


def test_a_worker_that_dies_skips_only_its_file(
    tmp_path: Path, make_docs, monkeypatch: pytest.MonkeyPatch, started: list[int]
) -> None:
    monkeypatch.setattr(read_workers, "read_file", read_or_crash)
    root = make_docs(
        {
            "crash.md": "# Crash\n\nThis file's parser dies.\n",
            **{f"note{i}.md": f"# Note {i}\n\nSourdough bread number {i}.\n" for i in range(6)},
        }
    )
    report = _index(tmp_path / "home", root, workers=2)
    assert started == [2]
    assert report.added == 6
    assert report.skipped == [(str(root / "crash.md"), "extraction crashed (SIGSEGV)")]
    engine = SearchEngine(load_settings(tmp_path / "home"))
    try:
        hits = engine.search("sourdough bread", mode="bm25", k=10).hits
    finally:
        engine.close()
    assert len(hits) == 6


def test_a_file_that_keeps_its_worker_busy_is_skipped_past_its_cpu_budget(
    tmp_path: Path, make_docs, monkeypatch: pytest.MonkeyPatch, started: list[int]
) -> None:
    # A parser caught in a loop held the whole run up for good.
    monkeypatch.setattr(read_workers, "read_file", read_or_loop)
    monkeypatch.setattr(read_workers, "READ_CPU_LIMIT_SECONDS", 1)
    root = make_docs(
        {
            "loop.md": "# Loop\n\nThis file's parser never ends.\n",
            **{f"note{i}.md": f"# Note {i}\n\nSourdough bread number {i}.\n" for i in range(6)},
        }
    )
    report = _index(tmp_path / "home", root, workers=2)
    assert started == [2]
    assert report.added == 6
    assert report.skipped == [
        (str(root / "loop.md"), "too slow to extract: still busy after 1 s of CPU")
    ]


def test_one_worker_reads_in_the_indexing_process(
    tmp_path: Path, make_docs, started: list[int]
) -> None:
    root = make_docs(MIXED)
    report = _index(tmp_path / "home", root, workers=1)
    assert started == []
    assert report.added == 8


def _children(pid: int) -> set[int]:
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _index_with_workers_until_two_documents(settings, root: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "LOCALSEARCH_HOME": str(settings.home), "LOCALSEARCH_EXTRACT_WORKERS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "index", str(root), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_interrupts,
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 300
    documents = 0
    while time.monotonic() < deadline and proc.poll() is None and documents < 2:
        time.sleep(0.1)
        workers |= _children(proc.pid)
        try:
            conn = open_connection(settings.database_path)
            documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            conn.close()
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            continue
    assert proc.poll() is None, "indexing finished before it could be stopped"
    workers |= _children(proc.pid)
    assert len(workers) >= 2
    return proc, workers


def _assert_searchable(settings) -> None:  # type: ignore[no-untyped-def]
    conn = open_connection(settings.database_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= 2
    finally:
        conn.close()
    engine = SearchEngine(settings)
    try:
        assert engine.search("docutils", mode="bm25").hits
    finally:
        engine.close()


def _gone(pids: set[int], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_with_workers_exits_cleanly_and_stops_them(settings, corpus) -> None:
    root = corpus / "docutils" / "docutils" / "docs" / "user"
    proc, workers = _index_with_workers_until_two_documents(settings, root)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("Interrupted. Kept and searchable:")
    assert _gone(workers)
    _assert_searchable(settings)


def test_kill_9_with_workers_leaves_a_searchable_index_and_no_workers(settings, corpus) -> None:
    root = corpus / "docutils" / "docutils" / "docs" / "user"
    proc, workers = _index_with_workers_until_two_documents(settings, root)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _gone(workers)  # each sees its pipe close and ends
    _assert_searchable(settings)


def test_a_script_without_a_main_guard_indexes_with_workers(tmp_path: Path, make_docs) -> None:
    """multiprocessing's spawn would run the script again in each worker, and fail."""
    root = make_docs({f"note{i}.md": f"# Note {i}\n\nRye bread number {i}.\n" for i in range(4)})
    script = tmp_path / "index_notes.py"
    script.write_text(
        "from localsearch.config import load_settings\n"
        "from localsearch.index import Index\n"
        f"index = Index(load_settings({str(tmp_path / 'home')!r}, extract_workers=2))\n"
        f"print(index.update([{str(root)!r}]).added)\n"
        "index.close()\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "4\n", "")


def test_the_environment_sets_the_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSEARCH_EXTRACT_WORKERS", "3")
    assert load_settings().extract_workers == 3
    assert load_settings(extract_workers=1).extract_workers == 1  # a flag or argument wins
