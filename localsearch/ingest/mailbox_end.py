"""Where a read of a mailbox ended, and taking a mailbox that only grew up from there.

A live mailbox gains a message at a time and a Takeout export is gigabytes: reading it all
again for each appended message costs minutes. A read's end is its last message (where its
"From " line starts, its number) with a hash of blocks sampled from the bytes before it. The
next read starts at that last message (which a writer still at work may have cut short) when
those blocks are as they were and a "From " line still starts there; the messages before it
are then kept as stored.

A module of its own because proving "only grew" is a trade: a full hash of the old bytes is a
full read. Mail programs append, and rewrite the file when they expunge or compact it, which
moves every byte after the first message removed. The blocks are the file's first, the one
just before the last message, and the heads of up to 16 messages spread over the file, the
one before the last among them: a message's head holds its Date and Message-ID, so a block
that now shows another message's head tells a move even among look-alike notifications,
whose bodies match byte for byte. An edit that keeps every byte in place outside the blocks (a
flag rewritten in place, as Thunderbird's X-Mozilla-Status) is not seen until a full read;
a read is only taken up when the file grew, so such an edit alone is hashed and read in full
as before.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from localsearch.ingest.mailbox import Mailbox, read_mailbox_from
from localsearch.ingest.regular_file import open_regular_file

_SAMPLE_BYTES = 16 * 1024  # a message's head: its headers, Received lines and all
_SAMPLED_MESSAGES = 16


@dataclass(frozen=True)
class MailboxEnd:
    """The last message a read reached, and what a read that takes up from it must match."""

    last_offset: int  # where its "From " line starts
    last_number: int
    sampled_starts: tuple[int, ...]  # the messages whose heads are sampled
    sampled_hash: str  # of blocks of the bytes before last_offset
    max_message_bytes: int  # the limits it was read under: other limits read it all again
    max_entries: int
    listed: tuple[str, ...]  # the names the mailbox's own document lists before it
    unlisted: int  # messages before it past max_entries, which that document only counts


def spread_starts(starts: Sequence[int], end: int) -> tuple[int, ...]:
    """Up to _SAMPLED_MESSAGES of the message starts `starts` (ascending, all before `end`),
    spread over the bytes before `end`; the last of them always."""
    if not starts:
        return ()
    chosen = {starts[-1]}
    for i in range(_SAMPLED_MESSAGES - 1):
        before = bisect_right(starts, end * i // (_SAMPLED_MESSAGES - 1))
        chosen.add(starts[max(0, before - 1)])
    return tuple(sorted(chosen))


def sampled_hash(handle: BinaryIO, end: int, starts: Sequence[int]) -> str:
    """A hash of the blocks of the file's first `end` bytes that begin at its start, at the
    message `starts` and a block before `end`, with their places."""
    digest = hashlib.sha256(f"{end}".encode())
    for start in sorted({0, max(0, end - _SAMPLE_BYTES), *starts}):
        handle.seek(start)
        block = handle.read(max(0, min(_SAMPLE_BYTES, end - start)))
        digest.update(f"\n{start}:{len(block)}\n".encode() + block)
    return digest.hexdigest()


def resume_mailbox(
    path: Path, end: MailboxEnd, max_message_bytes: int, max_entries: int
) -> Mailbox | None:
    """The mailbox at `path` read from the last message `end` reached, numbered on from it;
    None when it cannot be taken up there (read it all)."""
    if (end.max_message_bytes, end.max_entries) != (max_message_bytes, max_entries):
        return None
    handle = open_regular_file(path)
    try:
        if sampled_hash(handle, end.last_offset, end.sampled_starts) == end.sampled_hash:
            messages = read_mailbox_from(
                handle, end.last_offset, end.last_number, max_message_bytes
            )
            if messages is not None:
                return messages
    except BaseException:
        handle.close()
        raise
    handle.close()
    return None
