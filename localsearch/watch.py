"""Keep the index in step with the files: watch the indexed folders and re-index what changed.

watchfiles (Rust's notify) reports changes in batches: it waits until the folder has been quiet
for `step` ms, or at most `debounce` ms in a long burst. Each batch brings the folders it
touched up to date through the same `Index.update` as `localsearch index` (a walk that skips
unchanged files by size and mtime), under the same writer lock. So an editor's save by
rename-and-replace, a half-written file seen mid-burst or a git checkout of thousands of files
all end as a fresh index of the folder would: whatever a batch saw, the next batch corrects.
When another process holds the index, the watcher waits for it and keeps the changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localsearch.config import Settings
from localsearch.errors import IndexBusyError, NoIndexError, UsageError
from localsearch.index import Index, IndexReport
from localsearch.index_roots import normalised, within
from localsearch.progress import ProgressCallback, ignore_progress

STEP_MS = 200  # quiet time that ends a batch
DEBOUNCE_MS = 1600  # the longest a batch collects during a burst
LOCK_POLL_SECONDS = 1.0
IDLE_YIELD_MS = 300  # how often the watch loop wakes when nothing changes
ROOTS_CHECK_SECONDS = 2.0  # how often watching every indexed folder looks for new ones


@dataclass
class WatchUpdate:
    """One batch of changes and what indexing them did."""

    changed: list[str]
    roots: list[str]
    report: IndexReport
    waited_seconds: float = 0.0
    # Files this batch skipped that the last did not (a corrupt PDF just saved, a file grown
    # past the size limit); report.skipped also holds every skip seen before.
    newly_skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class WatchCallbacks:
    on_update: Callable[[WatchUpdate], None] = lambda update: None
    on_waiting: Callable[[str], None] = lambda holder: None
    progress: ProgressCallback = ignore_progress
    on_ready: Callable[[list[Path]], None] = lambda roots: None


@dataclass
class Watcher:
    """Watches `roots` (or every indexed folder) until `stop` is set; one per thread."""

    settings: Settings
    roots: Sequence[Path] = ()
    callbacks: WatchCallbacks = field(default_factory=WatchCallbacks)
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)  # watching and caught up
    # Watching ends, between updates, once this says so (checked every ROOTS_CHECK_SECONDS).
    until: Callable[[], bool] = lambda: False
    updates: int = 0
    busy: bool = False
    _skipped: set[tuple[str, str]] = field(default_factory=set)  # as of the last update

    def run(self) -> None:
        from watchfiles._rust_notify import WatchfilesRustInternalError

        index = Index(self.settings)
        try:
            roots = self._start(index)
            while True:
                try:
                    changed_roots = self._watch(index, roots)
                    if changed_roots is None:
                        return
                    roots = changed_roots  # a folder indexed or removed meanwhile
                    self.callbacks.on_ready(roots)
                except WatchfilesRustInternalError:
                    # A changed file whose name is not UTF-8, which watchfiles cannot name and
                    # ends on: look over every root (the walk reads such names), watch anew.
                    self._update(index, roots, ["(a file whose name is not UTF-8)"])
        finally:
            index.close()

    def _watch(self, index: Index, roots: list[Path]) -> list[Path] | None:
        """Watch until stopped (None), or until the indexed roots change while every indexed
        folder is watched (the new roots, to watch anew)."""
        caught_up = False
        files = _FileStamps([r for r in roots if not r.is_dir()])
        folders = _folder_identities(roots)
        next_roots_check = time.monotonic() + ROOTS_CHECK_SECONDS
        for changes in self._changes([r for r in roots if r.is_dir()]):
            if not caught_up:
                # Files saved between the last update and the watch starting: once.
                self._update(index, roots, ["(watch started)"])
                caught_up = True
                if not self.ready.is_set():  # once, not again after a new start
                    self.ready.set()
                    self.callbacks.on_ready(roots)
            changed = sorted({path for _, path in changes} | {str(f) for f in files.changed()})
            touched = [r for r in roots if any(within(Path(p), r) for p in changed)]
            if touched:
                self._update(index, touched, changed)
            if time.monotonic() >= next_roots_check:
                next_roots_check = time.monotonic() + ROOTS_CHECK_SECONDS
                if self.until():
                    return None
                if not self.roots and (indexed := _indexed_roots(index)) != roots:
                    return indexed
                if _folder_identities(roots) != folders:
                    # A watched folder deleted, or made again: the old watch sees nothing of
                    # the new one. Watch anew, which indexes what changed meanwhile.
                    return roots
        return None

    def _changes(self, folders: list[Path]) -> Iterator[set[tuple[Any, str]]]:
        """watchfiles' batches for `folders`, and an empty one at least every IDLE_YIELD_MS."""
        import watchfiles

        if not folders:  # only single files, which are polled: just wake up
            while not self.stop.wait(IDLE_YIELD_MS / 1000):
                yield set()
            return
        yield from watchfiles.watch(
            *folders,
            watch_filter=self._filter(),
            step=STEP_MS,
            debounce=DEBOUNCE_MS,
            stop_event=self.stop,
            rust_timeout=IDLE_YIELD_MS,
            yield_on_timeout=True,
            raise_interrupt=True,
        )

    def _start(self, index: Index) -> list[Path]:
        """Index the given folders (or check the known ones) and return what to watch."""
        wanted = [normalised(p) for p in self.roots]
        for root in wanted:
            if not root.exists():
                raise UsageError(f"no such folder: {root}")
            if not root.is_dir():
                raise UsageError(f"not a folder: {root}", "watch folders, not single files")
        if not wanted and not self.settings.database_path.exists():
            raise NoIndexError("no folders are indexed yet", "run `localsearch watch PATH`")
        self._update(index, wanted, [])
        known = _indexed_roots(index)
        if wanted:
            # A folder inside a known root is indexed as part of it: watch the root.
            known = [k for k in known if any(within(w, k) or within(k, w) for w in wanted)]
        return known

    def _update(self, index: Index, roots: Sequence[Path], changed: list[str]) -> None:
        if changed:
            # A deleted root keeps its documents; one removed (`roots --remove`) since the
            # watch began stays removed rather than be indexed again by a change in it.
            indexed = set(_indexed_roots(index))  # those that exist
            roots = [r for r in roots if r in indexed]
            if not roots:
                return
        self.busy = True
        started = time.monotonic()
        waited = 0.0
        try:
            while True:
                try:
                    report = index.update(
                        list(roots), progress=self.callbacks.progress, wait_seconds=0
                    )
                    break
                except IndexBusyError as exc:
                    if self.stop.is_set():
                        return
                    if not waited:
                        self.callbacks.on_waiting(exc.message)
                    time.sleep(LOCK_POLL_SECONDS)
                    waited = time.monotonic() - started
            self.updates += 1
            skipped = set(report.skipped)
            newly_skipped = sorted(skipped - self._skipped) if changed else []
            self._skipped = skipped | {
                s for s in self._skipped if not any(within(Path(s[0]), r) for r in roots)
            }
            self.callbacks.on_update(
                WatchUpdate(
                    changed,
                    [str(r) for r in roots],
                    report,
                    waited_seconds=waited,
                    newly_skipped=newly_skipped,
                )
            )
        finally:
            self.busy = False

    def _filter(self) -> Callable[..., bool]:
        from watchfiles import DefaultFilter

        home = normalised(self.settings.home)
        default = DefaultFilter()

        def wanted(change: object, path: str) -> bool:
            # The data folder may sit inside a watched folder: its own writes are not news.
            return default(change, path) and not within(Path(path), home)  # type: ignore[arg-type]

        return wanted


def _folder_identities(roots: Sequence[Path]) -> list[tuple[int, int] | None]:
    """Each root's device and inode, None where it is gone."""
    identities: list[tuple[int, int] | None] = []
    for root in roots:
        try:
            info = root.stat()
        except OSError:
            identities.append(None)
        else:
            identities.append((info.st_dev, info.st_ino))
    return identities


def _indexed_roots(index: Index) -> list[Path]:
    """The roots there are to watch: folders, and files indexed on their own."""
    return [root for root in (Path(p) for _, p, _ in index.store.roots()) if root.exists()]


class _FileStamps:
    """Roots that are single files, polled: watching a file itself misses every change after
    an editor's save by rename, and watching its folder could mean watching a whole home."""

    def __init__(self, files: list[Path]) -> None:
        self.stamps = {f: _stamp(f) for f in files}

    def changed(self) -> list[Path]:
        changed = [f for f, stamp in self.stamps.items() if _stamp(f) != stamp]
        self.stamps.update({f: _stamp(f) for f in changed})
        return changed


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
