"""Snippets: the part of a chunk that best matches the query, with the matching words marked.

Matching is by a light suffix-stripping stem so "indexing" highlights "indexes"; it only has to
agree with BM25 well enough for a reader's eye, not exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = (
    "ations",
    "ation",
    "ings",
    "ing",
    "ness",
    "ies",
    "ied",
    "ers",
    "ed",
    "er",
    "es",
    "ly",
    "s",
)
STOPWORDS = frozenset(
    "a an and are as at be but by for from how i if in into is it its of on or that the their "
    "there these this to was were what when where which who why will with you your do does can "
    "should would could my we our".split()
)


@lru_cache(maxsize=1 << 16)  # every word of every snippet passes here; vocabularies repeat
def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def query_stems(query: str) -> set[str]:
    words = [w for w in _WORD.findall(query.lower()) if w not in STOPWORDS]
    return {stem(w) for w in words if len(w) > 1 or not w.isascii()}


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) in text


def make_snippet(text: str, query: str, max_chars: int = 300) -> Snippet:
    """The window of about `max_chars` with the most distinct query words, with highlights."""
    flat = " ".join(text.split())
    stems = query_stems(query)
    matches = [(m.start(), m.end()) for m in _WORD.finditer(flat) if stem(m.group()) in stems]
    if len(flat) <= max_chars:
        start, end = 0, len(flat)
    else:
        start = _best_window(flat, matches, max_chars)
        end = min(len(flat), start + max_chars)
        # Cut at word boundaries so the snippet never starts or ends mid-word.
        if start > 0:
            space = flat.find(" ", start)
            start = space + 1 if 0 <= space < start + 30 else start
        if end < len(flat):
            space = flat.rfind(" ", start, end)
            end = space if space > start else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    body = flat[start:end]
    offset = len(prefix) - start
    highlights = [(s + offset, e + offset) for s, e in matches if s >= start and e <= end]
    return Snippet(prefix + body + suffix, highlights)


def _best_window(flat: str, matches: list[tuple[int, int]], width: int) -> int:
    if not matches:
        return 0
    best_start, best_score = 0, -1
    for anchor, _ in matches:
        start = max(0, anchor - width // 4)
        inside = {stem(flat[s:e]) for s, e in matches if start <= s and e <= start + width}
        hits = sum(1 for s, e in matches if start <= s and e <= start + width)
        score = len(inside) * 100 + hits
        if score > best_score:
            best_start, best_score = start, score
    return best_start
