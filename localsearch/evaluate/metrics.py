"""Retrieval measures through pytrec_eval (trec_eval's own code), so numbers match BEIR tables.

nDCG@10 and Recall@100 are trec_eval's `ndcg_cut_10` and `recall_100`; MRR@10 is its
`recip_rank` over each ranking cut to its first 10, which is how BEIR reports MRR@k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MEASURES = ("ndcg@10", "recall@100", "mrr@10")


def run_from_rankings(rankings: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Scores that encode our order exactly: trec_eval re-sorts by score, ties by document id."""
    return {
        query_id: {doc_id: float(len(ranked) - rank) for rank, doc_id in enumerate(ranked)}
        for query_id, ranked in rankings.items()
    }


def evaluate_rankings(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over every judged query.

    A judged query with no results counts as zero, not as absent: dropping it would flatter a
    system that fails to answer.
    """
    import pytrec_eval

    judged = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    if not judged:
        return dict.fromkeys(MEASURES, 0.0)
    full = run_from_rankings({q: list(rankings.get(q, ()))[:100] for q in judged})
    top10 = run_from_rankings({q: list(rankings.get(q, ()))[:10] for q in judged})
    per_query = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.100"}).evaluate(
        {q: docs for q, docs in full.items() if docs}
    )
    reciprocal = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(
        {q: docs for q, docs in top10.items() if docs}
    )
    count = len(judged)
    return {
        "ndcg@10": sum(m["ndcg_cut_10"] for m in per_query.values()) / count,
        "recall@100": sum(m["recall_100"] for m in per_query.values()) / count,
        "mrr@10": sum(m["recip_rank"] for m in reciprocal.values()) / count,
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (numpy's default), without importing numpy for it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
