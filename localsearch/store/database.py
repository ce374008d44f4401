"""The Store: the connection, its transactions, and the queries that index and search run
against the database. The modules beside it hold the SQL of one idea each that only a part of
the engine asks for (vector_reads.py: reading vectors back for dense search).

Writes happen inside `store.transaction()` (BEGIN IMMEDIATE), so a document, its chunks and
their vectors land together or not at all: an interrupted run leaves the last committed state.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apsw
import numpy as np

from localsearch.errors import DiskFullError, LocalSearchError, ReadOnlyDataError
from localsearch.ingest.types import Chunk
from localsearch.permissions import make_private_folder
from localsearch.store.connection import in_batches, open_connection
from localsearch.store.migrations import READABLE_FROM, migrate, schema_version
from localsearch.store.paths import display_path, os_path, stored_path


@dataclass(frozen=True)
class EmbeddingSpace:
    """One model's vectors: a vec0 table plus what produced them."""

    id: int
    model: str
    model_path: str
    dimension: int
    fingerprint: str

    @property
    def table(self) -> str:
        return f"vectors_{self.id}"


@dataclass(frozen=True)
class DocumentRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class ChunkRow:
    id: int
    document_id: int
    ordinal: int
    text: str
    heading: str
    page: int | None
    start_line: int
    end_line: int
    path: str
    title: str
    doc_type: str
    raw_path: bytes | None = None  # the name's bytes when it is not valid UTF-8

    @property
    def os_path(self) -> str:
        return os_path(self.path, self.raw_path)


CHUNK_COLUMNS = (
    "c.id, c.document_id, c.ordinal, c.text, c.heading, c.page, c.start_line, c.end_line,"
    " d.path, d.title, d.doc_type, d.raw_path"
)


# Rows of the vector change log kept for engines that fall behind; one further behind (or
# one that saw a bulk change the log does not list, a new generation) loads its vectors anew.
VECTOR_LOG_KEEP = 200_000


@dataclass(frozen=True)
class VectorLogPosition:
    """Where the vector change log stood when an in-memory copy of the vectors was read."""

    generation: int
    seq: int


def vector_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class Store:
    def __init__(self, path: Path, *, create: bool = True, readonly: bool | None = None) -> None:
        """`readonly` opens an existing database for reading only (a read-only data folder):
        no migrations run; an older schema is read as it is down to READABLE_FROM, and one
        older still is an error that names the fix. By default, a database that this process
        cannot write (a read-only disk, another user's folder) is opened so, and a write then
        fails with ReadOnlyDataError."""
        if readonly is None:
            readonly = path.exists() and not (
                os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)
            )
        if (not create or readonly) and not path.exists():
            raise FileNotFoundError(path)
        self.upgraded_from: int | None = None  # the schema version before this opening's upgrade
        try:
            if readonly:
                self.conn = open_connection(path, readonly=True)
                if schema_version(self.conn) < READABLE_FROM:
                    raise LocalSearchError(
                        f"the database {path} is from an older version and needs an upgrade,"
                        " which its read-only folder does not allow",
                        "run `localsearch status` once with write access to it",
                    )
            else:
                make_private_folder(path.parent)
                self.conn = open_connection(path)
                before = schema_version(self.conn)
                after = migrate(self.conn)
                # An existing database brought to this version's schema: `status` says so.
                self.upgraded_from = before if 0 < before < after else None
        except apsw.Error as exc:
            raise LocalSearchError(
                f"cannot open the database {path}: {exc}",
                "check the disk and permissions, or move the file aside and re-index",
            ) from None
        self.path = path
        self.readonly = readonly

    def require_writable(self) -> None:
        """Raise ReadOnlyDataError before work that ends in a write this store cannot make."""
        if self.readonly:
            raise ReadOnlyDataError.of(self.path.parent)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; a full disk rolls back and says so instead of a SQLite traceback."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if not self.conn.getautocommit():
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except apsw.FullError:
            raise DiskFullError(
                "the disk is full; the index keeps its last committed state",
                "free some space and run the command again",
            ) from None
        except apsw.BusyError:
            raise LocalSearchError(
                "the database stayed locked by another process",
                "wait for the other localsearch process to finish",
            ) from None
        except apsw.ReadOnlyError:
            self.readonly = True
            self.require_writable()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (WAL), however long they take."""
        if not self.conn.getautocommit():  # already inside a transaction, which does that
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def data_version(self) -> int:
        return int(self.get_meta("data_version", "0") or 0)

    def change_key(self) -> tuple[int, int]:
        """A key that differs after anything is committed to the database, by another
        connection (SQLite's data_version) or this one (its count of changed rows): a
        long-lived reader checks it, reading no table, before reading again what it keeps."""
        row = self.conn.execute("PRAGMA data_version").fetchone()
        return int(row[0]) if row else 0, self.conn.total_changes()

    def bump_data_version(self) -> int:
        """Called inside each transaction that changes chunks; the lexical index tracks it."""
        version = self.data_version() + 1
        self.set_meta("data_version", str(version))
        self._trim_vector_log()
        return version

    def vectors_version(self) -> int:
        return int(self.get_meta("vectors_version", "0") or 0)

    def bump_vectors_version(self) -> None:
        """Called inside each transaction that adds vectors to chunks already stored (the
        embed backlog): the chunks did not change, but what dense search covers did."""
        self.set_meta("vectors_version", str(self.vectors_version() + 1))
        self._trim_vector_log()

    # -- the vector change log (migration 7) --------------------------------------------------

    def vector_log_position(self) -> VectorLogPosition:
        return VectorLogPosition(
            int(self.get_meta("vectors_generation", "0") or 0), self.change_log_seq()
        )

    def change_log_seq(self) -> int:
        """The last position in the change log: the BM25 index records it beside the data
        version it holds, read in the same transaction, and catches up from there
        (lexical/catch_up.py)."""
        seq = self.conn.execute("SELECT MAX(seq) FROM vector_changes").fetchone()
        return int(seq[0]) if seq and seq[0] is not None else self._vector_log_trimmed()

    def vector_changes_since(self, seq: int) -> list[int] | None:
        """Chunk ids whose vector or document may have changed after `seq`, or None when the
        log no longer reaches back that far."""
        if seq < self._vector_log_trimmed():
            return None
        return [
            int(r[0])
            for r in self.conn.execute(
                "SELECT DISTINCT chunk_id FROM vector_changes WHERE seq > ?", (seq,)
            )
        ]

    def _log_vector_changes(self, chunk_ids: Iterable[int]) -> None:
        self.conn.executemany(
            "INSERT INTO vector_changes(chunk_id) VALUES (?)", ((int(c),) for c in chunk_ids)
        )

    def _bump_vectors_generation(self) -> None:
        """For a bulk change the log does not list row by row (a space copied or dropped)."""
        self.set_meta("vectors_generation", str(self.vector_log_position().generation + 1))

    def _vector_log_trimmed(self) -> int:
        return int(self.get_meta("vector_changes_trimmed", "0") or 0)

    def _trim_vector_log(self) -> None:
        """Drop old log rows, a batch at a time once twice the kept number have piled up."""
        # Two queries: SQLite reads MIN or MAX alone from the key's ends, but both at once in a
        # scan of the whole log (13 ms at 400k rows, once a batch of chunks or vectors).
        oldest = self._count("SELECT COALESCE(MIN(seq), 0) FROM vector_changes")
        newest = self._count("SELECT COALESCE(MAX(seq), 0) FROM vector_changes")
        if newest - oldest < 2 * VECTOR_LOG_KEEP:
            return
        through = newest - VECTOR_LOG_KEEP
        self.conn.execute("DELETE FROM vector_changes WHERE seq <= ?", (through,))
        self.set_meta("vector_changes_trimmed", str(through))

    # -- roots --------------------------------------------------------------------------------

    def add_root(self, path: str) -> int:
        row = self.conn.execute("SELECT id FROM roots WHERE path = ?", (path,)).fetchone()
        if row:
            return int(row[0])
        self.conn.execute("INSERT INTO roots(path, added_at) VALUES (?, ?)", (path, time.time()))
        return int(self.conn.last_insert_rowid())

    def roots(self) -> list[tuple[int, str, float | None]]:
        return [
            (int(r[0]), r[1], r[2])
            for r in self.conn.execute("SELECT id, path, last_indexed_at FROM roots ORDER BY path")
        ]

    def root_counts(self) -> dict[int, tuple[int, int]]:
        """Documents and chunks per root id."""
        rows = self.conn.execute(
            "SELECT d.root_id, COUNT(DISTINCT d.id), COUNT(c.id) FROM documents d"
            " LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.root_id"
        )
        return {int(r[0]): (int(r[1]), int(r[2])) for r in rows if r[0] is not None}

    def mark_root_indexed(self, root_id: int) -> None:
        self.conn.execute(
            "UPDATE roots SET last_indexed_at = ? WHERE id = ?", (time.time(), root_id)
        )

    def remove_root(self, root_id: int, spaces: Sequence[EmbeddingSpace]) -> int:
        """Forget a root and everything indexed under it; returns documents removed."""
        doc_ids = [
            int(r[0])
            for r in self.conn.execute("SELECT id FROM documents WHERE root_id = ?", (root_id,))
        ]
        self.delete_documents(doc_ids, spaces)
        self.conn.execute("DELETE FROM roots WHERE id = ?", (root_id,))
        return len(doc_ids)

    def merge_root(self, old_id: int, into_id: int) -> None:
        """Move a root's documents and skip records under another root, then forget it."""
        self.conn.execute("UPDATE documents SET root_id = ? WHERE root_id = ?", (into_id, old_id))
        self.conn.execute("UPDATE skipped SET root_id = ? WHERE root_id = ?", (into_id, old_id))
        self.conn.execute("DELETE FROM roots WHERE id = ?", (old_id,))

    # -- documents ----------------------------------------------------------------------------

    def documents_under(self, root_id: int) -> dict[str, DocumentRow]:
        return {
            r[1]: DocumentRow(int(r[0]), r[1], int(r[2]), int(r[3]), r[4])
            for r in self.conn.execute(
                "SELECT id, path, size, mtime_ns, content_hash FROM documents WHERE root_id = ?",
                (root_id,),
            )
        }

    def touch_document(self, doc_id: int, size: int, mtime_ns: int) -> None:
        self.conn.execute(
            "UPDATE documents SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, doc_id)
        )

    def upsert_document(
        self,
        *,
        root_id: int | None,
        path: str,
        size: int,
        mtime_ns: int,
        content_hash: str,
        doc_type: str,
        title: str,
    ) -> int:
        path, raw = stored_path(path)
        row = self.conn.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        now = time.time()
        if row:
            self.conn.execute(
                "UPDATE documents SET root_id=?, size=?, mtime_ns=?, content_hash=?, doc_type=?,"
                " title=?, indexed_at=?, raw_path=? WHERE id=?",
                (root_id, size, mtime_ns, content_hash, doc_type, title, now, raw, row[0]),
            )
            return int(row[0])
        self.conn.execute(
            "INSERT INTO documents(root_id, path, size, mtime_ns, content_hash, doc_type, title,"
            " indexed_at, raw_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (root_id, path, size, mtime_ns, content_hash, doc_type, title, now, raw),
        )
        return int(self.conn.last_insert_rowid())

    def chunk_ids_of(self, doc_ids: Sequence[int]) -> list[int]:
        ids: list[int] = []
        for doc_id in doc_ids:
            ids.extend(
                int(r[0])
                for r in self.conn.execute("SELECT id FROM chunks WHERE document_id = ?", (doc_id,))
            )
        return ids

    def delete_chunks_of(self, doc_id: int, spaces: Sequence[EmbeddingSpace]) -> None:
        chunk_ids = self.chunk_ids_of([doc_id])
        self._delete_vectors(chunk_ids, spaces)
        self.conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))

    def delete_documents(self, doc_ids: Sequence[int], spaces: Sequence[EmbeddingSpace]) -> None:
        self._delete_vectors(self.chunk_ids_of(doc_ids), spaces)
        for doc_id in doc_ids:
            self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def _delete_vectors(self, chunk_ids: Sequence[int], spaces: Sequence[EmbeddingSpace]) -> None:
        if spaces:
            self._log_vector_changes(chunk_ids)
        for space in spaces:
            for chunk_id in chunk_ids:
                self.conn.execute(f"DELETE FROM {space.table} WHERE chunk_id = ?", (chunk_id,))

    def insert_chunks(
        self, doc_id: int, chunks: Sequence[Chunk], embed_hashes: Sequence[str]
    ) -> list[int]:
        ids = []
        for ordinal, (chunk, embed_hash) in enumerate(zip(chunks, embed_hashes, strict=True)):
            self.conn.execute(
                "INSERT INTO chunks(document_id, ordinal, text, heading, page, start_line,"
                " end_line, embed_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id,
                    ordinal,
                    chunk.text,
                    chunk.heading,
                    chunk.page,
                    chunk.start_line,
                    chunk.end_line,
                    embed_hash,
                ),
            )
            ids.append(int(self.conn.last_insert_rowid()))
        return ids

    # -- skipped files ------------------------------------------------------------------------

    def record_skipped(self, root_id: int | None, path: str, reason: str) -> None:
        self.conn.execute(
            "INSERT INTO skipped(path, root_id, reason, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(path) DO UPDATE SET reason = excluded.reason, at = excluded.at",
            (display_path(path), root_id, reason, time.time()),
        )

    def clear_skipped(self, path: str) -> None:
        self.conn.execute("DELETE FROM skipped WHERE path = ?", (display_path(path),))

    def document_id(self, path: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM documents WHERE path = ?", (display_path(path),)
        ).fetchone()
        return int(row[0]) if row else None

    def indexed_path(self, path: str) -> tuple[str, str] | None:
        """(`path` as stored, the path to open) if it is a document under a known root."""
        row = self.conn.execute(
            "SELECT d.path, d.raw_path FROM documents d JOIN roots r ON r.id = d.root_id"
            " WHERE d.path = ?",
            (path,),
        ).fetchone()
        return None if row is None else (str(row[0]), os_path(row[0], row[1]))

    def indexed_mtime_ns(self, path: str) -> int | None:
        """The modification time a document had when it was indexed (an archive member's is
        its archive's)."""
        row = self.conn.execute("SELECT mtime_ns FROM documents WHERE path = ?", (path,)).fetchone()
        return None if row is None else int(row[0])

    def skipped_under(self, root_id: int) -> set[str]:
        return {
            r[0]
            for r in self.conn.execute("SELECT path FROM skipped WHERE root_id = ?", (root_id,))
        }

    def skipped(self) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.conn.execute("SELECT path, reason FROM skipped ORDER BY path")
        ]

    # -- embedding spaces ---------------------------------------------------------------------

    def spaces(self) -> list[EmbeddingSpace]:
        return [
            EmbeddingSpace(int(r[0]), r[1], r[2], int(r[3]), r[4])
            for r in self.conn.execute(
                "SELECT id, model, model_path, dimension, fingerprint FROM spaces ORDER BY id"
            )
        ]

    def space(self, space_id: int) -> EmbeddingSpace | None:
        return next((s for s in self.spaces() if s.id == space_id), None)

    def active_space(self) -> EmbeddingSpace | None:
        value = self.get_meta("active_space")
        return self.space(int(value)) if value else None

    def create_space(
        self, model: str, model_path: str, dimension: int, fingerprint: str
    ) -> EmbeddingSpace:
        self.conn.execute(
            "INSERT INTO spaces(model, model_path, dimension, fingerprint, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (model, model_path, dimension, fingerprint, time.time()),
        )
        space = EmbeddingSpace(
            int(self.conn.last_insert_rowid()), model, model_path, dimension, fingerprint
        )
        self.conn.execute(
            f"CREATE VIRTUAL TABLE {space.table} USING vec0("
            f"chunk_id INTEGER PRIMARY KEY, embedding float[{dimension}] distance_metric=cosine)"
        )
        return space

    def activate_space(self, space: EmbeddingSpace) -> None:
        self.set_meta("active_space", str(space.id))

    def drop_space(self, space: EmbeddingSpace) -> None:
        self._bump_vectors_generation()  # a new space may take its id, and so its table name
        self.conn.execute(f"DROP TABLE IF EXISTS {space.table}")
        self.conn.execute("DELETE FROM spaces WHERE id = ?", (space.id,))

    def insert_vectors(
        self, space: EmbeddingSpace, chunk_ids: Sequence[int], vectors: np.ndarray
    ) -> None:
        self._log_vector_changes(chunk_ids)
        self.conn.executemany(
            f"INSERT OR REPLACE INTO {space.table}(chunk_id, embedding) VALUES (?, ?)",
            [
                (chunk_id, vector_blob(vector))
                for chunk_id, vector in zip(chunk_ids, vectors, strict=True)
            ],
        )

    def copy_vectors(self, source: EmbeddingSpace, target: EmbeddingSpace) -> int:
        """Copy every vector of `source` into `target` (same passages, same document encoder:
        a query-side adapted model shares its corpus vectors); returns the rows copied."""
        before = self.count_vectors(target)
        self._bump_vectors_generation()
        self.conn.execute(
            f"INSERT OR REPLACE INTO {target.table}(chunk_id, embedding)"
            f" SELECT chunk_id, embedding FROM {source.table}"
        )
        return self.count_vectors(target) - before

    def vectors_by_embed_hash(
        self, space: EmbeddingSpace, embed_hashes: Iterable[str]
    ) -> dict[str, np.ndarray]:
        """Stored vectors for passages already embedded, so unchanged text is never re-embedded:
        one query finds which texts have one, and only those vectors are read."""
        found: dict[str, np.ndarray] = {}
        wanted = json.dumps(sorted(set(embed_hashes)))
        has_vector = self._has_vector(space, "c.id")
        pairs = self.conn.execute(
            "SELECT c.embed_hash, MIN(c.id) FROM chunks c"
            f" WHERE c.embed_hash IN (SELECT value FROM json_each(?)) AND {has_vector}"
            " GROUP BY c.embed_hash",
            (wanted,),
        ).fetchall()
        for embed_hash, chunk_id in pairs:
            row = self.conn.execute(
                f"SELECT embedding FROM {space.table} WHERE chunk_id = ?", (chunk_id,)
            ).fetchone()
            if row:
                found[str(embed_hash)] = np.frombuffer(row[0], dtype=np.float32)
        return found

    def chunks_missing_vectors(
        self, space: EmbeddingSpace, limit: int, after_id: int = 0
    ) -> list[ChunkRow]:
        """Up to `limit` chunks with no vector in `space`, by id from past `after_id`."""
        rows = self.conn.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
            f" WHERE c.id > ? AND NOT {self._has_vector(space, 'c.id')} ORDER BY c.id LIMIT ?",
            (after_id, limit),
        )
        return [_chunk_row(r) for r in rows]

    def _has_vector(self, space: EmbeddingSpace, chunk_id: str) -> str:
        """SQL true when the chunk id `chunk_id` has a vector in `space`: a lookup in vec0's
        rowid table, whose rowid is the chunk id, or in vec0 itself (slower) where a
        sqlite-vec lacks that table. `c.id NOT IN` the vec0 table read every stored id per
        call, quadratic over a large backlog."""
        rowids = f"{space.table}_rowids"
        if self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (rowids,)
        ).fetchone():
            return f"EXISTS (SELECT 1 FROM {rowids} r WHERE r.rowid = {chunk_id})"
        return f"EXISTS (SELECT 1 FROM {space.table} v WHERE v.chunk_id = {chunk_id})"

    def count_vectors(self, space: EmbeddingSpace) -> int:
        # vec0 keeps one row per vector in its _rowids table: counting it is a b-tree count,
        # where COUNT(*) on the vec0 table reads every vector (200 ms at a million).
        try:
            return self._count(f"SELECT COUNT(*) FROM {space.table}_rowids")
        except apsw.SQLError:
            return self._count(f"SELECT COUNT(*) FROM {space.table}")

    # -- chunks for search and the lexical index ----------------------------------------------

    def chunk_documents(self) -> dict[int, int]:
        """{chunk_id: document_id} for every chunk."""
        return dict(self.conn.execute("SELECT id, document_id FROM chunks"))  # type: ignore[arg-type]

    def documents_of_chunks(self, chunk_ids: Sequence[int]) -> dict[int, int]:
        """{chunk_id: document_id} for those of `chunk_ids` that still exist."""
        owners: dict[int, int] = {}
        for part, marks in in_batches(chunk_ids):
            owners.update(
                (int(r[0]), int(r[1]))
                for r in self.conn.execute(
                    f"SELECT id, document_id FROM chunks WHERE id IN ({marks})", part
                )
            )
        return owners

    def opening_chunks(self, document_ids: Sequence[int]) -> set[int]:
        """The ids of the first chunks of `document_ids`.

        Asked by document rather than by chunk id: the (document_id, ordinal) index answers
        without reading the chunks' rows (0.23 ms for 100 documents on SciFact, 0.55 by id)."""
        found: set[int] = set()
        for part, marks in in_batches(document_ids):
            found.update(
                int(r[0])
                for r in self.conn.execute(
                    f"SELECT id FROM chunks WHERE document_id IN ({marks}) AND ordinal = 0", part
                )
            )
        return found

    def documents_matching(
        self, where: str, params: Sequence[object], among: Sequence[int] | None = None
    ) -> set[int]:
        """Ids of the documents `d` that pass a filter (of those `among`, if given)."""
        if among is None:
            rows = self.conn.execute(f"SELECT d.id FROM documents d WHERE {where}", params)
            return {int(r[0]) for r in rows}
        found: set[int] = set()
        for part, marks in in_batches(among):
            found.update(
                int(r[0])
                for r in self.conn.execute(
                    f"SELECT d.id FROM documents d WHERE d.id IN ({marks}) AND {where}",
                    (*part, *params),
                )
            )
        return found

    def any_document_matching(self, where: str, params: Sequence[object]) -> bool:
        sql = f"SELECT 1 FROM documents d WHERE {where} LIMIT 1"
        return self.conn.execute(sql, params).fetchone() is not None

    def document_types(self) -> list[str]:
        rows = self.conn.execute("SELECT DISTINCT doc_type FROM documents ORDER BY doc_type")
        return [str(r[0]) for r in rows]

    def chunks_by_id(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        found: dict[int, ChunkRow] = {}
        for part, marks in in_batches(chunk_ids):
            for r in self.conn.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
                f" WHERE c.id IN ({marks})",
                part,
            ):
                found[int(r[0])] = _chunk_row(r)
        return found

    def embed_hashes_missing_vectors(
        self, space: EmbeddingSpace, chunk_ids: Sequence[int]
    ) -> dict[int, str]:
        """The embed hash each of these chunks is stored with, for those with no vector in
        `space`; a deleted one is left out."""
        found: dict[int, str] = {}
        has_vector = self._has_vector(space, "c.id")
        for part, marks in in_batches(chunk_ids):
            for chunk_id, embed_hash in self.conn.execute(
                f"SELECT c.id, c.embed_hash FROM chunks c WHERE c.id IN ({marks})"
                f" AND NOT {has_vector}",
                part,
            ):
                found[int(chunk_id)] = str(embed_hash)
        return found

    def chunks_of_documents(self, doc_ids: Sequence[int]) -> list[ChunkRow]:
        rows: list[ChunkRow] = []
        for doc_id in doc_ids:
            rows.extend(
                _chunk_row(r)
                for r in self.conn.execute(
                    f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d"
                    " ON d.id = c.document_id WHERE d.id = ? ORDER BY c.ordinal",
                    (doc_id,),
                )
            )
        return rows

    def iter_chunks(self, batch: int = 2000) -> Iterator[ChunkRow]:
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
                " WHERE c.id > ? ORDER BY c.id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _chunk_row(r)
            last = int(rows[-1][0])  # type: ignore[arg-type]

    def iter_chunks_of(self, chunk_ids: Sequence[int], batch: int = 2000) -> Iterator[ChunkRow]:
        """Those of `chunk_ids` that exist, in their order, read `batch` at a time: the
        chunks a BM25 catch-up adds again, without holding all of them at once."""
        for start in range(0, len(chunk_ids), batch):
            part = chunk_ids[start : start + batch]
            rows = self.chunks_by_id(part)
            yield from (rows[i] for i in part if i in rows)

    def neighbours(self, chunk: ChunkRow, before: int = 1, after: int = 1) -> list[ChunkRow]:
        rows = self.conn.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.document_id = ? AND c.ordinal BETWEEN ? AND ? ORDER BY c.ordinal",
            (chunk.document_id, chunk.ordinal - before, chunk.ordinal + after),
        )
        return [_chunk_row(r) for r in rows]

    # -- counts -------------------------------------------------------------------------------

    def count(self, table: str) -> int:
        assert table in {"documents", "chunks", "skipped", "roots", "synthetic_queries"}
        return self._count(f"SELECT COUNT(*) FROM {table}")

    def _count(self, sql: str) -> int:
        row = self.conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def _chunk_row(r: Sequence[object]) -> ChunkRow:
    return ChunkRow(
        id=int(r[0]),  # type: ignore[call-overload]
        document_id=int(r[1]),  # type: ignore[call-overload]
        ordinal=int(r[2]),  # type: ignore[call-overload]
        text=str(r[3]),
        heading=str(r[4]),
        page=None if r[5] is None else int(r[5]),  # type: ignore[call-overload]
        start_line=int(r[6]),  # type: ignore[call-overload]
        end_line=int(r[7]),  # type: ignore[call-overload]
        path=str(r[8]),
        title=str(r[9]),
        doc_type=str(r[10]),
        raw_path=None if r[11] is None else bytes(r[11]),  # type: ignore[call-overload]
    )
