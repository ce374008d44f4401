"""Hard negatives from the existing index, with likely false negatives dropped.

For each pseudo-query, BM25 and the current model's dense vectors each give their top chunks;
fused by reciprocal rank, they are the passages a search would confuse with the positive. A
candidate from the positive's own document is not a negative, nor is one from a held-out
document (the gate must judge passages the model never saw). Candidates scoring nearly as high
as the positive are probably relevant too, so they are dropped: by default any whose dense
score is above 95% of the positive's (NV-Retriever's "TopK-PercPos"); with a cross-encoder, any
scoring within 3 logits of the positive (the sentence-transformers MS MARCO recipe).

The same pass records where the positive itself ranks under the fused ranking, which is what
the pipeline uses to drop pseudo-queries that do not find their own passage at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.search.fusion import fuse_rrf

QUERY_BATCH = 256


@dataclass(frozen=True)
class MiningOptions:
    depth: int = 30  # candidates taken from each of BM25 and dense
    negatives_per_query: int = 1
    relative_margin: float = 0.05  # a negative must score below (1 - margin) x the positive
    reranker_margin: float = 3.0
    reranker_candidates: int = 8  # candidates per query the cross-encoder scores
    rrf_k: int = 60


@dataclass
class MinedQuery:
    query: str
    chunk_id: int
    negatives: list[int] = field(default_factory=list)
    positive_rank: int | None = None  # 1-based rank of the positive in the fused ranking
    positive_score: float = 0.0  # dense cosine of query and positive, current model


@dataclass(frozen=True)
class CorpusView:
    """What mining needs from the index: chunk ids, their documents and current vectors."""

    chunk_ids: np.ndarray  # int64, one per row of `vectors`
    vectors: np.ndarray  # float32, L2-normalised
    document_of: dict[int, int]
    # The chunks that open their document, whose share search adds (search/aggregate.py).
    openings: frozenset[int] = frozenset()

    def rows(self) -> dict[int, int]:
        return {int(chunk_id): row for row, chunk_id in enumerate(self.chunk_ids)}


def dense_top(
    query_vectors: np.ndarray, corpus: CorpusView, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, scores) of the `depth` nearest corpus rows per query, best first."""
    depth = min(depth, len(corpus.chunk_ids))
    all_rows = np.zeros((len(query_vectors), depth), dtype=np.int64)
    all_scores = np.zeros((len(query_vectors), depth), dtype=np.float32)
    for start in range(0, len(query_vectors), 64):
        scores = query_vectors[start : start + 64] @ corpus.vectors.T
        if depth < scores.shape[1]:
            part = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        else:
            part = np.tile(np.arange(scores.shape[1]), (len(scores), 1))
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1)
        all_rows[start : start + 64] = np.take_along_axis(part, order, axis=1)
        all_scores[start : start + 64] = np.take_along_axis(part_scores, order, axis=1)
    return all_rows, all_scores


def mine_hard_negatives(
    queries: Sequence[tuple[str, int]],
    *,
    corpus: CorpusView,
    encode_queries: Callable[[Sequence[str]], np.ndarray],
    lexical_search: Callable[[str, int], list[tuple[int, float]]],
    excluded_documents: set[int] = frozenset(),  # type: ignore[assignment]
    options: MiningOptions = MiningOptions(),
    reranker: Any | None = None,
    passage_text: Callable[[int], str] | None = None,
    progress: ProgressCallback = ignore_progress,
) -> list[MinedQuery]:
    """Negatives (chunk ids) and the positive's fused rank for each (query, positive chunk)."""
    rows_by_chunk = corpus.rows()
    mined: list[MinedQuery] = []
    total = len(queries)
    for start in range(0, total, QUERY_BATCH):
        batch = list(queries[start : start + QUERY_BATCH])
        vectors = encode_queries([text for text, _ in batch])
        top_rows, top_scores = dense_top(vectors, corpus, options.depth)
        for i, (text, chunk_id) in enumerate(batch):
            dense_ids = [int(corpus.chunk_ids[r]) for r in top_rows[i]]
            dense_score = dict(zip(dense_ids, top_scores[i].tolist(), strict=True))
            bm25_ids = [cid for cid, _ in lexical_search(text, options.depth)]
            fused = fuse_rrf({"bm25": bm25_ids, "dense": dense_ids}, k=options.rrf_k)
            ranking = sorted(fused, key=lambda c: -fused[c])
            positive_row = rows_by_chunk.get(chunk_id)
            positive_score = (
                float(vectors[i] @ corpus.vectors[positive_row]) if positive_row is not None else 0
            )
            item = MinedQuery(text, chunk_id, positive_score=positive_score)
            if chunk_id in fused:
                item.positive_rank = ranking.index(chunk_id) + 1
            own_document = corpus.document_of.get(chunk_id)
            candidates = [
                c
                for c in ranking
                if corpus.document_of.get(c) not in (own_document, None)
                and corpus.document_of[c] not in excluded_documents
            ]
            if options.negatives_per_query > 0:
                if reranker is not None and passage_text is not None:
                    item.negatives = _reranked_negatives(
                        reranker, text, chunk_id, candidates, passage_text, options
                    )
                else:
                    item.negatives = _dense_margin_negatives(
                        candidates,
                        vectors[i],
                        corpus,
                        rows_by_chunk,
                        dense_score,
                        positive_score,
                        options,
                    )
            mined.append(item)
        progress(ProgressEvent("mine", min(start + QUERY_BATCH, total), total))
    return mined


def _dense_margin_negatives(
    candidates: Sequence[int],
    query_vector: np.ndarray,
    corpus: CorpusView,
    rows_by_chunk: dict[int, int],
    dense_score: dict[int, float],
    positive_score: float,
    options: MiningOptions,
) -> list[int]:
    ceiling = positive_score * (1.0 - options.relative_margin)
    chosen = []
    for candidate in candidates:
        score = dense_score.get(candidate)
        if score is None:
            score = float(query_vector @ corpus.vectors[rows_by_chunk[candidate]])
        if score < ceiling:
            chosen.append(candidate)
            if len(chosen) == options.negatives_per_query:
                break
    return chosen


def _reranked_negatives(
    reranker: Any,
    query: str,
    positive: int,
    candidates: Sequence[int],
    passage_text: Callable[[int], str],
    options: MiningOptions,
) -> list[int]:
    pool = list(candidates[: options.reranker_candidates])
    if not pool:
        return []
    scores = reranker.predict(
        [(query, passage_text(positive)), *((query, passage_text(c)) for c in pool)],
        show_progress_bar=False,
    )
    ceiling = float(scores[0]) - options.reranker_margin
    kept = [c for c, s in zip(pool, scores[1:], strict=True) if float(s) < ceiling]
    return kept[: options.negatives_per_query]
