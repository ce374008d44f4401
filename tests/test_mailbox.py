"""Mailboxes of any size (Google Takeout's are gigabytes): an .mbox is read one message at a
time, is not refused by the per-file size limit (each message is), and an interrupted run
leaves what it committed searchable and finishes the rest on the next."""

from __future__ import annotations

import dataclasses
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
    assert (report.added, report.updated, report.unchanged) == (3, 1, 12)
    assert bm25(settings, "word14x")[0] == f"{mailbox}{SEP}0014 Tide report 14.eml"

    mailbox.write_bytes(b"")
    write_mbox(mailbox, 10)
    report = index.update()
    index.close()
    assert (report.removed, report.updated, report.unchanged) == (5, 1, 10)
    assert bm25(settings, "word14x") == []


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
