"""Find the files under the indexed folders, as git would see them, in a stable order.

Walking is its own module because deciding what to leave out is most of the work: hidden and
junk folders, .gitignore/.ignore rules at every level, files too big (mailboxes aside: they are
read a message at a time) or of a binary kind, and symlinks, which are followed only while
they stay inside the indexed folders, and only once.
Nothing here opens a file; extraction decides what a file holds.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from localsearch.ingest.extract import BINARY_EXTENSIONS, is_archive_name, is_mailbox_name
from localsearch.ingest.types import FoundFile, SkippedFile

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
IGNORE_FILES = (".gitignore", ".ignore")  # later files win, as ripgrep's .ignore does
# Folders that hold installed or generated files, never a person's documents.
JUNK_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "bower_components"})


@dataclass(frozen=True)
class _IgnoreRules:
    """The ignore patterns of one folder, linked to those of the folders above it."""

    folder: Path
    spec: GitIgnoreSpec
    parent: _IgnoreRules | None

    def ignores(self, path: Path, is_dir: bool) -> bool:
        # The deepest folder whose patterns say anything about the path decides, as in git.
        rules: _IgnoreRules | None = self
        while rules is not None:
            relative = path.relative_to(rules.folder).as_posix() + ("/" if is_dir else "")
            decision = rules.spec.check_file(relative).include
            if decision is not None:
                return decision
            rules = rules.parent
        return False


@dataclass(frozen=True)
class _Pending:
    """A symlink met during the walk, followed only after every real path has been seen."""

    path: Path
    root: Path
    rules: _IgnoreRules | None


def walk_roots(
    roots: Sequence[Path],
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    leave_out: Sequence[Path] = (),
) -> Iterator[FoundFile | SkippedFile]:
    """Every file under `roots` (folders or single files) to index, or skipped with a reason.

    Order is deterministic: roots in the order given; in each folder its files by name, then
    its subfolders by name, depth-first; then the symlinks met on the way, so that a file
    reachable both directly and through a link is found under its real path. Ignored, hidden
    and junk paths are left out silently, as are the folders in `leave_out` (localsearch's own
    data, wherever it lies); ignore files above a root are not read. Raises
    FileNotFoundError for a root that does not exist, and nothing for problems with single
    files.
    """
    return _Walker(roots, max_file_bytes, leave_out).walk()


class _Walker:
    """One walk: its roots, the folders and files seen so far, and the links left to follow."""

    def __init__(
        self, roots: Sequence[Path], max_file_bytes: int, leave_out: Sequence[Path] = ()
    ) -> None:
        self._roots: list[Path] = []
        for root in roots:
            absolute = Path(os.path.abspath(root))
            if not os.path.exists(absolute):
                raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(root))
            if absolute not in self._roots:
                self._roots.append(absolute)
        self._real_roots = [Path(os.path.realpath(root)) for root in self._roots]
        self._max_file_bytes = max_file_bytes
        self._seen: set[tuple[int, int]] = set()  # (st_dev, st_ino) of folders and files
        for folder in leave_out:  # as if already walked, under any name or link
            try:
                self._first_visit(os.stat(folder))
            except OSError:
                pass  # not there (yet): nothing in it to leave out
        self._pending: list[_Pending] = []

    def walk(self) -> Iterator[FoundFile | SkippedFile]:
        for root in self._roots:
            try:
                info = os.stat(root)
            except OSError as exc:
                yield SkippedFile(root, _os_error_reason(exc))
                continue
            if stat.S_ISDIR(info.st_mode):
                if self._first_visit(info):
                    yield from self._walk_folder(root, root, None)
            else:
                yield from self._check_file(root, root, info)
        # Links can lead to folders holding more links: take them in the order they were met.
        while self._pending:
            pending, self._pending = self._pending, []
            for link in pending:
                yield from self._follow_link(link)

    def _walk_folder(
        self, folder: Path, root: Path, rules: _IgnoreRules | None
    ) -> Iterator[FoundFile | SkippedFile]:
        # Depth-first with an explicit stack: folder trees can be deeper than Python's stack.
        stack: list[tuple[Path, _IgnoreRules | None]] = [(folder, rules)]
        while stack:
            current, rules = stack.pop()
            try:
                with os.scandir(current) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError as exc:
                yield SkippedFile(current, _os_error_reason(exc))
                continue
            rules = _load_ignore_rules(current, rules)
            subfolders: list[tuple[Path, _IgnoreRules | None]] = []
            for entry in entries:
                path = current / entry.name
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    self._pending.append(_Pending(path, root, rules))
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                if is_dir and entry.name in JUNK_DIRS:
                    continue
                if rules is not None and rules.ignores(path, is_dir):
                    continue
                if is_dir:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError as exc:
                        yield SkippedFile(path, _os_error_reason(exc))
                        continue
                    if self._first_visit(info):
                        subfolders.append((path, rules))
                    continue
                yield from self._check_entry(entry, path, root)
            stack.extend(reversed(subfolders))

    def _check_entry(
        self, entry: os.DirEntry[str], path: Path, root: Path
    ) -> Iterator[FoundFile | SkippedFile]:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield SkippedFile(path, _os_error_reason(exc))
            return
        yield from self._check_file(path, root, info)

    def _check_file(
        self, path: Path, root: Path, info: os.stat_result
    ) -> Iterator[FoundFile | SkippedFile]:
        if not stat.S_ISREG(info.st_mode):
            yield SkippedFile(path, "not a regular file")
            return
        if not self._first_visit(info):
            return  # the same file again, through a link or a hard link
        binary_kind = (
            None if is_archive_name(path.name) else BINARY_EXTENSIONS.get(path.suffix.lower())
        )
        if binary_kind is not None:
            yield SkippedFile(path, binary_kind)
        elif info.st_size > self._max_file_bytes and not is_mailbox_name(path.name):
            # A mailbox is read a message at a time, and each message has to fit the limit.
            yield SkippedFile(path, f"over {format_size(self._max_file_bytes)}")
        elif not os.access(path, os.R_OK):
            yield SkippedFile(path, "permission denied")
        else:
            yield FoundFile(path=path, root=root, size=info.st_size, mtime_ns=info.st_mtime_ns)

    def _follow_link(self, link: _Pending) -> Iterator[FoundFile | SkippedFile]:
        try:
            info = os.stat(link.path)  # follows the whole chain of links
        except OSError as exc:
            reason = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
            yield SkippedFile(link.path, reason)
            return
        target = Path(os.path.realpath(link.path))
        if not self._inside_roots(target):
            yield SkippedFile(link.path, "symlink outside the indexed folders")
            return
        is_dir = stat.S_ISDIR(info.st_mode)
        if link.path.name in JUNK_DIRS and is_dir:
            return
        if link.rules is not None and link.rules.ignores(link.path, is_dir):
            return
        if not is_dir:
            yield from self._check_file(link.path, link.root, info)
        elif self._first_visit(info):
            yield from self._walk_folder(link.path, link.root, link.rules)

    def _first_visit(self, info: os.stat_result) -> bool:
        key = (info.st_dev, info.st_ino)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _inside_roots(self, target: Path) -> bool:
        return any(target == root or target.is_relative_to(root) for root in self._real_roots)


def _load_ignore_rules(folder: Path, parent: _IgnoreRules | None) -> _IgnoreRules | None:
    """The rules that apply inside `folder`: its own ignore files on top of its parents'."""
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            data = (folder / name).read_bytes()
        except OSError:
            continue  # absent, or unreadable: an ignore file we cannot read ignores nothing
        lines.extend(data.decode("utf-8", errors="replace").splitlines())
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return parent
    return _IgnoreRules(folder, GitIgnoreSpec.from_lines(lines), parent)


def format_size(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def _os_error_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"cannot read: {exc.strerror or type(exc).__name__}"
