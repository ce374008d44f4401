"""IndexStatus: what an index holds, how big it is on disk, and whether its BM25 index and
vectors have caught up. It only reads: `localsearch status`, the TUI's status bar and the MCP
server ask for it between runs and during them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localsearch.embed_backlog import dense_coverage
from localsearch.lock import current_writer
from localsearch.store.migrations import schema_version

if TYPE_CHECKING:
    from localsearch.index import Index


@dataclass
class IndexStatus:
    home: str
    roots: list[dict[str, Any]]
    documents: int
    chunks: int
    skipped: int
    model: str | None
    dimension: int | None
    vectors: int
    database_bytes: int
    lexical_bytes: int
    lexical_in_step: bool
    last_indexed_at: float | None
    dense_complete: bool = True  # False while chunks wait for vectors (embed_backlog.py)
    schema: int = 0  # the database's schema version (store/migrations.py)
    upgraded_from_schema: int | None = None  # when this reading upgraded it
    writer: str | None = None  # the process writing to the index now ("index, pid 123")

    def lexical_lag(self) -> str | None:
        """Why BM25 is behind the database, in words; None when it is not. A run writing now
        commits BM25 every few seconds (lexical/paced_commits.py): no search repairs it."""
        if self.lexical_in_step:
            return None
        if self.writer is not None:
            return "a few seconds behind the index run, which brings it up to date"
        return "out of step; repaired on the next search"


def read_status(index: Index) -> IndexStatus:
    """What the index holds, how big it is, and whether BM25 and the vectors are complete."""
    store = index.store
    counts = store.root_counts()
    roots = [
        {
            "path": path,
            "documents": counts.get(rid, (0, 0))[0],
            "chunks": counts.get(rid, (0, 0))[1],
            "last_indexed_at": last,
        }
        for rid, path, last in store.roots()
    ]
    space = store.active_space()
    db_bytes = sum(
        p.stat().st_size for p in index.settings.home.glob("localsearch.db*") if p.is_file()
    )
    lexical_bytes = (
        sum(p.stat().st_size for p in index.settings.lexical_dir.rglob("*") if p.is_file())
        if index.settings.lexical_dir.exists()
        else 0
    )
    lasts = [float(r["last_indexed_at"]) for r in roots if r["last_indexed_at"]]
    coverage = dense_coverage(store, space)
    return IndexStatus(
        home=str(index.settings.home),
        roots=roots,
        documents=store.count("documents"),
        chunks=store.count("chunks"),
        skipped=store.count("skipped"),
        model=space.model if space else None,
        dimension=space.dimension if space else None,
        vectors=coverage.embedded,
        database_bytes=db_bytes,
        lexical_bytes=lexical_bytes,
        lexical_in_step=index.lexical.synced_version() == store.data_version()
        and index.lexical_intact(),
        last_indexed_at=max(lasts) if lasts else None,
        dense_complete=coverage.complete,
        schema=schema_version(store.conn),
        upgraded_from_schema=store.upgraded_from,
        writer=current_writer(index.settings.lock_path),
    )
