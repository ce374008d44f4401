"""Append-only schema migrations; each runs in one transaction with the record that it ran.

Never edit a migration that has shipped: add a new one at the end.
"""

from __future__ import annotations

import time

import apsw

MIGRATIONS: list[str] = [
    # 1: documents and chunks are the source of truth; vectors live in per-model vec0 tables.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE roots (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL,
        last_indexed_at REAL
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        root_id INTEGER REFERENCES roots(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        doc_type TEXT NOT NULL,
        title TEXT NOT NULL,
        indexed_at REAL NOT NULL
    );
    CREATE INDEX documents_root ON documents(root_id);
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        heading TEXT NOT NULL,
        page INTEGER,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        embed_hash TEXT NOT NULL
    );
    CREATE INDEX chunks_document ON chunks(document_id, ordinal);
    CREATE INDEX chunks_embed_hash ON chunks(embed_hash);
    CREATE TABLE skipped (
        path TEXT PRIMARY KEY,
        root_id INTEGER REFERENCES roots(id) ON DELETE CASCADE,
        reason TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE spaces (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        model_path TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 2: synthetic queries for adapt, reused across runs.
    """
    CREATE TABLE synthetic_queries (
        id INTEGER PRIMARY KEY,
        chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
        generator TEXT NOT NULL,
        query TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX synthetic_queries_chunk ON synthetic_queries(chunk_id, generator);
    """,
    # 3: what kind of pseudo-query a row is (title, heading, keywords, generated...).
    """
    ALTER TABLE synthetic_queries ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    """,
    # 4: the user's own searches and what they did with the results (history/). A chunk is
    # kept as its document plus ordinal, embed_hash and lines, because re-indexing a file
    # rewrites its chunk ids; deleting the document deletes its entries.
    """
    CREATE TABLE search_log (
        id INTEGER PRIMARY KEY,
        query TEXT NOT NULL,
        mode TEXT NOT NULL,
        source TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX search_log_at ON search_log(at);
    CREATE TABLE search_log_chunks (
        id INTEGER PRIMARY KEY,
        search_id INTEGER NOT NULL REFERENCES search_log(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        rank INTEGER,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        embed_hash TEXT NOT NULL,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX search_log_chunks_search ON search_log_chunks(search_id);
    CREATE INDEX search_log_chunks_document ON search_log_chunks(document_id);
    """,
    # 5: the exact bytes of a file name that is not valid UTF-8 (path holds a readable form).
    """
    ALTER TABLE documents ADD COLUMN raw_path BLOB;
    """,
    # 6: a logged search's --path glob and --type filters, so eval --history replays it as run.
    """
    ALTER TABLE search_log ADD COLUMN path_glob TEXT;
    ALTER TABLE search_log ADD COLUMN doc_types TEXT NOT NULL DEFAULT '';
    """,
    # 7: a log of the chunk ids whose vector or document may have changed, so an engine that
    # keeps vectors in memory reads only those after a change (search/vector_sync.py). Chunk
    # rows log themselves here; vec0 tables cannot have triggers, so the Store logs its vector
    # writes. AUTOINCREMENT: a position in the log is never reused, even after a trim.
    """
    CREATE TABLE vector_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        chunk_id INTEGER NOT NULL
    );
    CREATE TRIGGER chunks_logged_on_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO vector_changes(chunk_id) VALUES (new.id);
    END;
    CREATE TRIGGER chunks_logged_on_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO vector_changes(chunk_id) VALUES (old.id);
    END;
    CREATE TRIGGER chunks_logged_on_move AFTER UPDATE OF id, document_id ON chunks BEGIN
        INSERT INTO vector_changes(chunk_id) VALUES (old.id);
        INSERT INTO vector_changes(chunk_id) VALUES (new.id);
    END;
    """,
    # 8: where the last read of a mailbox ended, so that one that only grew is read from there
    # (ingest/mailbox_end.py); sampled_starts and listed are JSON arrays.
    """
    CREATE TABLE mailbox_ends (
        document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        last_offset INTEGER NOT NULL,
        last_number INTEGER NOT NULL,
        sampled_starts TEXT NOT NULL,
        sampled_hash TEXT NOT NULL,
        max_message_bytes INTEGER NOT NULL,
        max_entries INTEGER NOT NULL,
        listed TEXT NOT NULL,
        unlisted INTEGER NOT NULL
    );
    """,
    # 9: the change log also lists the chunks of a document whose title or path changed in
    # place, and a chunk whose text or heading did: BM25 holds those with each chunk and
    # catches up from the log (lexical/catch_up.py), so a change the log missed would leave a
    # wrong answer. Indexing replaces a changed file's chunks, which logs them anyway; these
    # are for a row changed where it stands.
    """
    CREATE TRIGGER documents_logged_on_rename AFTER UPDATE OF title, path ON documents
    WHEN old.title IS NOT new.title OR old.path IS NOT new.path BEGIN
        INSERT INTO vector_changes(chunk_id) SELECT id FROM chunks WHERE document_id = new.id;
    END;
    CREATE TRIGGER chunks_logged_on_edit AFTER UPDATE OF text, heading ON chunks
    WHEN old.text IS NOT new.text OR old.heading IS NOT new.heading BEGIN
        INSERT INTO vector_changes(chunk_id) VALUES (new.id);
    END;
    """,
]


# The oldest schema that this version's reads understand, for a data folder it cannot write,
# where no migration can run: every migration after it adds only what writes use (8: where
# mailbox reads ended; 9: triggers that log renames and edits). A new migration that a
# search, status or history reads moves it up.
READABLE_FROM = 7


def schema_version(conn: apsw.Connection) -> int:
    """The highest migration applied, without changing anything (0 for a new database)."""
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except apsw.SQLError:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: apsw.Connection) -> int:
    """Apply pending migrations; returns the schema version now in force."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, applied_at REAL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    for version, sql in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        with conn:
            if conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone():
                continue  # another process applied it while we waited for the lock
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)",
                (version, time.time()),
            )
    return len(MIGRATIONS)
