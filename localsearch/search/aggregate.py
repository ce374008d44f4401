"""Chunk scores to document scores: each side ranks chunks, results are documents.

A document scores as its best chunk, plus (when `decay` > 0) a decayed share of its next
best ones, so a document that matches in several places can edge out one lucky chunk. The
number of extra chunks that count is capped, so long documents do not win by holding more
lottery tickets.

On the dense side a document also adds a share of its opening chunk's cosine (`with_opening`,
setting `opening_share`): the first chunk holds the title, the abstract or the introduction and
says what the whole document is about, where the best chunk may be a passage that only touches
the query. Measured 2026-12-05 (load 1-4) on the whole docs corpus and the CJK docs
(benchmarks/known_answers.py) and on SciFact (`localsearch eval`), share 0 -> 0.2:

    hybrid MRR@10   docs 0.547 -> 0.558 (Hit@10 0.952 -> 1.000), CJK 0.736 -> 0.751
    hybrid nDCG@10  SciFact train .7282 -> .7288 (Recall@100 .9532 -> .9510), test .7250 -> .7254
    dense MRR@10    docs 0.521 -> 0.575, CJK 0.671 -> 0.667
    dense nDCG@10   SciFact train .6793 -> .6824, test .6549 -> .6495

Shares 0.1 to 0.5 all gained on both known-answer sets and left train level (hybrid docs
0.555-0.559, CJK 0.748-0.752, train .7284-.7291); past 0.2 "PEP 257" falls to second among
benchmarks/name_lookups.py's lookups. The gains are a query or two per set: docs answers from
9th to 5th, 6th to 5th and past 10th to 9th, the CJK set's third query from 2nd to 1st (two
others 7th and 9th to 10th), README's "how do I write my own directive" 5th to 3rd (dense: 1st).
The openings come from one indexed query for the dense side's documents: SciFact's fusion
p50 0.6 -> 0.8-0.9 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

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


def with_opening(
    documents: Mapping[int, tuple[float, int]],
    chunk_scores: Mapping[int, float],
    owners: Mapping[int, int],
    openings: Collection[int],
    share: float,
) -> dict[int, tuple[float, int]]:
    """`documents` ({document_id: (score, best chunk_id)}) with `share` times the score of
    each one's opening chunk added, best first.

    `openings` holds the ids of the documents' first chunks (of others too, if need be). A
    document whose opening is not among the candidates (`chunk_scores`) adds `share` times
    the lowest candidate score instead: its opening scores no higher than that, so this is the
    most it could add, and it stays below an otherwise equal document whose opening was found."""
    if share <= 0.0 or not documents or not chunk_scores:
        return dict(documents)
    opening_score = {
        owners[chunk_id]: chunk_scores[chunk_id]
        for chunk_id in openings
        if chunk_id in chunk_scores and chunk_id in owners
    }
    floor = min(chunk_scores.values())
    scored = {
        doc_id: (score + share * opening_score.get(doc_id, floor), chunk_id)
        for doc_id, (score, chunk_id) in documents.items()
    }
    return dict(sorted(scored.items(), key=lambda item: -item[1][0]))


def dense_documents(
    chunk_scores: Mapping[int, float],
    owners: Mapping[int, int],
    depth: int,
    decay: float,
    opening_share: float,
    openings_of: Callable[[list[int]], Collection[int]],
) -> dict[int, tuple[float, int]]:
    """The dense side's documents as search scores them, best first: documents_from_chunks
    with_opening, whose openings `openings_of` gives for the documents (asked only if they
    count)."""
    documents = documents_from_chunks(chunk_scores, owners, depth, decay)
    if opening_share <= 0.0 or not documents:
        return documents
    openings = openings_of(list(documents))
    return with_opening(documents, chunk_scores, owners, openings, opening_share)


def shown_chunk(
    doc_id: int,
    bm25_docs: Mapping[int, tuple[float, int]],
    dense_docs: Mapping[int, tuple[float, int]],
) -> int:
    """Show the chunk that matched the words if there is one, else the closest in meaning."""
    if doc_id in bm25_docs:
        return bm25_docs[doc_id][1]
    return dense_docs[doc_id][1]
