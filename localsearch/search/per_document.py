"""More than one chunk per document: a document's other matching chunks, best first.

The engine ranks documents by their best chunk and shows that one; a long manual may match a
query in several places, and `--per-doc N` (the TUI's "n more in this file") lists up to N-1
more. Kept apart from the ranking in engine.py: it only reorders chunks inside documents that
are already chosen, from the chunk scores the engine found anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from localsearch.search.snippet import Snippet
from localsearch.store import Store
from localsearch.store.database import ChunkRow

if TYPE_CHECKING:
    from localsearch.search.engine import Hit

ChunkRanker = Callable[[Mapping[int, float], Mapping[int, float]], dict[int, float]]


def attach_more_chunks(
    store: Store,
    hits: Sequence[Hit],
    owners: Mapping[int, int],
    bm25_chunks: Mapping[int, float],
    dense_chunks: Mapping[int, float],
    rank_chunks: ChunkRanker,
    per_doc: int,
    snippet: Callable[[str, str], Snippet],
) -> None:
    """Fill each hit's `more` with up to `per_doc - 1` other chunks of its document that were
    among the candidates, ordered by `rank_chunks` (the search's own fusion, chunk by chunk),
    `more_count` with how many there were in all, and `more_ranked` with all of them (ids and
    scores), so that `SearchEngine.all_more` can show the rest later."""
    wanted = {hit.document_id for hit in hits}
    by_document: dict[int, list[int]] = {}
    for chunk_id, document_id in owners.items():
        if document_id in wanted:
            by_document.setdefault(document_id, []).append(chunk_id)
    for hit in hits:
        others = [c for c in by_document.get(hit.document_id, []) if c != hit.chunk_id]
        if not others:
            continue
        scores = rank_chunks(
            {c: bm25_chunks[c] for c in others if c in bm25_chunks},
            {c: dense_chunks[c] for c in others if c in dense_chunks},
        )
        hit.more_count = len(others)
        hit.more_ranked = [
            (c, scores_of(c, bm25_chunks, dense_chunks))
            for c in sorted(others, key=lambda c: -scores.get(c, 0.0))
        ]
    chosen = {hit.chunk_id: hit.more_ranked[: per_doc - 1] for hit in hits}
    rows = store.chunks_by_id([c for ranked in chosen.values() for c, _ in ranked])
    for hit in hits:
        hit.more = chunk_hits(rows, hit, chosen.get(hit.chunk_id, []), snippet)


def chunk_hits(
    rows: Mapping[int, ChunkRow],
    hit: Hit,
    ranked: Sequence[tuple[int, float]],
    snippet: Callable[[str, str], Snippet],
) -> list[Hit]:
    """`hit`'s document shown through each of the `ranked` chunks (id, score) in turn."""
    more = []
    for chunk_id, score in ranked:
        row = rows.get(chunk_id)
        if row is None:  # deleted by an index run since the search
            continue
        more.append(
            replace(
                hit,
                chunk_id=row.id,
                heading=row.heading,
                page=row.page,
                start_line=row.start_line,
                end_line=row.end_line,
                text=row.text,
                snippet=snippet(row.text, row.doc_type),
                score=score,
                more=[],
                more_count=0,
                more_ranked=[],
            )
        )
    return more


def scores_of(chunk_id: int, bm25: Mapping[int, float], dense: Mapping[int, float]) -> float:
    """A chunk's own score for display: its BM25 score, else its cosine similarity."""
    return bm25.get(chunk_id, dense.get(chunk_id, 0.0))
