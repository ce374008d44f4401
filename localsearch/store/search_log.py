"""The SQL of the search history: searches, the chunks they showed and what the user did.

Kept beside database.py rather than in it so that the history's tables can change without
touching the indexer's queries. A chunk is stored as a reference (document, ordinal,
embed_hash, lines) and resolved to the current chunk id when read, because re-indexing a file
rewrites its chunks under new ids. Functions take a Store and run inside the caller's
transaction where they write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from localsearch.store.connection import in_batches
from localsearch.store.database import Store

SHOWN = "shown"  # the kind of a row that records a result as shown, at its rank
NUMBERS = "('integer', 'real')"
# search_log_chunks rows whose references can be read back; others (a hand edit, a damaged
# page) are left out rather than failing every reader of the log.
READABLE_ENTRY = (
    "typeof(document_id) = 'integer' AND typeof(ordinal) = 'integer'"
    " AND typeof(start_line) = 'integer' AND typeof(end_line) = 'integer'"
    " AND (rank IS NULL OR typeof(rank) = 'integer')"
)


@dataclass(frozen=True)
class ChunkRef:
    """Enough of a chunk to find it again after its file is re-indexed."""

    document_id: int
    ordinal: int
    embed_hash: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class SearchRow:
    id: int
    query: str
    mode: str
    source: str
    at: float
    path_glob: str | None = None
    doc_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogEntry:
    """One row of search_log_chunks: a chunk shown at a rank, or an action on a chunk."""

    id: int
    search_id: int
    kind: str
    rank: int | None
    ref: ChunkRef


@dataclass(frozen=True)
class CurrentChunk:
    """A chunk as it is now, with the id it has today."""

    chunk_id: int
    ordinal: int
    embed_hash: str
    start_line: int
    end_line: int


def chunk_refs(store: Store, chunk_ids: Sequence[int]) -> dict[int, ChunkRef]:
    """References for the chunks that still exist; missing ids are left out."""
    found: dict[int, ChunkRef] = {}
    for part, marks in in_batches(chunk_ids):
        for r in store.conn.execute(
            "SELECT id, document_id, ordinal, embed_hash, start_line, end_line FROM chunks"
            f" WHERE id IN ({marks})",
            part,
        ):
            found[int(r[0])] = ChunkRef(int(r[1]), int(r[2]), str(r[3]), int(r[4]), int(r[5]))
    return found


def insert_search(
    store: Store,
    query: str,
    mode: str,
    source: str,
    at: float,
    path_glob: str | None = None,
    doc_types: Sequence[str] = (),
) -> int:
    store.conn.execute(
        "INSERT INTO search_log(query, mode, source, at, path_glob, doc_types)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (query, mode, source, at, path_glob, " ".join(doc_types)),
    )
    return int(store.conn.last_insert_rowid())


def insert_entry(
    store: Store, search_id: int, kind: str, rank: int | None, ref: ChunkRef, at: float
) -> None:
    store.conn.execute(
        "INSERT INTO search_log_chunks(search_id, kind, rank, document_id, ordinal, embed_hash,"
        " start_line, end_line, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            search_id,
            kind,
            rank,
            ref.document_id,
            ref.ordinal,
            ref.embed_hash,
            ref.start_line,
            ref.end_line,
            at,
        ),
    )


def search_rows(
    store: Store,
    *,
    limit: int | None = None,
    search_id: int | None = None,
    source: str | None = None,
) -> list[SearchRow]:
    """Searches, newest first. A row whose time is not a number (a hand edit, a damaged page)
    is left out rather than failing every reader of the log."""
    sql = (
        "SELECT id, query, mode, source, at, path_glob, doc_types FROM search_log"
        f" WHERE typeof(at) IN {NUMBERS}"
    )
    params: list[object] = []
    if search_id is not None:
        sql += " AND id = ?"
        params.append(search_id)
    if source is not None:
        sql += " AND source = ?"
        params.append(source)
    sql += " ORDER BY at DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        SearchRow(
            int(r[0]),  # type: ignore[arg-type]
            str(r[1]),
            str(r[2]),
            str(r[3]),
            float(r[4]),  # type: ignore[arg-type]
            None if r[5] is None else str(r[5]),
            tuple(str(r[6]).split()),
        )
        for r in store.conn.execute(sql, params)
    ]


def entries_of(store: Store, search_ids: Sequence[int]) -> list[LogEntry]:
    """The rows of these searches in the order they were written."""
    entries: list[LogEntry] = []
    for part, marks in in_batches(search_ids):
        for r in store.conn.execute(
            "SELECT id, search_id, kind, rank, document_id, ordinal, embed_hash, start_line,"
            f" end_line FROM search_log_chunks WHERE search_id IN ({marks}) AND {READABLE_ENTRY}"
            " ORDER BY id",
            part,
        ):
            entries.append(
                LogEntry(
                    int(r[0]),  # type: ignore[arg-type]
                    int(r[1]),  # type: ignore[arg-type]
                    str(r[2]),
                    None if r[3] is None else int(r[3]),  # type: ignore[arg-type]
                    ChunkRef(int(r[4]), int(r[5]), str(r[6]), int(r[7]), int(r[8])),  # type: ignore[arg-type]
                )
            )
    return entries


def current_chunks(store: Store, document_ids: Iterable[int]) -> dict[int, list[CurrentChunk]]:
    """Each document's chunks now, in order, keyed by document id."""
    ids = sorted(set(document_ids))
    found: dict[int, list[CurrentChunk]] = {doc_id: [] for doc_id in ids}
    for part, marks in in_batches(ids):
        for r in store.conn.execute(
            "SELECT id, document_id, ordinal, embed_hash, start_line, end_line FROM chunks"
            f" WHERE document_id IN ({marks}) ORDER BY document_id, ordinal",
            part,
        ):
            found[int(r[1])].append(
                CurrentChunk(int(r[0]), int(r[2]), str(r[3]), int(r[4]), int(r[5]))
            )
    return found


def count_searches(store: Store) -> int:
    row = store.conn.execute("SELECT COUNT(*) FROM search_log").fetchone()
    return int(row[0]) if row else 0


def delete_all(store: Store) -> int:
    """Delete every search; their pages are overwritten with zeros, not merely freed, so the
    queries cannot be read back from the file (`strings localsearch.db` found them)."""
    count = count_searches(store)
    with _erasing(store):
        store.conn.execute("DELETE FROM search_log_chunks")
        store.conn.execute("DELETE FROM search_log")
    return count


def delete_searches(store: Store, search_ids: Sequence[int]) -> None:
    """Delete these searches and their rows, erased as delete_all erases them."""
    with _erasing(store):
        for part, marks in in_batches(list(search_ids)):
            store.conn.execute(f"DELETE FROM search_log_chunks WHERE search_id IN ({marks})", part)
            store.conn.execute(f"DELETE FROM search_log WHERE id IN ({marks})", part)


@contextmanager
def _erasing(store: Store) -> Iterator[None]:
    """Deletes inside are overwritten with zeros (SQLite's secure_delete), then as before."""
    (before,) = store.conn.execute("PRAGMA secure_delete").fetchone() or (0,)
    store.conn.execute("PRAGMA secure_delete=ON")
    try:
        yield
    finally:
        store.conn.execute(f"PRAGMA secure_delete={int(before)}")


def empty_write_ahead_log(store: Store) -> None:
    """Copy the write-ahead log into the database and truncate it: until then it still holds
    the pages as they were before a delete. Outside a transaction; a reader in another
    process can keep it from finishing, and the next checkpoint then does it."""
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
