"""Files that hold other files: .zip and .tar(.gz) archives, e-mail with attachments, and
.mbox mailboxes.

A container is indexed as a document of its own (an archive's or a mailbox's list of members,
a message's headers and body), and each member as a document named "archive.zip › inner/path",
so that
documents.path stays unique and a member is found like any file. Members are unpacked once
into a private temporary folder and extracted from there; nested containers are opened too,
down to MAX_NESTING levels.

Archives are hostile input, so unpacking stops at limits on entry count, total unpacked size
and compression ratio (zip bombs), and refuses names that would climb out of the archive
(`../`, absolute paths) or that are links or devices. Every refusal is reported as a skipped
member with its reason; nothing is ever written outside the temporary folder.
"""

from __future__ import annotations

import functools
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from localsearch.ingest.extract import (
    BINARY_EXTENSIONS,
    ExtractionError,
    detect_doc_type,
    extract_file,
    is_mailbox_name,
)
from localsearch.ingest.types import MEMBER_SEPARATOR, ExtractedDocument, Section
from localsearch.ingest.walk import JUNK_DIRS, format_size

UNPACK_PREFIX = "localsearch-unpack-"
OPENED_COPY_HOURS = 12  # how long a member opened for a viewer keeps its private copy
MAX_NESTING = 2  # an archive in an archive is opened; one more level down is not
_READ_BLOCK = 1024 * 1024
_Reader = Callable[[], Iterator[bytes]]
_JUNK_FOLDERS = JUNK_DIRS | {"__MACOSX"}  # as the walker, plus macOS zip resource forks


@dataclass(frozen=True)
class UnpackLimits:
    """Where unpacking one container (with everything nested in it) stops."""

    max_entries: int = 10_000
    max_total_bytes: int = 1024 * 1024 * 1024
    max_member_bytes: int = 20 * 1024 * 1024
    max_ratio: int = 200  # unpacked size over compressed size, per zip member or per tar.gz


@dataclass(frozen=True)
class Member:
    """One file inside a container, unpacked to `path` (or, for a nested container, listed)."""

    name: str  # "inner/path.txt", or "inner.zip › deeper.txt" for nested members
    path: Path  # the unpacked bytes, in the private temporary folder
    size: int
    document: ExtractedDocument | None = None  # set for a nested container: its own document


@dataclass
class Unpacked:
    """A container's own document, its members and its refusals; close() removes the files."""

    document: ExtractedDocument
    members: list[Member] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (member name, reason)
    folder: Path | None = None

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> Unpacked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_container(path: Path) -> bool:
    return detect_doc_type(path) in ("archive", "mail")


def member_path(container: str, name: str) -> str:
    return f"{container}{MEMBER_SEPARATOR}{name}"


def container_document(path: Path) -> ExtractedDocument:
    """Only the container's own document (its member list, or the message), nothing unpacked."""
    with unpack(path, write=False) as unpacked:
        return unpacked.document


def unpack_member(indexed_path: str) -> Path:
    """One member of an indexed container ("/x/a.zip › inner/b.md") as a file that can be opened.

    The member alone is unpacked into a new private folder (mode 700) under the system's
    temporary directory, which is left for the program that opens it; the copies earlier
    openings left are removed once they are OPENED_COPY_HOURS old.
    """
    container, _, name = indexed_path.partition(MEMBER_SEPARATOR)
    if not name:
        raise ExtractionError(f"not a member of an archive or message: {indexed_path}")
    _remove_old_copies()
    unpacked = unpack(Path(container), wanted=name)
    found = next((m.path for m in unpacked.members if m.name == name), None)
    if found is None:
        unpacked.close()
        raise ExtractionError(f"{name} is no longer in {container}; re-index to catch up")
    return found


def member_document(indexed_path: str) -> ExtractedDocument:
    """One member of an indexed container, read from a private unpacked copy that is then
    removed. Raises ExtractionError when the container or the member cannot be read."""
    found = unpack_member(indexed_path)
    try:
        return extract_file(found)
    finally:
        shutil.rmtree(_unpack_folder(found), ignore_errors=True)


def _remove_old_copies() -> None:
    """Remove this user's unpack folders older than OPENED_COPY_HOURS (by their own mtime):
    a viewer has long read its copy by then, and a mail attachment should not outlive that."""
    oldest = time.time() - OPENED_COPY_HOURS * 3600
    try:
        folders = list(Path(tempfile.gettempdir()).glob(f"{UNPACK_PREFIX}*"))
    except OSError:
        return
    for folder in folders:
        try:
            status = folder.lstat()
        except OSError:
            continue
        mine = status.st_uid == os.getuid() and stat.S_ISDIR(status.st_mode)
        if mine and status.st_mtime < oldest:
            shutil.rmtree(folder, ignore_errors=True)


def _unpack_folder(member: Path) -> Path:
    """The private folder that unpack() made for `member`, however deep the member lies."""
    for folder in member.parents:
        if folder.name.startswith(UNPACK_PREFIX):
            return folder
    raise ValueError(f"{member} is not in an unpack folder")


def unpack(
    path: Path,
    limits: UnpackLimits | None = None,
    *,
    write: bool = True,
    wanted: str | None = None,
) -> Unpacked:
    """Open the container at `path`; with write, unpack its members into a private folder
    (only the member named `wanted`, and the containers on its way, when it is given).

    Raises ExtractionError when the container itself cannot be read.
    """
    limits = limits or UnpackLimits()
    folder = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX)) if write else None
    budget = _Budget(limits, wanted)
    try:
        unpacked = _open(path, path.name, folder, budget, depth=0)
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    unpacked.folder = folder
    return unpacked


class _Budget:
    """What one unpacking has spent so far, across nested containers."""

    def __init__(self, limits: UnpackLimits, wanted: str | None = None) -> None:
        self.limits = limits
        self.wanted = wanted
        self.entries = 0
        self.total_bytes = 0
        self.next_file = 0

    def refusal(self, size: int) -> str | None:
        """Why one more entry of `size` bytes may not be unpacked, or None if it may."""
        if self.entries >= self.limits.max_entries:
            return f"archive limit: over {self.limits.max_entries} entries"
        if self.total_bytes + size > self.limits.max_total_bytes:
            return f"archive limit: over {_megabytes(self.limits.max_total_bytes)} unpacked"
        return None

    def needs(self, name: str) -> bool:
        """Whether member `name` (a full nested name) has to be written out."""
        return (
            self.wanted is None
            or self.wanted == name
            or self.wanted.startswith(name + MEMBER_SEPARATOR)
        )

    def spend(self, size: int) -> None:
        self.entries += 1
        self.total_bytes += size


def _open(
    path: Path, display: str, folder: Path | None, budget: _Budget, depth: int, prefix: str = ""
) -> Unpacked:
    kind = detect_doc_type(path)
    if kind == "mail" and not is_mailbox_name(path.name):
        return _open_mail(path, folder, budget, depth, prefix)
    name = path.name.lower()
    mailbox = kind == "mail"
    if mailbox:
        entries = _mailbox_entries(path, budget.limits)
    elif name.endswith(".zip"):
        entries = _zip_entries(path, budget)
    else:
        entries = _tar_entries(path, budget)
    unpacked = Unpacked(ExtractedDocument(title=display, doc_type=kind))
    listed: list[str] = []
    unlisted = 0
    for entry in entries:
        if isinstance(entry, _Refused):
            unpacked.skipped.append((entry.name, entry.reason))
            continue
        if len(listed) < budget.limits.max_entries:
            listed.append(entry.name)
        else:
            unlisted += 1
        if not mailbox:  # a mailbox is no bomb, its size is on disk: only each message's counts
            budget.spend(entry.size)
        if folder is not None and budget.needs(_full_name(prefix, entry.name)):
            _add_member(unpacked, entry.name, entry.read, entry.size, folder, budget, depth, prefix)
            if mailbox and budget.wanted is not None:
                break  # the message to open: the rest of a mailbox of gigabytes is not read
    unpacked.document.sections = listing(display, listed, unlisted)
    return unpacked


def unpack_message(data: bytes, name: str, limits: UnpackLimits) -> Unpacked:
    """One message read from a mailbox, unpacked as unpack() unpacks it inside the mailbox
    (its attachments one level down), with limits of its own: a mailbox is read a message at
    a time, never unpacked whole. Only a message with attachments gets a folder."""
    from localsearch.ingest.extract_mail import read_eml

    document, attachments = read_eml(Path(name), data)
    if not attachments:
        return Unpacked(document)
    folder = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX))
    try:
        unpacked = _unpacked_mail(document, attachments, folder, _Budget(limits), 1, name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    unpacked.folder = folder
    return unpacked


def _open_mail(
    path: Path, folder: Path | None, budget: _Budget, depth: int, prefix: str
) -> Unpacked:
    from localsearch.ingest.extract_mail import read_eml, read_msg

    document, attachments = (read_msg if path.suffix.lower() == ".msg" else read_eml)(path)
    return _unpacked_mail(document, attachments, folder, budget, depth, prefix)


def _unpacked_mail(
    document: ExtractedDocument,
    attachments: list[tuple[str, bytes]],
    folder: Path | None,
    budget: _Budget,
    depth: int,
    prefix: str,
) -> Unpacked:
    unpacked = Unpacked(document)
    seen: set[str] = set()
    for name, data in attachments:
        unique = _unique(name, seen)
        refusal = _size_refusal(len(data), budget.limits) or budget.refusal(len(data))
        if refusal is not None:
            unpacked.skipped.append((unique, refusal))
            continue
        budget.spend(len(data))
        if folder is not None and budget.needs(_full_name(prefix, unique)):
            read = functools.partial(iter, [data])
            _add_member(unpacked, unique, read, len(data), folder, budget, depth, prefix)
    return unpacked


def _add_member(
    unpacked: Unpacked,
    name: str,
    read: _Reader,
    size: int,
    folder: Path,
    budget: _Budget,
    depth: int,
    prefix: str,
) -> None:
    budget.next_file += 1
    # The file keeps the member's base name (extraction goes by it) but no part of its path.
    target = folder / str(budget.next_file) / _base_name(name)
    target.parent.mkdir()
    written = 0
    refusal = None
    with target.open("wb") as out:
        try:
            for block in read():
                written += len(block)
                if written > size:
                    refusal = "archive limit: member larger than it claims"
                    break
                out.write(block)
        except ExtractionError as exc:
            refusal = str(exc)
    if refusal is not None:
        target.unlink()
        unpacked.skipped.append((name, refusal))
        return
    full_name = _full_name(prefix, name)
    if not is_container(target) or budget.wanted == full_name:
        unpacked.members.append(Member(name, target, written))
        return
    if depth + 1 >= MAX_NESTING:
        unpacked.skipped.append((name, f"archive limit: nested over {MAX_NESTING} levels deep"))
        return
    try:
        inner = _open(target, name, folder, budget, depth + 1, full_name)
    except ExtractionError as exc:
        unpacked.skipped.append((name, str(exc)))
        return
    unpacked.members.append(Member(name, target, written, inner.document))
    unpacked.members.extend(
        Member(member_path(name, m.name), m.path, m.size, m.document) for m in inner.members
    )
    unpacked.skipped.extend((member_path(name, n), reason) for n, reason in inner.skipped)


# -- archive entries --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    size: int
    read: _Reader


@dataclass(frozen=True)
class _Refused:
    name: str
    reason: str


def _zip_entries(path: Path, budget: _Budget) -> Iterator[_Entry | _Refused]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ExtractionError(f"broken zip: {exc}") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            refusal = _name_refusal(name) or _kind_refusal(name)
            if refusal is None and info.flag_bits & 0x1:
                refusal = "encrypted"
            if refusal is None:
                refusal = _size_refusal(info.file_size, budget.limits)
            if refusal is None and info.file_size > budget.limits.max_ratio * max(
                info.compress_size, 1024
            ):
                ratio = info.file_size // max(info.compress_size, 1)
                limit = budget.limits.max_ratio
                refusal = f"zip bomb: compression ratio {ratio}:1 (limit {limit}:1)"
            if refusal is None:
                refusal = budget.refusal(info.file_size)
            if refusal == "hidden":
                continue
            if refusal is not None:
                yield _Refused(name, refusal)
                continue
            yield _Entry(name, info.file_size, _zip_reader(archive, info))


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Reader:
    def read() -> Iterator[bytes]:
        try:
            with archive.open(info) as stream:
                yield from _blocks(stream)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error) as exc:
            raise ExtractionError(f"broken zip member: {exc}") from exc

    return read


def _mailbox_entries(path: Path, limits: UnpackLimits) -> Iterator[_Entry | _Refused]:
    from localsearch.ingest.mailbox import read_mailbox

    with read_mailbox(path, limits.max_member_bytes) as messages:
        for message in messages:
            if message.data is None:
                yield _Refused(message.name, size_refusal(limits.max_member_bytes))
            else:
                yield _Entry(message.name, message.size, functools.partial(iter, [message.data]))


def _tar_entries(path: Path, budget: _Budget) -> Iterator[_Entry | _Refused]:
    compressed = path.stat().st_size
    try:
        archive = tarfile.open(path, mode="r|*")  # streaming: one pass, no seeking back
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExtractionError(f"broken tar: {exc}") from exc
    unpacked = 0
    with archive:
        try:
            for info in archive:
                name = info.name
                if info.isdir():
                    continue
                refusal = _name_refusal(name) or _kind_refusal(name)
                if refusal is None and not info.isreg():
                    refusal = "not a regular file (link or device)"
                if refusal is None:
                    refusal = _size_refusal(info.size, budget.limits)
                unpacked += info.size
                if refusal is None and unpacked > budget.limits.max_ratio * max(
                    compressed, 64 * 1024
                ):
                    yield _Refused(
                        name,
                        f"zip bomb: unpacks to over {budget.limits.max_ratio} times its size;"
                        " the rest of the archive is skipped",
                    )
                    return
                if refusal is None:
                    refusal = budget.refusal(info.size)
                if refusal == "hidden":
                    continue
                if refusal is not None:
                    yield _Refused(name, refusal)
                    continue
                stream = archive.extractfile(info)
                if stream is None:
                    continue
                yield _Entry(name, info.size, functools.partial(_blocks, stream))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ExtractionError(f"broken tar: {exc}") from exc


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    while block := stream.read(_READ_BLOCK):
        yield block


def _name_refusal(name: str) -> str | None:
    """Why a member name is not unpacked: a path out of the archive, or a hidden/junk file."""
    normal = name.replace("\\", "/")
    parts = [part for part in normal.split("/") if part not in ("", ".")]
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "unsafe path: absolute name"
    if ".." in parts:
        return "unsafe path: climbs out of the archive (../)"
    if not parts or any(p.startswith(".") for p in parts):
        return "hidden"
    if any(p in _JUNK_FOLDERS for p in parts[:-1]):
        return "hidden"
    return None


def _size_refusal(size: int, limits: UnpackLimits) -> str | None:
    return size_refusal(limits.max_member_bytes) if size > limits.max_member_bytes else None


def size_refusal(max_bytes: int) -> str:
    """Why a member over the size limit is skipped, in the walker's words for a file."""
    return f"over {format_size(max_bytes)}"


def _full_name(prefix: str, name: str) -> str:
    return member_path(prefix, name) if prefix else name


def listing(display: str, names: list[str], unlisted: int = 0) -> list[Section]:
    """A container's own text: the names of its members (`unlisted` more left out)."""
    if not names:
        return []
    more = [f"and {unlisted:,} more"] if unlisted else []
    return [Section(text=f"{display} holds:\n" + "\n".join(names + more), heading="")]


def _unique(name: str, seen: set[str]) -> str:
    candidate, number = name, 1
    while candidate in seen:
        number += 1
        stem, dot, suffix = name.rpartition(".")
        candidate = f"{stem} ({number}).{suffix}" if dot else f"{name} ({number})"
    seen.add(candidate)
    return candidate


def _base_name(name: str) -> str:
    base = posixpath.basename(name.replace("\\", "/"))
    base = "".join(c for c in base if c.isprintable()).strip()
    while len(base.encode("utf-8", "surrogateescape")) > 200:
        base = base[1:]  # keep the end: the extension decides the format
    return base or "member"


def _kind_refusal(name: str) -> str | None:
    """A member the walker would skip by its extension: images, media, binaries."""
    if name.lower().endswith((".tar.gz", ".tgz")):
        return None
    return BINARY_EXTENSIONS.get(posixpath.splitext(name.lower())[1])


def _megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"
