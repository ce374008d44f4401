"""Bringing the BM25 index up to SQLite: from the change log when it can, else whole.

BM25 records in state.json the data version it holds and the change log position read with it
(the store's `vector_changes`: every chunk inserted, deleted or moved, and every document
renamed or retitled in place, migrations 7 and 9). When SQLite has moved on (a kill -9
between two paced commits, a Ctrl-C whose last commit failed), only the chunks logged after
that position can differ: each is deleted from tantivy and, if it still exists, added again
as SQLite has it now, in one commit. A few batches behind, that is a fraction of a second
where a whole rebuild takes seconds at 36k chunks and a minute at a million, which a search
would wait for.

Whatever the log cannot vouch for is rebuilt whole, as before: no position (a state.json from
before positions were recorded), another schema or analyser, a log trimmed past the position
(it keeps the last 200k-400k rows, store/database.py), a database behind the index (restored
from a backup, or made anew: its log is another's), files tantivy cannot read, or, after the
catch-up, a count of documents other than the count of chunks. A separate module because
both callers of Index.sync_lexical (an index run, a search's repair) come through here, and
index.py has enough to do.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable

from localsearch.errors import LexicalDiskFullError, LexicalIndexError
from localsearch.lexical.tantivy_index import LexicalIndex
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.store import Store
from localsearch.wording import plural

NEWER_VERSION = (
    "the BM25 index is from a newer version of localsearch than this process (one started"
    " before an upgrade, or an older install), which leaves it as it is"
)
# Catch-ups of fewer chunks than this are over before a progress bar would be worth drawing.
PROGRESS_FROM = 1000


class LexicalSync(enum.Enum):
    IN_STEP = "in step"
    CAUGHT_UP = "caught up"  # on the chunks logged since the version it held
    REBUILT = "rebuilt"  # whole, from SQLite
    REPAIRED = "repaired"  # rebuilt whole: it had SQLite's version, but damaged files


def bring_up_to_date(
    lexical: LexicalIndex,
    store: Store,
    progress: ProgressCallback = ignore_progress,
    *,
    force: bool = False,
    announce: Callable[[str], None] | None = None,
) -> LexicalSync:
    """Bring `lexical` up to `store` if it is missing, behind or damaged; with `force`,
    rebuild it whole. The caller holds the writer lock. `announce` hears one line before a
    whole rebuild that a new version of localsearch needs (seconds to a minute to wait).
    Raises LexicalIndexError for files a newer version made, which are left as they are."""
    if lexical.made_by_a_newer_version():
        raise LexicalIndexError(
            NEWER_VERSION,
            "run the newer localsearch (restart a `watch` started before the upgrade), or"
            f" remove {lexical.directory} to rebuild it for this version",
        )
    with store.snapshot():
        version, log_seq = store.data_version(), store.change_log_seq()
    if not force and lexical.synced_version() == version:
        if lexical_intact(lexical, store):
            if lexical.synced_log_seq() != log_seq:
                # Vectors embedded since it was last written log their chunks too: move its
                # position past them, so that a later catch-up does not add those again.
                with contextlib.suppress(LexicalIndexError):
                    lexical.mark_synced(version, log_seq)
            return LexicalSync.IN_STEP
        rebuild_whole(lexical, store, progress)
        return LexicalSync.REPAIRED
    if not force and _caught_up(lexical, store, progress):
        return LexicalSync.CAUGHT_UP
    if announce is not None and lexical.made_by_another_version():
        chunks = plural(store.count("chunks"), "chunk", separator=",")
        announce(f"Rebuilding the BM25 index for this version of localsearch ({chunks})…")
    rebuild_whole(lexical, store, progress)
    return LexicalSync.REBUILT


def lexical_intact(lexical: LexicalIndex, store: Store) -> bool:
    """Whether the BM25 files open and hold one entry per stored chunk."""
    try:
        return lexical.document_count() == store.count("chunks")
    except LexicalIndexError:
        return False


def rebuild_whole(
    lexical: LexicalIndex, store: Store, progress: ProgressCallback = ignore_progress
) -> None:
    """A fresh BM25 index from every chunk, read in one SQLite snapshot with the version and
    change log position it records."""
    with store.snapshot():
        version, log_seq = store.data_version(), store.change_log_seq()
        total = store.count("chunks")
        if total == 0:
            lexical.rebuild([], version, log_seq=log_seq)
            return
        advance = _progress_counter(progress, total, "rebuilding BM25 index")
        lexical.rebuild(store.iter_chunks(), version, advance, log_seq)


def _caught_up(lexical: LexicalIndex, store: Store, progress: ProgressCallback) -> bool:
    """Replace in `lexical` the chunks logged since the position it records; False, having
    changed nothing that matters, when only a whole rebuild can bring it up to date."""
    since, held = lexical.synced_log_seq(), lexical.synced_version()
    if since is None or held is None:
        return False
    with store.snapshot():
        version, log_seq = store.data_version(), store.change_log_seq()
        if held > version or since > log_seq:
            return False  # ahead of the database: one restored from a backup, or made anew
        changed = store.vector_changes_since(since)
        if changed is None:  # the log was trimmed past it
            return False
        changed.sort()
        total = store.count("chunks")
        advance = None
        if len(changed) >= PROGRESS_FROM:  # counted in chunks added again
            present = len(store.documents_of_chunks(changed))
            advance = _progress_counter(progress, present, "bringing BM25 index up to date")
        try:
            lexical.replace_chunks(changed, store.iter_chunks_of(changed), advance)
            # One document per chunk, or its files were damaged before: then the commit made
            # stays unrecorded, and the rebuild that follows replaces it.
            if lexical.document_count() != total:
                return False
        except LexicalDiskFullError:
            raise  # a rebuild needs more room still
        except LexicalIndexError:
            return False
    lexical.mark_synced(version, log_seq)
    return True


def _progress_counter(progress: ProgressCallback, total: int, detail: str) -> Callable[[int], None]:
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(ProgressEvent("lexical", done, total, detail))

    return advance
