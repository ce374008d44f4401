"""The BM25 query built from what a user typed: function words weighed down, phrases kept.

A question ("how do I write my own directive") is mostly function words. BM25 gives each a low
but non-zero weight, and in short fields (a heading, a to-do line) a few of them outscore the
one word that matters. So when a query has content words, its function words count at a
fraction of a content word's weight; a query of function words only keeps them whole. A proximity
boost can add, for each two neighbouring content words of an unquoted query, a sloppy phrase
as an extra optional clause, so chunks where the words stand close together rank higher. Kept
out of lexical/ because it decides ranking, not how text is split into terms.
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


def bm25_query_text(
    query: str,
    function_weight: float = 1.0,
    proximity_boost: float = 0.0,
    proximity_slop: int = 4,
) -> str:
    """Tantivy query syntax for `query`: plain terms, quoted phrases, function words boosted
    by `function_weight` (1.0 leaves them as they are, 0 drops them) when content words exist,
    and proximity clauses weighted `proximity_boost` (0 adds none)."""
    parts = _PART.findall(build_query_text(query))
    terms = _weighted_terms(parts, function_weight)
    return " ".join(terms + proximity_clauses(parts, proximity_boost, proximity_slop))


def _weighted_terms(parts: list[str], function_weight: float) -> list[str]:
    if function_weight >= 1.0:
        return parts
    content = [p for p in parts if p not in FUNCTION_WORDS]
    if not content:
        return parts
    if function_weight <= 0.0:
        return content
    return [p if p not in FUNCTION_WORDS else f"{p}^{function_weight:g}" for p in parts]


def proximity_clauses(parts: list[str], boost: float, slop: int) -> list[str]:
    """`"a b"~slop^boost` for each two neighbouring content words, function words skipped.

    Pairs rather than one phrase of every word: a claim of ten content words almost never
    appears within a few positions in one chunk, while its neighbouring pairs do. A query with
    a quoted phrase already says which words belong together, so it gets none."""
    if boost <= 0.0 or any(p.startswith('"') for p in parts):
        return []
    content = [p for p in parts if p not in FUNCTION_WORDS]
    pairs = dict.fromkeys((a, b) for a, b in zip(content, content[1:], strict=False) if a != b)
    return [f'"{a} {b}"~{slop}^{boost:g}' for a, b in pairs]
