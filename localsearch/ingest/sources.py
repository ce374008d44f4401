"""Sources: the documents an index run brings in, from files on disk, inside containers, or
from a dataset, each with its size, time, hash and extraction deferred until it is needed.

A module of its own so that what a document is (here) stays apart from how it is stored
(index.py): the index asks a source for its hash only when size or time changed, and opens
a container only when its hash did.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from localsearch.ingest.types import ExtractedDocument, FoundFile

if TYPE_CHECKING:
    from localsearch.ingest.containers import Unpacked, UnpackLimits
    from localsearch.ingest.mailbox import Mailbox
    from localsearch.ingest.mailbox_end import MailboxEnd

_HASH_BLOCK = 1024 * 1024


@dataclass
class SourceDocument:
    """A document to bring in, from a file or from a dataset record."""

    path: str
    size: int
    mtime_ns: int
    content_hash: Callable[[], str]
    extract: Callable[[], ExtractedDocument]
    # Set for a container (archive, e-mail): its own document plus members to index after it.
    expand: Callable[[], Expansion] | None = None
    # Set for a mailbox: expand it from where an earlier read ended, or None if the bytes
    # before that changed (then expand it all).
    resume: Callable[[MailboxEnd], Expansion | None] | None = None


@dataclass
class Expansion:
    """A container opened: its members as sources, then its own document and the members it
    refused, and a cleanup. A mailbox's members are a generator that reads them one at a time,
    so its document (the list of them) and its refusals are whole once they have all been read.
    """

    members: Iterable[SourceDocument]
    document: Callable[[], ExtractedDocument]
    skipped: list[tuple[str, str]]
    close: Callable[[], None]
    count: int | None = None  # how many members, when that is known before reading them
    # (bytes read, bytes in all) of a container read as its members are asked for (a mailbox)
    read_so_far: Callable[[], tuple[int, int]] | None = None
    # A mailbox's: where this read ended, for the next to take up from (None: it cannot),
    # once its members have all been read.
    end: Callable[[], MailboxEnd | None] | None = None
    # A mailbox taken up from an earlier end's: whether a stored path in it (a message or an
    # attachment) lies before the messages read again, and so stays as stored.
    kept: Callable[[str], bool] | None = None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The file's hash, read a block at a time: a mailbox may be gigabytes."""
    from localsearch.ingest.regular_file import open_regular_file

    digest = hashlib.sha256()
    with open_regular_file(path) as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_source(
    found: FoundFile,
    extract: Callable[[Path], ExtractedDocument],
    max_member_bytes: int | None = None,
) -> SourceDocument:
    from localsearch.ingest.containers import is_container
    from localsearch.ingest.extract import is_mailbox_name

    source = SourceDocument(
        path=str(found.path),
        size=found.size,
        mtime_ns=found.mtime_ns,
        content_hash=lambda: sha256_file(found.path),
        extract=lambda: extract(found.path),
    )
    limits = _limits(max_member_bytes)
    if is_mailbox_name(found.path.name):
        source.expand = lambda: expand_mailbox(source, found.path, extract, limits)
        source.resume = lambda end: resume_mailbox_expansion(
            source, found.path, extract, limits, end
        )
    elif is_container(found.path):
        source.expand = lambda: expand_container(source, found.path, extract, limits)
    return source


def expand_container(
    source: SourceDocument,
    path: Path,
    extract: Callable[[Path], ExtractedDocument],
    limits: UnpackLimits,
) -> Expansion:
    """Unpack an archive or message; its members become sources named "container › member"."""
    from localsearch.ingest.containers import unpack

    unpacked = _unpacked(lambda: unpack(path, limits), f"{path.suffix.lstrip('.')} file")
    return _expansion(source, unpacked, extract)


def expand_mailbox(
    source: SourceDocument,
    path: Path,
    extract: Callable[[Path], ExtractedDocument],
    limits: UnpackLimits,
) -> Expansion:
    """Open a mailbox: its messages are read one at a time as they are asked for, each a
    source unpacked only if it changed, with its attachments as its own members. The size
    limit is each message's; the mailbox's own document lists them (the first max_entries).
    """
    from localsearch.ingest.mailbox import read_mailbox

    messages = read_mailbox(path, limits.max_member_bytes)  # refuses a file that is no mailbox
    return _mailbox_expansion(source, path, extract, limits, messages, None)


def resume_mailbox_expansion(
    source: SourceDocument,
    path: Path,
    extract: Callable[[Path], ExtractedDocument],
    limits: UnpackLimits,
    end: MailboxEnd,
) -> Expansion | None:
    """A mailbox that grew, opened at the last message an earlier read reached (`end`): the
    messages before it stay as stored. None when the bytes before it changed."""
    from localsearch.ingest.mailbox_end import resume_mailbox

    messages = resume_mailbox(path, end, limits.max_member_bytes, limits.max_entries)
    if messages is None:
        return None
    return _mailbox_expansion(source, path, extract, limits, messages, end)


def _mailbox_expansion(
    source: SourceDocument,
    path: Path,
    extract: Callable[[Path], ExtractedDocument],
    limits: UnpackLimits,
    messages: Mailbox,
    since: MailboxEnd | None,
) -> Expansion:
    from localsearch.ingest.containers import listing, member_path, size_refusal, unpack_message
    from localsearch.ingest.mailbox import message_number
    from localsearch.ingest.mailbox_end import MailboxEnd, sampled_hash, spread_starts
    from localsearch.store.paths import display_path

    listed: list[str] = list(since.listed) if since else []
    unlisted = since.unlisted if since else 0
    skipped: list[tuple[str, str]] = []
    # The last message read: (its offset, its number, and how much was listed before it).
    last: tuple[int, int, int, int] | None = None
    # Where messages start that the next end may sample: the earlier end's, and all read now.
    starts = array("q", since.sampled_starts if since else ())

    def message_source(name: str, data: list[bytes], size: int) -> SourceDocument:
        message = SourceDocument(
            path=member_path(source.path, name),
            size=size,
            mtime_ns=source.mtime_ns,
            content_hash=lambda: sha256_bytes(data[0]),
            extract=lambda: _document_of(message),
        )
        message.expand = lambda: _expansion(
            message,
            _unpacked(lambda: unpack_message(data[0], name, limits), "message"),
            extract,
        )
        return message

    def members() -> Iterator[SourceDocument]:
        nonlocal unlisted, last
        for message in messages:
            last = (message.offset, message.number, len(listed), unlisted)
            starts.append(message.offset)
            member = member_path(source.path, message.name)
            if message.data is None:
                skipped.append((member, size_refusal(limits.max_member_bytes)))
                continue
            if len(listed) < limits.max_entries:
                listed.append(message.name)
            else:
                unlisted += 1
            data = [message.data]
            try:
                yield message_source(message.name, data, message.size)
            finally:
                data.clear()  # the index is done with it: let its bytes go

    def end() -> MailboxEnd | None:
        if last is None or not messages.unchanged_while_read():
            return None  # an empty mailbox, or one a writer changed under the read
        offset, number, listed_before, unlisted_before = last
        sampled = spread_starts(starts[:-1], offset)
        return MailboxEnd(
            last_offset=offset,
            last_number=number,
            sampled_starts=sampled,
            sampled_hash=sampled_hash(messages.handle, offset, sampled),
            max_message_bytes=limits.max_member_bytes,
            max_entries=limits.max_entries,
            listed=tuple(listed[:listed_before]),
            unlisted=unlisted_before,
        )

    inside = display_path(member_path(source.path, ""))  # how the store names its members

    def kept(stored: str) -> bool:
        if since is None or not stored.startswith(inside):
            return False
        number = message_number(stored[len(inside) :])
        return number is not None and number < since.last_number

    return Expansion(
        members=members(),
        document=lambda: ExtractedDocument(
            title=path.name, doc_type="mail", sections=listing(path.name, listed, unlisted)
        ),
        skipped=skipped,
        close=messages.close,
        read_so_far=lambda: (messages.bytes_read(), source.size),
        end=end,
        kept=kept if since is not None else None,
    )


def _limits(max_member_bytes: int | None) -> UnpackLimits:
    from localsearch.ingest.containers import UnpackLimits

    return UnpackLimits(max_member_bytes=max_member_bytes or UnpackLimits.max_member_bytes)


def _unpacked(unpack: Callable[[], Unpacked], what: str) -> Unpacked:
    from localsearch.ingest.extract import ExtractionError

    try:
        return unpack()
    except (ExtractionError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - archive and mail parsers raise all sorts
        raise ExtractionError(f"unreadable {what}: {exc}") from exc


def _expansion(
    source: SourceDocument, unpacked: Unpacked, extract: Callable[[Path], ExtractedDocument]
) -> Expansion:
    """An unpacked container's members as sources named "container › member"."""
    from localsearch.ingest.containers import member_path

    def member(
        name: str, file: Path, size: int, document: ExtractedDocument | None
    ) -> SourceDocument:
        return SourceDocument(
            path=member_path(source.path, name),
            size=size,
            mtime_ns=source.mtime_ns,
            content_hash=lambda: sha256_bytes(file.read_bytes()),
            extract=(lambda: document) if document is not None else (lambda: extract(file)),
        )

    members = [member(m.name, m.path, m.size, m.document) for m in unpacked.members]
    return Expansion(
        members=members,
        document=lambda: unpacked.document,
        skipped=[(member_path(source.path, name), reason) for name, reason in unpacked.skipped],
        close=unpacked.close,
        count=len(members),
    )


def _document_of(container: SourceDocument) -> ExtractedDocument:
    assert container.expand is not None
    expansion = container.expand()
    try:
        return expansion.document()
    finally:
        expansion.close()


def stored_members(stored: Iterable[str]) -> dict[str, list[str]]:
    """Stored container path -> the stored paths of its members, nested ones included; a
    message in a mailbox is a container of its own attachments as well."""
    members: dict[str, list[str]] = {}
    for path in stored:
        for container in containers_of(path):
            members.setdefault(container, []).append(path)
    return members


def containers_of(path: str) -> list[str]:
    """The containers a stored path lies in, outermost first: none for a file's own path."""
    from localsearch.ingest.types import MEMBER_SEPARATOR

    parts = path.split(MEMBER_SEPARATOR)
    return [MEMBER_SEPARATOR.join(parts[:end]) for end in range(1, len(parts))]


def outermost_file(path: str) -> str:
    """The file a stored path is in: itself, or the outermost container of a member."""
    from localsearch.ingest.types import MEMBER_SEPARATOR

    return path.split(MEMBER_SEPARATOR, 1)[0]
