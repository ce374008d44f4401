"""Hostile files (issue 15): files swapped or deleted mid-run, archives that inflate, an EPUB
reaching outside itself, huge one-line files, deeply nested HTML and PDFs that would take the
reader's memory or time. Each is skipped with a reason, and the rest of the folder is indexed.

Split from test_hostile.py, which holds the faults of disks, data folders and arguments.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CORPUS, require
from helpers import write_files
from ingest_fixtures import MARKITDOWN
from test_hostile import NOTES, search

from localsearch.config import load_settings
from localsearch.index import Index

# -- 2 and 18. files swapped or deleted between the walk and the read ---------------------------


def _index_while(home: Path, docs: Path, act_on: str, act) -> object:  # type: ignore[no-untyped-def]
    """Index `docs`, calling `act(path)` when the indexer reaches the file named `act_on`
    (after the walk found it, before it is read). Runs in a thread that must finish."""
    import threading

    from localsearch.progress import ProgressEvent

    outcome: list[object] = []

    def progress(event: ProgressEvent) -> None:
        if event.stage == "files" and event.detail and Path(event.detail).name == act_on:
            act(Path(event.detail))

    def run() -> None:
        index = Index(load_settings(home))
        try:
            outcome.append(index.update([docs], progress=progress))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        finally:
            index.close()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=120)
    return outcome[0] if outcome else None


def test_a_file_swapped_for_a_named_pipe_is_skipped_without_blocking(tmp_path):
    import os

    docs = write_files(tmp_path / "docs", NOTES)

    def swap_for_fifo(path: Path) -> None:
        path.unlink()
        os.mkfifo(path)

    report = _index_while(tmp_path / "home", docs, "capybara.md", swap_for_fifo)
    if report is None:  # unblock the stuck reader so the thread can end, then fail
        fd = os.open(docs / "capybara.md", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("the indexer blocked opening a named pipe")
    assert not isinstance(report, BaseException), report
    assert (str(docs / "capybara.md"), "not a regular file") in report.skipped  # type: ignore[attr-defined]
    assert report.added == 2  # type: ignore[attr-defined]


def test_a_file_deleted_mid_run_is_reported_as_deleted_while_indexing(tmp_path):
    docs = write_files(tmp_path / "docs", NOTES)
    report = _index_while(tmp_path / "home", docs, "bread.md", Path.unlink)
    assert not isinstance(report, BaseException), report
    assert report.skipped == [(str(docs / "bread.md"), "deleted while indexing")]  # type: ignore[attr-defined]


# -- 3. a DOCX whose XML inflates past the limit ------------------------------------------------


def test_a_docx_that_inflates_too_far_is_skipped_as_too_large_when_decompressed(tmp_path):
    import zipfile

    from localsearch.ingest.extract import ExtractionError, extract_file

    source = CORPUS / "python-docx"
    template = next(iter(sorted(require(source).rglob("*.docx"))), None)
    if template is None:
        pytest.skip("no .docx in the shared corpus")
    bomb = tmp_path / "bomb.docx"
    with (
        zipfile.ZipFile(template) as original,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "word/document.xml":
                data += b" " * (65 * 1024 * 1024)  # trailing whitespace: still valid XML
            out.writestr(item.filename, data)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(ExtractionError, match="too large when decompressed") as caught:
        extract_file(bomb)
    assert str(caught.value) == (
        "DOCX too large when decompressed: word/document.xml inflates to 65 MB (limit 64 MB)"
    )


# -- 19. an EPUB with one chapter outside the package --------------------------------------------


def test_an_epub_chapter_outside_the_package_is_skipped_and_the_rest_kept(tmp_path):
    import zipfile

    from localsearch.ingest.extract import extract_file

    original = require(CORPUS / MARKITDOWN / "test.epub")
    good = extract_file(original)
    hostile = tmp_path / "escape.epub"
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(hostile, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".opf"):
                data = data.replace(
                    b"</manifest>",
                    b'<item id="evil" href="../../etc/passwd" media-type="application/xhtml+xml"/>'
                    b"</manifest>",
                ).replace(b"</spine>", b'<itemref idref="evil"/></spine>')
                assert b'idref="evil"' in data
            out.writestr(item, data)
    doc = extract_file(hostile)
    assert [s.text for s in doc.sections] == [s.text for s in good.sections]
    assert doc.title == good.title


# -- 6. huge single-line files ----------------------------------------------------------------


def test_a_minified_one_line_file_is_skipped_with_a_reason(tmp_path):
    from localsearch.ingest.extract import ExtractionError, extract_file

    minified = tmp_path / "bundle.min.js"
    for ending in ("", "\n"):  # a final newline ends the one line; it does not start a second
        minified.write_text("var a=function(b){return b+1};" * 20_000 + ending, encoding="utf-8")
        with pytest.raises(ExtractionError) as caught:
            extract_file(minified)
        assert str(caught.value) == "minified or one-line text (600,000 characters a line)"


def test_one_line_prose_is_text_and_one_line_data_is_not(tmp_path):
    # A transcript with no line breaks was skipped as "minified or one-line text".
    import json

    from localsearch.ingest.extract import ExtractionError, extract_file

    sentence = "The committee met on Tuesday and agreed to publish the minutes next week. "
    for name, text in [
        ("transcript.txt", sentence * 4000),
        ("会议记录.txt", "委员会星期二开会，同意下周公布会议记录。" * 20_000),
    ]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert sum(len(s.text) for s in extract_file(tmp_path / name).sections) > 256 * 1024
    dump = tmp_path / "dump.json.txt"
    rows = [{"id": n, "name": f"item{n}", "tags": ["a", "b"], "value": n / 7} for n in range(5000)]
    dump.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(ExtractionError, match="^minified or one-line text"):
        extract_file(dump)


def test_a_huge_document_is_indexed_up_to_a_bounded_size_with_a_warning(tmp_path):
    from localsearch.ingest.chunk import MAX_DOCUMENT_CHARS, limit_document
    from localsearch.ingest.extract import extract_file

    log = tmp_path / "huge.log"
    line = "2026-12-01 12:00:00 INFO request served in 12 ms from the cache\n"
    log.write_text(line * (MAX_DOCUMENT_CHARS // len(line) + 1000), encoding="utf-8")
    doc = extract_file(log)
    assert limit_document(doc) > MAX_DOCUMENT_CHARS
    assert sum(len(s.text) for s in doc.sections) == MAX_DOCUMENT_CHARS


# -- 7. deeply nested HTML ----------------------------------------------------------------------


def test_deeply_nested_html_is_read_in_linear_time(tmp_path):
    import sys

    page = tmp_path / "deep.html"
    levels = 200_000
    page.write_text(
        "<html><body>" + "<div>" * levels + "the capybara &amp; friends" + "</div>" * levels,
        encoding="utf-8",
    )
    script = (
        "import sys; from pathlib import Path; from localsearch.ingest.extract import extract_file;"
        " doc = extract_file(Path(sys.argv[1])); print([s.text for s in doc.sections])"
    )
    # A hang guard, not a speed target: the parser once took 470 s on this page.
    done = subprocess.run(
        [sys.executable, "-c", script, str(page)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['the capybara & friends']"


# -- 8. a small PDF whose one page takes gigabytes to parse ------------------------------------

# pdfium needs about 1.5 GB for this page (0.2 MB on disk); the cap gives its child 512 MB.
_RUNS_PAST_THE_CAP = 3_000_000
_TOO_LARGE = "too large to extract: needs more than 512 MB of memory"


def test_a_pdf_page_too_large_to_extract_is_skipped_within_a_memory_cap(tmp_path):
    import sys

    from ingest_fixtures import one_page_pdf, text_runs_pdf

    (tmp_path / "huge.pdf").write_bytes(text_runs_pdf(_RUNS_PAST_THE_CAP))
    (tmp_path / "small.pdf").write_bytes(one_page_pdf("capybara"))
    # The extracting process is capped at 1 GiB: parsing the page in it would abort it.
    script = (
        "import resource, sys; from pathlib import Path;"
        " resource.setrlimit(resource.RLIMIT_AS, (1 << 30, resource.RLIM_INFINITY));"
        " from localsearch.ingest.extract import ExtractionError, extract_file\n"
        "for name in sys.argv[1:]:\n"
        "    try: print(extract_file(Path(name)).text)\n"
        "    except ExtractionError as exc: print(exc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "huge.pdf"), str(tmp_path / "small.pdf")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the extracting process died ({done.returncode})"
    assert done.stdout == f"{_TOO_LARGE}\ncapybara\n"


def test_the_indexer_skips_a_pdf_too_large_to_extract_and_keeps_the_rest(tmp_path):
    from ingest_fixtures import one_page_pdf, text_runs_pdf

    docs = write_files(tmp_path / "docs", NOTES)
    (docs / "huge.pdf").write_bytes(text_runs_pdf(_RUNS_PAST_THE_CAP))
    (docs / "zebra.pdf").write_bytes(one_page_pdf("Zebras graze on the savanna"))
    index = Index(load_settings(tmp_path / "home"))
    try:
        report = index.update([docs])
    finally:
        index.close()
    assert report.skipped == [(str(docs / "huge.pdf"), _TOO_LARGE)]
    assert report.added == 4
    hits = search(tmp_path / "home", "zebras savanna", "bm25").hits
    assert hits[0].path == str(docs / "zebra.pdf")


def test_a_crash_in_the_pdf_reader_skips_that_file_and_the_next_one_is_read(tmp_path):
    import os
    import signal
    import threading
    import time

    from ingest_fixtures import one_page_pdf, text_runs_pdf

    from localsearch.ingest.extract import ExtractionError
    from localsearch.ingest.pdf_process import PdfExtractorProcess

    (tmp_path / "huge.pdf").write_bytes(text_runs_pdf(_RUNS_PAST_THE_CAP))
    (tmp_path / "small.pdf").write_bytes(one_page_pdf("capybara"))
    extractor = PdfExtractorProcess()
    outcome: list[BaseException] = []

    def extract_huge() -> None:
        try:
            extractor.extract(tmp_path / "huge.pdf")
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    try:
        worker = threading.Thread(target=extract_huge)
        worker.start()
        # Crash the reader while it parses the page (once it holds 100 MB), as a pdfium bug would.
        while worker.is_alive():
            child = extractor._process
            if child is not None and _resident_bytes(child.pid) > 100 * 1024 * 1024:
                os.kill(child.pid, signal.SIGSEGV)
                break
            time.sleep(0.01)
        worker.join(timeout=60)
        assert [str(exc) for exc in outcome] == ["PDF reader crashed (SIGSEGV)"]
        assert isinstance(outcome[0], ExtractionError)
        assert extractor.extract(tmp_path / "small.pdf").text == "capybara"
    finally:
        extractor.close()


def test_a_pdf_that_keeps_the_reader_busy_is_skipped_past_its_cpu_budget(tmp_path, monkeypatch):
    from ingest_fixtures import one_page_pdf

    from localsearch.ingest.extract import ExtractionError
    from localsearch.ingest.pdf_process import PdfExtractorProcess

    # The reader child starts with this on its path: its pdfium call never returns, as a
    # parser caught in a loop on a broken file would not.
    stuck = tmp_path / "stuck_reader"
    stuck.mkdir()
    (stuck / "sitecustomize.py").write_text(
        "import localsearch.ingest.extract_pdf as reader\n"
        "def extract_forever(path):\n"
        "    if path.name == 'stuck.pdf':\n"
        "        while True:\n"
        "            pass\n"
        "    return extract_pdf(path)\n"
        "extract_pdf, reader.extract_pdf = reader.extract_pdf, extract_forever\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(stuck))
    (tmp_path / "stuck.pdf").write_bytes(one_page_pdf("stuck"))
    (tmp_path / "small.pdf").write_bytes(one_page_pdf("capybara"))
    extractor = PdfExtractorProcess(cpu_limit_seconds=1)
    try:
        with pytest.raises(ExtractionError) as raised:
            extractor.extract(tmp_path / "stuck.pdf")
        assert str(raised.value) == (
            "too slow to extract: the PDF reader was still busy after 1 s of CPU"
        )
        assert extractor.extract(tmp_path / "small.pdf").text == "capybara"
    finally:
        extractor.close()


def _resident_bytes(pid: int) -> int:
    import os

    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
