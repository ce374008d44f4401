"""The BM25 query built from what a user typed: function words weighed down, phrases kept.

A question ("how do I write my own directive") is mostly function words. BM25 gives each a low
but non-zero weight, and in short fields (a heading, a to-do line) a few of them outscore the
one word that matters. So when a query has content words, its function words count at a
fraction of a content word's weight; a query of function words only keeps them whole. Kept out
of lexical/ because it decides ranking, not how text is split into terms.
"""

from __future__ import annotations

import re

from localsearch.lexical.tantivy_index import build_query_text

# English function words that carry no topic; question words included, negations left out
# ("not" changes what a claim says, and BM25 cannot tell anyway, so it costs nothing to keep).
FUNCTION_WORDS = frozenset(
    """a an and are as at be been being but by can could did do does doing for from had has
    have having how i if in into is it its me my of on or our should so than that the their
    them then there these they this those to was we were what when where which who whom why
    will with would you your""".split()
)

_PART = re.compile(r'"[^"]*"|\S+')


def bm25_query_text(query: str, function_weight: float = 1.0) -> str:
    """Tantivy query syntax for `query`: plain terms, quoted phrases, function words boosted
    by `function_weight` (1.0 leaves them as they are, 0 drops them) when content words exist."""
    parts = _PART.findall(build_query_text(query))
    if function_weight >= 1.0:
        return " ".join(parts)
    content = [p for p in parts if p not in FUNCTION_WORDS]
    if not content:
        return " ".join(parts)
    if function_weight <= 0.0:
        return " ".join(content)
    return " ".join(p if p not in FUNCTION_WORDS else f"{p}^{function_weight:g}" for p in parts)
