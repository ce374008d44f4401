"""Read an mbox mailbox one message at a time, from a file of any size.

Google Takeout and mail programs export a person's mail as one file of gigabytes, so the
reader holds one message at most: it reads lines, starts a message at each line beginning
"From ", takes one level of ">From " quoting off as mail programs do on reading (mboxrd), and
lets a message over the size limit go by, keeping only its first bytes to name it. A module of
its own because every other container is unpacked whole and must fit the size limit; a
mailbox need not, only each message in it. Reading can start at any message's "From " line
(mailbox_end.py takes a grown mailbox up from its last message).
"""

from __future__ import annotations

import email.policy
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import BinaryIO

from localsearch.ingest.extract import ExtractionError, shorten
from localsearch.ingest.extract_mail import header_text, safe_file_name
from localsearch.ingest.regular_file import open_regular_file

_SEPARATOR = b"From "
_QUOTED_SEPARATOR = re.compile(rb">+From ")
_LINE_BYTES = 64 * 1024  # a longer line is read in pieces
_HEAD_BYTES = 64 * 1024  # what is kept of a message over the limit: enough for its headers


@dataclass(frozen=True)
class MailboxMessage:
    """One message: its member name ("0042 Subject.eml"), its bytes (None when over the
    limit), its size, its number and where its "From " line starts in the file."""

    name: str
    data: bytes | None
    size: int
    number: int
    offset: int


class Mailbox:
    """An open mailbox: iterate over it for its messages (once), close it when done."""

    def __init__(
        self,
        handle: BinaryIO,
        separator: bytes,
        max_message_bytes: int | None,
        first_number: int = 1,
    ):
        self._handle = handle
        self._opened = _identity(handle)
        start = handle.tell() - len(separator)
        self._messages = _messages(handle, separator, max_message_bytes, first_number, start)

    def __iter__(self) -> Iterator[MailboxMessage]:
        return self._messages

    def bytes_read(self) -> int:
        """How far into the file reading has come: the measure of a mailbox's progress."""
        return 0 if self._handle.closed else self._handle.tell()

    def unchanged_while_read(self) -> bool:
        """Whether the file has the size and time it had when it was opened: no writer
        touched the bytes read (as the file system's clock can tell)."""
        return not self._handle.closed and _identity(self._handle) == self._opened

    @property
    def handle(self) -> BinaryIO:
        return self._handle

    def close(self) -> None:
        self._messages.close()
        self._handle.close()

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_mailbox(path: Path, max_message_bytes: int | None = None) -> Mailbox:
    """The mailbox at `path`, whose messages are read, in file order, as they are asked for.

    Raises ExtractionError at once when the file is no mailbox (its first line that is not
    blank does not begin "From "); a file of blank lines is an empty mailbox.
    """
    handle = open_regular_file(path)
    try:
        first = _first_line(handle)
        if first and not first.lstrip().startswith(_SEPARATOR):
            raise ExtractionError('not an mbox mailbox: it does not begin with a "From " line')
    except BaseException:
        handle.close()
        raise
    return Mailbox(handle, first, max_message_bytes)


def read_mailbox_from(
    handle: BinaryIO, offset: int, number: int, max_message_bytes: int | None
) -> Mailbox | None:
    """The open mailbox `handle` read from the message whose "From " line starts at `offset`,
    numbered on from `number`; None when no "From " line starts there."""
    handle.seek(offset)
    separator = handle.readline(_LINE_BYTES)
    if not separator.startswith(_SEPARATOR):
        return None
    return Mailbox(handle, separator, max_message_bytes, number)


def _identity(handle: BinaryIO) -> tuple[int, int]:
    status = os.fstat(handle.fileno())
    return status.st_size, status.st_mtime_ns


def _first_line(handle: BinaryIO) -> bytes:
    """The first line that is not blank, or b"" at the end of the file."""
    while line := handle.readline(_LINE_BYTES):
        if line.strip():
            return line
    return b""


def _messages(
    handle: BinaryIO,
    separator: bytes,
    max_message_bytes: int | None,
    number: int,
    offset: int,
) -> Generator[MailboxMessage]:
    """The messages from the one whose "From " line (`separator`, numbered `number`) starts
    at `offset`; `handle` is just past that line's first read."""
    if not separator:  # an empty mailbox
        return
    limit = max_message_bytes if max_message_bytes is not None else float("inf")
    message = _Message(limit)
    in_separator = not separator.endswith(b"\n")  # a separator line longer than a read
    at_line_start = True
    while line := handle.readline(_LINE_BYTES):
        starts_line, at_line_start = at_line_start, line.endswith(b"\n")
        if in_separator:
            in_separator = not at_line_start
            continue
        if starts_line and line.startswith(_SEPARATOR):
            next_offset = handle.tell() - len(line)  # before the reader of the message seeks
            yield message.finish(number, offset)
            number, offset = number + 1, next_offset
            message = _Message(limit)
            in_separator = not at_line_start
            continue
        if starts_line and _QUOTED_SEPARATOR.match(line):
            line = line[1:]
        message.add(line)
    yield message.finish(number, offset)


class _Message:
    """The lines of the message being read, dropped past the limit but for its head."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.lines: list[bytes] = []
        self.size = 0

    def add(self, line: bytes) -> None:
        self.size += len(line)
        if self.size <= self.limit:
            self.lines.append(line)
        elif len(self.lines) != 1 or len(self.lines[0]) > _HEAD_BYTES:  # just went over
            self.lines = [b"".join(self.lines)[:_HEAD_BYTES]]

    def finish(self, number: int, offset: int) -> MailboxMessage:
        data = b"".join(self.lines)
        self.lines = []
        name = mailbox_member_name(data[:_HEAD_BYTES], number)
        kept = data if self.size <= self.limit else None
        return MailboxMessage(name, kept, self.size, number, offset)


def mailbox_member_name(head: bytes, number: int) -> str:
    """A message's member name: its number in the mailbox, then its subject (a header
    parsed from `head`, the message's first bytes), as in "0042 Subject.eml"."""
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(head)
    subject = header_text(headers, "Subject") if isinstance(headers, EmailMessage) else ""
    # A subject's slashes would read as folders in the member's name.
    subject = shorten(subject.replace("/", "-").replace("\\", "-"), 80)
    return safe_file_name(f"{number:04d} {subject}".strip() + ".eml", number)


def message_number(member_name: str) -> int | None:
    """The number a message's member name begins with (see mailbox_member_name)."""
    found = re.match(r"(\d+)[ .]", member_name)
    return int(found.group(1)) if found else None
