"""SearchHistory: record searches and actions on their results; read them back as chunk ids.

Chunks are stored by reference (store/search_log.py) and resolved when read: the chunk with
the same text (embed_hash) nearest its old position, else the chunk at the same position whose
lines overlap the old ones. Entries of a deleted document are deleted with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from localsearch.config import Settings, require_index
from localsearch.errors import UsageError
from localsearch.store import Store
from localsearch.store import search_log as sql
from localsearch.store.search_log import ChunkRef, CurrentChunk, LogEntry, SearchRow

MODES = ("hybrid", "bm25", "dense")
SOURCES = ("tui", "cli", "mcp", "simulated")
OPENS = ("open", "open_folder")
MARKS = ("relevant", "not_relevant")
ACTIONS = (*OPENS, *MARKS)


@dataclass(frozen=True)
class LoggedSearch:
    id: int
    query: str
    mode: str  # "hybrid" | "bm25" | "dense"
    source: str  # "tui" | "cli" | "mcp" | "simulated"
    at: float  # time.time()
    shown: tuple[int, ...]  # current chunk ids shown, in rank order
    opened: tuple[int, ...]  # chunk ids opened, first first
    relevant: tuple[int, ...]  # marked "this is it"
    not_relevant: tuple[int, ...]  # marked "not this"
    path_glob: str | None = None  # the --path and --type filters it ran with
    doc_types: tuple[str, ...] = ()


class SearchHistory:
    """The log in `store`; with `enabled` False nothing is recorded, but it can still be read
    and cleared. Safe to share between threads: calls take turns on the store's connection."""

    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self._lock = threading.Lock()

    def record_search(
        self,
        query: str,
        mode: str,
        shown: Sequence[int],
        source: str,
        *,
        at: float | None = None,
        path_glob: str | None = None,
        doc_types: Sequence[str] = (),
    ) -> int | None:
        """Log a search, the filters it ran with and the chunks it showed, in rank order;
        returns its id.

        None when recording is off or the query is blank. Shown chunks that no longer exist
        are left out."""
        _check(mode, MODES, "mode")
        _check(source, SOURCES, "source")
        if not self.enabled or not query.strip():
            return None
        when = time.time() if at is None else at
        with self._lock, self.store.transaction():
            search_id = sql.insert_search(
                self.store, query.strip(), mode, source, when, path_glob or None, doc_types
            )
            refs = sql.chunk_refs(self.store, list(shown))
            for rank, chunk_id in enumerate(shown, start=1):
                ref = refs.get(chunk_id)
                if ref is not None:
                    sql.insert_entry(self.store, search_id, sql.SHOWN, rank, ref, when)
        return search_id

    def record_action(
        self, search_id: int, chunk_id: int, action: str, *, at: float | None = None
    ) -> None:
        """Log that the user opened or marked a chunk from a search; a later mark of the same
        chunk replaces an earlier one when read."""
        _check(action, ACTIONS, "action")
        if not self.enabled:
            return
        when = time.time() if at is None else at
        with self._lock, self.store.transaction():
            if not sql.search_rows(self.store, search_id=search_id):
                raise UsageError(
                    f"no search #{search_id} in the history", "see `localsearch history`"
                )
            ref = sql.chunk_refs(self.store, [chunk_id]).get(chunk_id)
            if ref is None:
                raise UsageError(
                    f"chunk {chunk_id} is no longer in the index", "search again and retry"
                )
            sql.insert_entry(self.store, search_id, action, None, ref, when)

    def searches(self, *, limit: int | None = None) -> list[LoggedSearch]:
        """Logged searches, newest first, with chunk ids as they are in the index now."""
        with self._lock:
            return self._resolved(sql.search_rows(self.store, limit=limit))

    def search(self, search_id: int) -> LoggedSearch | None:
        with self._lock:
            found = self._resolved(sql.search_rows(self.store, search_id=search_id))
        return found[0] if found else None

    def latest(self, source: str | None = None) -> LoggedSearch | None:
        """The newest search, or the newest from `source`."""
        with self._lock:
            found = self._resolved(sql.search_rows(self.store, limit=1, source=source))
        return found[0] if found else None

    def shown_at(self, search_id: int, rank: int) -> int | None:
        """The current id of the chunk a search showed at `rank` (1-based), if it is still there.

        Unlike `shown`, ranks stay as they were shown when an earlier result's document is gone.
        """
        with self._lock:
            entries = sql.entries_of(self.store, [search_id])
            found = [e for e in entries if e.kind == sql.SHOWN and e.rank == rank]
            if not found:
                return None
            chunks = sql.current_chunks(self.store, [found[0].ref.document_id])
            return resolve(found[0].ref, chunks[found[0].ref.document_id])

    def count(self) -> int:
        with self._lock:
            return sql.count_searches(self.store)

    def clear(self) -> int:
        """Delete every logged search, leaving no trace of it in the database's files;
        returns how many there were."""
        with self._lock:
            with self.store.transaction():
                deleted = sql.delete_all(self.store)
            sql.empty_write_ahead_log(self.store)
        return deleted

    def delete(self, search_ids: Sequence[int]) -> int:
        """Delete these searches, leaving no trace of them in the database's files; all or
        none: an id not in the log is an error and nothing is deleted."""
        ids = sorted(set(search_ids))
        with self._lock:
            with self.store.transaction():
                for search_id in ids:
                    if not sql.search_rows(self.store, search_id=search_id):
                        raise UsageError(
                            f"no search #{search_id} in the history", "see `localsearch history`"
                        )
                sql.delete_searches(self.store, ids)
            sql.empty_write_ahead_log(self.store)
        return len(ids)

    def _resolved(self, rows: Sequence[SearchRow]) -> list[LoggedSearch]:
        entries = sql.entries_of(self.store, [r.id for r in rows])
        chunks = sql.current_chunks(self.store, (e.ref.document_id for e in entries))
        by_search: dict[int, list[LogEntry]] = {r.id: [] for r in rows}
        for entry in entries:
            by_search[entry.search_id].append(entry)
        return [_logged(row, by_search[row.id], chunks) for row in rows]


@contextmanager
def open_history(settings: Settings) -> Iterator[SearchHistory]:
    """The history in the settings' database, on a connection of its own; recording follows
    `settings.record_history`."""
    require_index(settings)
    store = Store(settings.database_path)
    try:
        yield SearchHistory(store, enabled=settings.record_history)
    finally:
        store.close()


def _logged(
    row: SearchRow, entries: Sequence[LogEntry], chunks: dict[int, list[CurrentChunk]]
) -> LoggedSearch:
    shown: dict[int, None] = {}
    opened: dict[int, None] = {}
    marks: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e.kind != sql.SHOWN, e.rank or 0, e.id)):
        chunk_id = resolve(entry.ref, chunks.get(entry.ref.document_id, []))
        if chunk_id is None:
            continue
        if entry.kind == sql.SHOWN:
            shown.setdefault(chunk_id)
        elif entry.kind in OPENS:
            opened.setdefault(chunk_id)
        else:
            marks.pop(chunk_id, None)  # the latest mark wins, in the order it was made
            marks[chunk_id] = entry.kind
    return LoggedSearch(
        id=row.id,
        query=row.query,
        mode=row.mode,
        source=row.source,
        at=row.at,
        shown=tuple(shown),
        opened=tuple(opened),
        relevant=tuple(c for c, kind in marks.items() if kind == "relevant"),
        not_relevant=tuple(c for c, kind in marks.items() if kind == "not_relevant"),
        path_glob=row.path_glob,
        doc_types=row.doc_types,
    )


def resolve(ref: ChunkRef, chunks: Sequence[CurrentChunk]) -> int | None:
    """The current id of the chunk `ref` was, or None when it is gone."""
    same_text = [c for c in chunks if c.embed_hash == ref.embed_hash]
    if same_text:
        return min(same_text, key=lambda c: abs(c.ordinal - ref.ordinal)).chunk_id
    for chunk in chunks:
        if (
            chunk.ordinal == ref.ordinal
            and chunk.start_line <= ref.end_line
            and ref.start_line <= chunk.end_line
        ):
            return chunk.chunk_id
    return None


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise UsageError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
