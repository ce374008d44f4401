"""Sources: the documents an index run brings in, from files on disk, inside containers, or
from a dataset, each with its size, time, hash and extraction deferred until it is needed.

A module of its own so that what a document is (here) stays apart from how it is stored
(index.py): the index asks a source for its hash only when size or time changed, and opens
a container only when its hash did.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localsearch.ingest.types import ExtractedDocument, FoundFile


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


@dataclass
class Expansion:
    """A container opened: its document, its members as sources, refusals, and a cleanup."""

    document: ExtractedDocument
    members: list[SourceDocument]
    skipped: list[tuple[str, str]]
    close: Callable[[], None]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_source(
    found: FoundFile,
    extract: Callable[[Path], ExtractedDocument],
    max_member_bytes: int | None = None,
) -> SourceDocument:
    from localsearch.ingest.containers import is_container
    from localsearch.ingest.regular_file import read_regular_file

    source = SourceDocument(
        path=str(found.path),
        size=found.size,
        mtime_ns=found.mtime_ns,
        content_hash=lambda: sha256_bytes(read_regular_file(found.path)),
        extract=lambda: extract(found.path),
    )
    if is_container(found.path):
        source.expand = lambda: expand_container(source, found.path, extract, max_member_bytes)
    return source


def expand_container(
    source: SourceDocument,
    path: Path,
    extract: Callable[[Path], ExtractedDocument],
    max_member_bytes: int | None = None,
) -> Expansion:
    """Unpack an archive or message; its members become sources named "container › member"."""
    from localsearch.ingest.containers import UnpackLimits, member_path, unpack
    from localsearch.ingest.extract import ExtractionError

    limits = UnpackLimits(max_member_bytes=max_member_bytes or UnpackLimits.max_member_bytes)
    try:
        unpacked = unpack(path, limits)
    except (ExtractionError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - archive and mail parsers raise all sorts
        raise ExtractionError(f"unreadable {path.suffix.lstrip('.')} file: {exc}") from exc

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

    return Expansion(
        document=unpacked.document,
        members=[member(m.name, m.path, m.size, m.document) for m in unpacked.members],
        skipped=[(member_path(source.path, name), reason) for name, reason in unpacked.skipped],
        close=unpacked.close,
    )


def stored_members(stored: dict[str, Any]) -> dict[str, list[str]]:
    """Stored container path -> the stored paths of its members (nested ones included)."""
    from localsearch.ingest.containers import MEMBER_SEPARATOR

    members: dict[str, list[str]] = {}
    for path in stored:
        if MEMBER_SEPARATOR in path:
            members.setdefault(outermost_file(path), []).append(path)
    return members


def outermost_file(path: str) -> str:
    """The file a stored path is in: itself, or the outermost container of a member."""
    from localsearch.ingest.containers import MEMBER_SEPARATOR

    return path.split(MEMBER_SEPARATOR, 1)[0]
