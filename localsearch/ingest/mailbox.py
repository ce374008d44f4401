"""Read an mbox mailbox one message at a time, from a file of any size.

Google Takeout and mail programs export a person's mail as one file of gigabytes, so the
reader holds one message at most: it reads lines, starts a message at each line beginning
"From ", takes one level of ">From " quoting off as mail programs do on reading (mboxrd), and
lets a message over the size limit go by, keeping only its first bytes to name it. A module of
its own because every other container is unpacked whole and must fit the size limit; a
mailbox need not, only each message in it.
"""

from __future__ import annotations

import email.policy
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
    limit) and its size."""

    name: str
    data: bytes | None
    size: int


class Mailbox:
    """An open mailbox: iterate over it for its messages (once), close it when done."""

    def __init__(self, handle: BinaryIO, separator: bytes, max_message_bytes: int | None):
        self._handle = handle
        self._messages = _messages(handle, separator, max_message_bytes)

    def __iter__(self) -> Iterator[MailboxMessage]:
        return self._messages

    def bytes_read(self) -> int:
        """How far into the file reading has come: the measure of a mailbox's progress."""
        return 0 if self._handle.closed else self._handle.tell()

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


def _first_line(handle: BinaryIO) -> bytes:
    """The first line that is not blank, or b"" at the end of the file."""
    while line := handle.readline(_LINE_BYTES):
        if line.strip():
            return line
    return b""


def _messages(
    handle: BinaryIO, separator: bytes, max_message_bytes: int | None
) -> Generator[MailboxMessage]:
    if not separator:  # an empty mailbox
        return
    limit = max_message_bytes if max_message_bytes is not None else float("inf")
    number = 1
    message = _Message(limit)
    in_separator = not separator.endswith(b"\n")  # a separator line longer than a read
    at_line_start = True
    while line := handle.readline(_LINE_BYTES):
        starts_line, at_line_start = at_line_start, line.endswith(b"\n")
        if in_separator:
            in_separator = not at_line_start
            continue
        if starts_line and line.startswith(_SEPARATOR):
            yield message.finish(number)
            number += 1
            message = _Message(limit)
            in_separator = not at_line_start
            continue
        if starts_line and _QUOTED_SEPARATOR.match(line):
            line = line[1:]
        message.add(line)
    yield message.finish(number)


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

    def finish(self, number: int) -> MailboxMessage:
        data = b"".join(self.lines)
        self.lines = []
        name = mailbox_member_name(data[:_HEAD_BYTES], number)
        return MailboxMessage(name, data if self.size <= self.limit else None, self.size)


def mailbox_member_name(head: bytes, number: int) -> str:
    """A message's member name: its number in the mailbox, then its subject (a header
    parsed from `head`, the message's first bytes), as in "0042 Subject.eml"."""
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(head)
    subject = header_text(headers, "Subject") if isinstance(headers, EmailMessage) else ""
    # A subject's slashes would read as folders in the member's name.
    subject = shorten(subject.replace("/", "-").replace("\\", "-"), 80)
    return safe_file_name(f"{number:04d} {subject}".strip() + ".eml", number)
