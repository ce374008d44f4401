"""How much hybrid search trusts the dense side for a Chinese or Japanese query.

An English-only embedder (the bundled MiniLM) has almost no CJK in its training: it ranks such
text by noise, and fused at full weight that noise pushes BM25's right answers down. For a CJK
query and a model the catalogue does not call multilingual, the dense side keeps only a share
of its weight. A multilingual model is the other way round: on CJK text its dense side beats
BM25, whose segmenters miss paraphrases, so it gets more than its weight. Both factors were
chosen on the cjk-docs known-answer queries (see README); English queries keep the weights.
"""

from __future__ import annotations

from localsearch.language import has_cjk

ENGLISH_MODEL_CJK_DENSE_SHARE = 0.25
# 1.5 times the dense weight: 0.6 of the fused score with the default equal weights.
MULTILINGUAL_MODEL_CJK_DENSE_BOOST = 1.5


def dense_weight_for(query: str, dense_weight: float, multilingual: bool) -> float:
    if not has_cjk(query):
        return dense_weight
    if multilingual:
        return dense_weight * MULTILINGUAL_MODEL_CJK_DENSE_BOOST
    return dense_weight * ENGLISH_MODEL_CJK_DENSE_SHARE
