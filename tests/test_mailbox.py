"""Mailboxes of any size (Google Takeout's are gigabytes): an .mbox is read one message at a
time, is not refused by the per-file size limit (each message is), and an interrupted run
leaves what it committed searchable and finishes the rest on the next."""

from __future__ import annotations

import dataclasses
import os
import tracemalloc
from email.message import EmailMessage
from pathlib import Path

import pytest

from localsearch.index import Index
from localsearch.ingest.extract import ExtractionError
from localsearch.ingest.sources import file_source
from localsearch.ingest.types import FoundFile
from localsearch.search import SearchEngine

SEP = " › "
MB = 1024 * 1024


def message_bytes(number: int, body: str = "", sender: str = "maren@example.org") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["Subject"] = f"Tide report {number}"
    message.set_content(body or f"Tide gauge {number} reads word{number}x at dawn.\n")
    return message.as_bytes().replace(b"\r\n", b"\n")


def mbox_of(messages: list[bytes]) -> bytes:
    return b"".join(b"From x@example.org Tue Mar  5 09:30:00 2024\n" + m + b"\n" for m in messages)


def write_mbox(path: Path, count: int, filler: int = 0, start: int = 1) -> Path:
    with path.open("ab") as out:
        for number in range(start, start + count):
            body = f"Tide gauge {number} reads word{number}x at dawn.\n" + "swell " * filler
            out.write(mbox_of([message_bytes(number, body)]))
    return path


def bm25(settings, query: str) -> list[str]:
    engine = SearchEngine(settings)
    try:
        return [hit.path for hit in engine.search(query, mode="bm25").hits]
    finally:
        engine.close()


def text_only_index(settings, monkeypatch: pytest.MonkeyPatch) -> Index:
    """An Index that commits text and BM25 but embeds nothing: vectors are not the point."""
    monkeypatch.setattr(Index, "embed_pending", lambda *args, **kwargs: None)
    return Index(settings)


def expansion_of(path: Path, max_member_bytes: int = 20 * MB):
    stat = path.stat()
    found = FoundFile(path=path, root=path.parent, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def no_plain_extraction(file: Path):
        raise AssertionError(f"{file} is a mailbox, not a plain file")

    source = file_source(found, no_plain_extraction, max_member_bytes)
    assert source.expand is not None
    return source.expand()


def test_a_mailbox_over_the_file_size_limit_is_indexed_and_a_message_over_it_is_skipped(
    settings, tmp_path, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Takeout.mbox", 300, filler=300)
    (docs / "big.txt").write_text("swell " * 30_000)  # an ordinary file still obeys the limit
    with mailbox.open("ab") as out:  # one message over the limit, then one more after it
        out.write(mbox_of([message_bytes(301, "breaker " * 20_000), message_bytes(302)]))
    settings = dataclasses.replace(settings, max_file_mb=0.125)
    assert mailbox.stat().st_size > 5 * settings.max_file_bytes

    index = text_only_index(settings, monkeypatch)
    report = index.update([docs])
    index.close()
    assert report.added == 1 + 301  # the mailbox's own document and its messages
    assert sorted(report.skipped) == [
        (f"{mailbox}{SEP}0301 Tide report 301.eml", "over 128 KB"),
        (str(docs / "big.txt"), "over 128 KB"),
    ]
    assert bm25(settings, "word7x")[0] == f"{mailbox}{SEP}0007 Tide report 7.eml"
    assert bm25(settings, "word302x")[0] == f"{mailbox}{SEP}0302 Tide report 302.eml"


def test_a_mailbox_shows_its_progress_in_megabytes_read(settings, tmp_path, monkeypatch):
    # Its messages cannot be counted ahead, so the files bar had no total and no time left
    # for the hour a Takeout mailbox takes.
    from localsearch.progress import ProgressEvent

    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "All mail.mbox", 40, filler=10_000)  # about 60 KB each
    size_mb = mailbox.stat().st_size // MB
    assert size_mb >= 2
    events: list[ProgressEvent] = []
    index = text_only_index(settings, monkeypatch)
    index.update([docs], progress=events.append)
    index.close()
    read = [(e.completed, e.total, e.detail) for e in events if e.stage == "mailbox"]
    assert len(read) >= 40
    assert {total for _, total, _ in read} == {size_mb}
    assert {detail for _, _, detail in read} == {str(mailbox)}
    assert [done for done, _, _ in read] == sorted(done for done, _, _ in read)
    assert read[0][0] < size_mb and read[-1][0] == size_mb
    # Once the mailbox is through, the files are counted again: the messages among them.
    files = [(e.completed, e.total) for e in events if e.stage == "files"]
    assert files[-1] == (41, 41)


def test_a_mailbox_is_read_one_message_at_a_time(tmp_path):
    mailbox = write_mbox(tmp_path / "All mail.mbox", 150, filler=20_000)  # about 120 KB each
    size = mailbox.stat().st_size
    assert size > 15 * MB
    tracemalloc.start()
    try:
        expansion = expansion_of(mailbox)
        assert not isinstance(expansion.members, list)
        names = []
        for member in expansion.members:
            names.append(member.path)
            if member.expand is not None:
                opened = member.expand()
                assert "swell swell" in opened.document().text
                opened.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        expansion.close()
    assert len(names) == 150
    assert names[-1] == f"{mailbox}{SEP}0150 Tide report 150.eml"
    assert peak < size / 5, f"reading a {size:,}-byte mailbox peaked at {peak:,} bytes"
    assert expansion.document().text.split("\n")[1:3] == [
        "0001 Tide report 1.eml",
        "0002 Tide report 2.eml",
    ]


def test_an_interrupted_mailbox_keeps_its_committed_messages_and_the_rerun_reads_the_rest(
    settings, tmp_path, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Takeout.mbox", 30)
    monkeypatch.setattr("localsearch.index.BATCH_DOCUMENTS", 4)
    import localsearch.ingest.extract_mail as extract_mail

    read_eml, calls = extract_mail.read_eml, []

    def interrupted_read_eml(path: Path, *data: bytes):
        calls.append(path)
        if len(calls) == 21:
            raise KeyboardInterrupt
        return read_eml(path, *data)

    monkeypatch.setattr(extract_mail, "read_eml", interrupted_read_eml)
    index = text_only_index(settings, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        index.update([docs])
    index.close()
    # Batches committed before the interruption are searchable; the mailbox itself is not
    # recorded as done, so the next run opens it again.
    assert bm25(settings, "word3x")[0] == f"{mailbox}{SEP}0003 Tide report 3.eml"
    assert bm25(settings, "word25x") == []

    monkeypatch.setattr(extract_mail, "read_eml", read_eml)
    index = Index(settings)
    report = index.update()
    index.close()
    assert (report.added, report.unchanged) == (1 + 30 - 20, 20)
    assert bm25(settings, "word25x")[0] == f"{mailbox}{SEP}0025 Tide report 25.eml"


def test_a_grown_mailbox_reads_only_its_new_messages_and_a_shrunk_one_drops_the_gone(
    settings, tmp_path, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Inbox.mbox", 12)
    index = text_only_index(settings, monkeypatch)
    assert index.update([docs]).added == 13

    write_mbox(mailbox, 3, start=13)
    report = index.update()
    # Message 12 is read again (a writer may have been part way through it), not 1 to 11.
    assert (report.added, report.updated, report.unchanged) == (3, 1, 1)
    assert bm25(settings, "word14x")[0] == f"{mailbox}{SEP}0014 Tide report 14.eml"

    mailbox.write_bytes(b"")
    write_mbox(mailbox, 10)
    report = index.update()
    index.close()
    assert (report.removed, report.updated, report.unchanged) == (5, 1, 10)
    assert bm25(settings, "word14x") == []


def stored_documents(settings) -> dict[str, tuple[str, str]]:
    """Each stored document's path -> (content hash, text). A mailbox's own hash is left out:
    one read from where it ended has not hashed all its bytes."""
    from localsearch.store import Store

    store = Store(settings.database_path)
    try:
        texts: dict[int, list[str]] = {}
        for doc_id, text in store.conn.execute(
            "SELECT document_id, text FROM chunks ORDER BY document_id, ordinal"
        ):
            texts.setdefault(doc_id, []).append(text)
        return {
            path: (content_hash if SEP in path else "", "\n".join(texts.get(doc_id, [])))
            for doc_id, path, content_hash in store.conn.execute(
                "SELECT id, path, content_hash FROM documents"
            )
        }
    finally:
        store.close()


def skipped_paths(settings) -> list[str]:
    from localsearch.store import Store

    store = Store(settings.database_path)
    try:
        return [path for path, _ in store.skipped()]
    finally:
        store.close()


def full_read(settings, docs: Path, monkeypatch, home: Path) -> dict[str, tuple[str, str]]:
    """What a new index of `docs`, which reads every mailbox in full, stores."""
    fresh = dataclasses.replace(settings, home=home)
    index = text_only_index(fresh, monkeypatch)
    index.update([docs])
    index.close()
    return stored_documents(fresh)


def test_a_grown_mailbox_is_read_from_its_last_message_and_stores_what_a_full_read_would(
    settings, tmp_path, monkeypatch
):
    # Appending 100 messages to a 210 MB mailbox read all of it again (12 s).
    from localsearch.ingest.containers import member_document

    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Inbox.mbox", 4)
    with mailbox.open("ab") as out:  # one message over the limit, kept as a skip record
        out.write(mbox_of([message_bytes(5, "breaker " * 20_000)]))
    write_mbox(mailbox, 7, start=6)
    settings = dataclasses.replace(settings, max_file_mb=0.125)
    index = text_only_index(settings, monkeypatch)
    index.update([docs])
    import localsearch.ingest.extract_mail as extract_mail

    read_eml, read = extract_mail.read_eml, []
    monkeypatch.setattr(
        extract_mail,
        "read_eml",
        lambda path, *data: read.append(path.name) or read_eml(path, *data),
    )
    write_mbox(mailbox, 3, start=13)
    report = index.update()
    index.close()
    assert (report.added, report.updated, report.unchanged) == (3, 1, 1)
    assert read == ["0013 Tide report 13.eml", "0014 Tide report 14.eml", "0015 Tide report 15.eml"]
    assert skipped_paths(settings) == [f"{mailbox}{SEP}0005 Tide report 5.eml"]
    assert stored_documents(settings) == full_read(settings, docs, monkeypatch, tmp_path / "full")
    # A message read from the grown end opens as any other (get, --open).
    opened = member_document(f"{mailbox}{SEP}0014 Tide report 14.eml")
    assert "word14x" in opened.text


def test_a_message_a_writer_had_cut_short_is_read_again_whole_when_the_mailbox_grows(
    settings, tmp_path, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    whole = mbox_of([message_bytes(n) for n in range(1, 7)])
    cut = whole.index(b"word6x") + 3  # the sixth message is part written
    mailbox = docs / "Inbox.mbox"
    mailbox.write_bytes(whole[:cut])
    index = text_only_index(settings, monkeypatch)
    index.update([docs])
    assert bm25(settings, "word6x") == []

    mailbox.write_bytes(whole + mbox_of([message_bytes(7)]))
    report = index.update()
    index.close()
    assert (report.added, report.updated, report.unchanged) == (1, 2, 0)
    assert bm25(settings, "word6x")[0] == f"{mailbox}{SEP}0006 Tide report 6.eml"
    assert stored_documents(settings) == full_read(settings, docs, monkeypatch, tmp_path / "full")


@pytest.mark.parametrize("change", ["expunged", "compacted", "limit"])
def test_a_mailbox_rewritten_before_it_grew_is_read_in_full(
    settings, tmp_path, monkeypatch, change: str
):
    # A mail program that expunges or compacts rewrites the file; growing past its old size
    # afterwards must not pass for an append.
    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = docs / "Inbox.mbox"

    def notification(n: int) -> bytes:  # look-alikes: the same length, bodies alike
        return message_bytes(n, f"Tide gauge {n} reads word{n}x.\n" + "swell " * 10 * 500)

    messages = [notification(n) for n in range(10, 22)]
    mailbox.write_bytes(mbox_of(messages))
    size = mailbox.stat().st_size
    index = text_only_index(settings, monkeypatch)
    index.update([docs])
    if change == "expunged":  # message 12 gone: the later ones move up, onto the same places
        assert len({len(m) for m in messages}) == 1
        mailbox.write_bytes(
            mbox_of(messages[:2] + messages[3:] + [notification(22), notification(23)])
        )
    elif change == "compacted":  # the same messages, one header each rewritten longer
        mailbox.write_bytes(mbox_of([b"X-Status: RO\n" + m for m in messages]))
    else:  # the same bytes and more, read under another size limit
        index.close()
        index = text_only_index(dataclasses.replace(settings, max_file_mb=0.01), monkeypatch)
        mailbox.write_bytes(mbox_of(messages + [notification(22)]))
    assert mailbox.stat().st_size > size
    report = index.update()
    index.close()
    assert report.unchanged != 1  # not taken up from the last message
    fresh = settings if change != "limit" else dataclasses.replace(settings, max_file_mb=0.01)
    assert stored_documents(fresh) == full_read(fresh, docs, monkeypatch, tmp_path / "full")
    if change == "expunged":
        assert bm25(settings, "word12x") == []


def test_a_change_in_place_after_a_grown_read_is_read_in_full(settings, tmp_path, monkeypatch):
    # Same size, new bytes (a word retyped): only the whole file's hash can tell.
    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Inbox.mbox", 12)
    index = text_only_index(settings, monkeypatch)
    index.update([docs])
    write_mbox(mailbox, 2, start=13)
    index.update()
    mailbox.write_bytes(mailbox.read_bytes().replace(b"word3x", b"word3y"))
    report = index.update()
    index.close()
    assert report.updated == 2  # the mailbox and message 3
    assert bm25(settings, "word3y")[0] == f"{mailbox}{SEP}0003 Tide report 3.eml"


def test_a_run_killed_before_a_grown_mailbox_is_recorded_finishes_on_the_next(
    settings, tmp_path, monkeypatch
):
    # Its new messages are committed before it: a kill between leaves the end it had, and
    # the next run takes the mailbox up from there again, finding them done.
    import localsearch.index as index_module

    docs = tmp_path / "docs"
    docs.mkdir()
    mailbox = write_mbox(docs / "Inbox.mbox", 12)
    index = text_only_index(settings, monkeypatch)
    index.update([docs])
    write_mbox(mailbox, 3, start=13)
    monkeypatch.setattr(index_module, "BATCH_DOCUMENTS", 1)
    set_mailbox_end = index_module.set_mailbox_end

    def killed(store, document_id, end):
        if end is not None:
            raise KeyboardInterrupt
        set_mailbox_end(store, document_id, end)

    monkeypatch.setattr(index_module, "set_mailbox_end", killed)
    with pytest.raises(KeyboardInterrupt):
        index.update()
    index.close()
    assert bm25(settings, "word15x")[0] == f"{mailbox}{SEP}0015 Tide report 15.eml"

    monkeypatch.setattr(index_module, "set_mailbox_end", set_mailbox_end)
    index = text_only_index(settings, monkeypatch)
    report = index.update()
    index.close()
    assert (report.added, report.updated, report.unchanged) == (0, 1, 4)  # 12 to 15 again
    assert stored_documents(settings) == full_read(settings, docs, monkeypatch, tmp_path / "full")


def test_a_mailbox_written_while_it_is_read_records_no_end(tmp_path):
    mailbox = write_mbox(tmp_path / "Inbox.mbox", 5)
    expansion = expansion_of(mailbox)
    assert expansion.end is not None
    for _ in expansion.members:
        pass
    end = expansion.end()
    expansion.close()
    assert end is not None and end.last_number == 5

    os.utime(mailbox, ns=(0, 0))  # so that the write below changes its time, however soon
    expansion = expansion_of(mailbox)
    for number, _ in enumerate(expansion.members, start=1):
        if number == 2:
            with mailbox.open("r+b") as rewrite:  # a mail program rewriting in place
                rewrite.write(b"From y")
    assert expansion.end() is None
    expansion.close()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"Dear diary, not a mailbox.\n",
            'not an mbox mailbox: it does not begin with a "From " line',
        ),
        (b"\x00\x01binary\xff" * 100, 'not an mbox mailbox: it does not begin with a "From " line'),
    ],
)
def test_a_file_named_mbox_that_is_no_mailbox_is_skipped_with_its_reason(
    settings, tmp_path, monkeypatch, content: bytes, reason: str
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.mbox").write_bytes(content)
    with pytest.raises(ExtractionError, match="not an mbox mailbox"):
        expansion_of(docs / "notes.mbox")
    index = text_only_index(settings, monkeypatch)
    report = index.update([docs])
    index.close()
    assert report.skipped == [(str(docs / "notes.mbox"), reason)]


def test_empty_truncated_and_broken_mailboxes_give_what_they_hold(settings, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.mbox").write_bytes(b"")
    whole = mbox_of(
        [message_bytes(1), message_bytes(2, "The ferry leaves at noon from pier nine.")]
    )
    (docs / "cut.mbox").write_bytes(whole[: whole.index(b"pier nine")])
    (docs / "broken.mbox").write_bytes(
        mbox_of([b"no headers at all, just a line\n", message_bytes(3)])
        + b"From x Tue Mar  5 09:30:00 2024\nSubject: =?utf-8?q?broken\nContent-Type:"
        b' multipart/mixed; boundary="never"\n\n--nope\nbody word4x\n'
    )
    index = text_only_index(settings, monkeypatch)
    report = index.update([docs])
    index.close()
    assert report.skipped == [
        (
            f"{docs / 'broken.mbox'}{SEP}0001.eml",
            "not an e-mail message: no From, To, Date or Subject header",
        )
    ]
    assert bm25(settings, "ferry")[0] == f"{docs / 'cut.mbox'}{SEP}0002 Tide report 2.eml"
    assert bm25(settings, "word3x")[0] == f"{docs / 'broken.mbox'}{SEP}0002 Tide report 3.eml"
    # A multipart body with no part in it keeps its headers (today's extraction of .eml).
    assert bm25(settings, "broken")[0] == f"{docs / 'broken.mbox'}{SEP}0003 =?utf-8?q?broken.eml"


def test_the_reader_splits_on_from_lines_only_at_line_starts_and_unquotes_one_level(tmp_path):
    from localsearch.ingest.mailbox import read_mailbox

    # A line longer than one read, with "From " where the second read of it begins.
    long_line = b"x" * (64 * 1024) + b"From the middle of a long line\n"
    first = b"Subject: One\n\n>From the quay.\n>>From the pier.\n" + long_line
    second = b"Subject: Two\r\n\r\nCRLF body\r\n"
    path = tmp_path / "mbox"  # Apple Mail's Inbox.mbox/mbox
    path.write_bytes(b"\n\n" + mbox_of([first, second]))  # blank lines before the first
    with read_mailbox(path) as messages:
        read = [(m.name, m.data) for m in messages]
    assert [name for name, _ in read] == ["0001 One.eml", "0002 Two.eml"]
    assert read[0][1] == b"Subject: One\n\nFrom the quay.\n>From the pier.\n" + long_line + b"\n"
    assert read[1][1] == second + b"\n"
    with read_mailbox(path, max_message_bytes=1000) as messages:
        assert [(m.name, m.data, m.size) for m in messages][0] == (
            "0001 One.eml",
            None,
            len(first) + 1 - 2,  # the blank line before "From", less a ">" per quoted line
        )


def test_the_reader_says_where_each_message_starts_and_reads_on_from_any_of_them(tmp_path):
    from localsearch.ingest.mailbox import read_mailbox, read_mailbox_from

    path = tmp_path / "Inbox.mbox"
    data = b"\n" + mbox_of([message_bytes(n, "x" * 70_000 + "\n") for n in range(1, 5)])
    path.write_bytes(data)
    with read_mailbox(path) as messages:
        whole = list(messages)
    assert [m.number for m in whole] == [1, 2, 3, 4]
    assert [data[m.offset : m.offset + 5] for m in whole] == [b"From "] * 4
    assert whole[0].offset == 1  # after the blank line
    with path.open("rb") as handle:
        assert read_mailbox_from(handle, whole[2].offset + 1, 3, None) is None
        messages = read_mailbox_from(handle, whole[2].offset, 3, None)
        assert messages is not None
        assert list(messages) == whole[2:]
