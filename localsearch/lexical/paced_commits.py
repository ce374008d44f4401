"""BM25 commits paced by time: the text phase's SQLite batches reach tantivy a few at a time.

A tantivy commit writes a segment and waits for the merges it sets off; one per batch of 256
chunks was most of the indexing process's CPU once files are read in worker processes (docs
corpus: 122 commits, 4.7 of its 6.2 s). The first batch commits at once, so BM25 answers within
a second of the start; later ones wait until COMMIT_SECONDS have passed since the last commit,
and the rest when the caller's `with` block ends, by an exception too (Ctrl-C): SQLite has
those batches, and a BM25 left behind them would be rebuilt whole by the next search.

Meanwhile SQLite is ahead of tantivy, and state.json still names the version tantivy holds: a
search in another process uses that last committed state (the writer lock stops it repairing),
and after a kill the next run or search finds the mismatch and brings BM25 up to SQLite, as it
does for a kill between any two commits: from the change log position each commit records,
read in the SQLite transaction that made its version (lexical/catch_up.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

from localsearch.lexical.tantivy_index import LexicalChunk, LexicalIndex

# Long enough that commits stay a small part of the text phase, short enough that a search
# during indexing misses only the last few seconds of files.
COMMIT_SECONDS = 5.0


class PacedLexicalCommits:
    """Changes committed to SQLite, gathered until it is time to commit them to tantivy."""

    def __init__(
        self,
        lexical: LexicalIndex,
        chunks_by_id: Callable[[list[int]], Mapping[int, LexicalChunk]],
        bring_up_to_date: Callable[[], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lexical = lexical
        self._chunks_by_id = chunks_by_id
        self._bring_up_to_date = bring_up_to_date  # from SQLite: Index.sync_lexical
        self._clock = clock
        self._removed_doc_ids: dict[int, None] = {}  # a set that keeps its order
        self._added_chunk_ids: list[int] = []
        self._from_version: int | None = None  # what tantivy must hold for these to apply
        self._to_version: int | None = None
        self._to_log_seq: int | None = None
        self._last_commit: float | None = None

    def __enter__(self) -> PacedLexicalCommits:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
            return
        # What went wrong (a full disk, tantivy itself) may stop this commit too: then BM25
        # stays behind to be rebuilt, and the first error is the one reported.
        with contextlib.suppress(Exception):
            self.commit()

    def add(
        self,
        doc_ids: Sequence[int],
        chunk_ids: Sequence[int],
        version: int,
        log_seq: int | None = None,
    ) -> None:
        """Note a SQLite commit that took the data version to `version`, and the change log
        to `log_seq`, replacing the chunks of `doc_ids` with `chunk_ids`; commit to tantivy
        if it is the first or time is up."""
        if self._to_version is None:
            self._from_version = version - 1
        elif version != self._to_version + 1:
            self._from_version = None  # a change not seen here came between: catch up
        self._to_version, self._to_log_seq = version, log_seq
        self._removed_doc_ids.update(dict.fromkeys(doc_ids))
        self._added_chunk_ids.extend(chunk_ids)
        if self._last_commit is None or self._clock() - self._last_commit >= COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Bring tantivy up to the last version added, if anything waits."""
        if self._to_version is None:
            return
        if self._from_version is None or self.lexical.synced_version() != self._from_version:
            self._bring_up_to_date()
        else:
            # Read now, not when added: a chunk replaced since is gone and stays out.
            rows = self._chunks_by_id(self._added_chunk_ids)
            added = [rows[i] for i in self._added_chunk_ids if i in rows]
            self.lexical.apply(
                list(self._removed_doc_ids), added, self._to_version, self._to_log_seq
            )
        self._removed_doc_ids.clear()
        self._added_chunk_ids.clear()
        self._from_version = self._to_version = self._to_log_seq = None
        self._last_commit = self._clock()
