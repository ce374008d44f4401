"""How much hybrid search trusts the dense side for a Chinese or Japanese query.

An English-only embedder (the bundled MiniLM) has almost no CJK in its training: it ranks such
text by noise, and fused at full weight that noise pushes BM25's right answers down. For a CJK
query and a model the catalogue does not call multilingual, the dense side keeps only a share
of its weight, chosen on the cjk-docs known-answer queries (see README).
"""

from __future__ import annotations

from localsearch.language import has_cjk

ENGLISH_MODEL_CJK_DENSE_SHARE = 0.25


def dense_weight_for(query: str, dense_weight: float, multilingual: bool) -> float:
    if multilingual or not has_cjk(query):
        return dense_weight
    return dense_weight * ENGLISH_MODEL_CJK_DENSE_SHARE
