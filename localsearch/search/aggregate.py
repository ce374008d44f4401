"""Chunk scores to document scores: each side ranks chunks, results are documents.

A document scores as its best chunk, plus (when `decay` > 0) a decayed share of its next
best ones, so a document that matches in several places can edge out one lucky chunk. The
number of extra chunks that count is capped, so long documents do not win by holding more
lottery tickets.
"""

from __future__ import annotations

from collections.abc import Mapping

EXTRA_CHUNKS = 2  # at most this many further chunks add to a document's score


def documents_from_chunks(
    chunk_scores: Mapping[int, float],
    owners: Mapping[int, int],
    depth: int,
    decay: float = 0.0,
) -> dict[int, tuple[float, int]]:
    """{document_id: (score, best chunk_id)} for the `depth` best documents, best first."""
    if decay <= 0.0:
        return _best_chunk_per_document(chunk_scores, owners, depth)
    per_document: dict[int, list[tuple[float, int]]] = {}
    for chunk_id, score in chunk_scores.items():
        doc_id = owners.get(chunk_id)
        if doc_id is not None:
            per_document.setdefault(doc_id, []).append((score, chunk_id))
    scored: dict[int, tuple[float, int]] = {}
    for doc_id, chunks in per_document.items():
        chunks.sort(key=lambda pair: -pair[0])
        score, chunk_id = chunks[0]
        for step, (extra, _) in enumerate(chunks[1 : 1 + EXTRA_CHUNKS], start=1):
            score += extra * decay**step
        scored[doc_id] = (score, chunk_id)
    ordered = sorted(scored.items(), key=lambda item: -item[1][0])[:depth]
    return dict(ordered)


def _best_chunk_per_document(
    chunk_scores: Mapping[int, float], owners: Mapping[int, int], depth: int
) -> dict[int, tuple[float, int]]:
    """documents_from_chunks without decay: one pass that keeps each document's best chunk
    (the first of equal ones, as the stable sort above does), without a list per document."""
    scored: dict[int, tuple[float, int]] = {}
    for chunk_id, score in chunk_scores.items():
        doc_id = owners.get(chunk_id)
        if doc_id is not None:
            held = scored.get(doc_id)
            if held is None or score > held[0]:
                scored[doc_id] = (score, chunk_id)
    ordered = sorted(scored.items(), key=lambda item: -item[1][0])[:depth]
    return dict(ordered)
