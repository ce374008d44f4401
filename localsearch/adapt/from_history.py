"""Training pairs and a held-out judge from the user's own logged searches.

A logged search whose user opened a result (or marked one "this is it") says which chunk that
query should find: a positive. The results shown above it and left unopened, and those marked
"not this", are what it should rank lower. The log is split by query, never by search, so the
gate judges on queries the new model has not seen in any form.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from localsearch.adapt.negatives import CorpusView
from localsearch.adapt.query_tower import QueryPair

# The gate judges on held-out searches only when at least this many distinct queries had a
# result opened; fewer would make its verdict a coin toss, so synthetic queries judge instead.
MIN_JUDGED_SEARCHES = 40
HELD_OUT_FRACTION = 0.25
MAX_HELD_OUT = 300
# A result shown above the opened one is spared as a negative when the current model scores it
# within this much cosine of the opened one: it may be relevant too (the user opened one).
SPARE_MARGIN = 0.0
# Synthetic pairs count fully while the log has few pairs and fade out as it grows.
REAL_PAIRS_ENOUGH = 100


@dataclass(frozen=True)
class LoggedPair:
    """One distinct query from the log with what its searches taught."""

    query: str
    positives: tuple[int, ...]  # opened or marked relevant, first first
    skipped: tuple[int, ...] = ()  # shown above the first positive and not opened
    rejected: tuple[int, ...] = ()  # marked "not this"


@dataclass
class HistorySplit:
    training: list[LoggedPair] = field(default_factory=list)
    held_out: list[LoggedPair] = field(default_factory=list)
    searches: int = 0  # logged searches
    usable: int = 0  # distinct queries with an opened or marked result
    ignored: bool = False  # --no-history: the log was not read

    @property
    def judges(self) -> bool:
        return bool(self.held_out)

    def judged_on(self) -> str:
        """The line that says what the gate judged on."""
        if self.judges:
            return f"judged on {len(self.held_out)} of your searches held out"
        if self.ignored:
            return "judged on synthetic queries: --no-history leaves your search log out"
        if self.usable == 0:
            return "judged on synthetic queries: your search log has no opened results yet"
        return (
            f"judged on synthetic queries: you have only {self.usable}"
            f" search{'es' if self.usable != 1 else ''} with an opened result;"
            f" the log needs at least {MIN_JUDGED_SEARCHES}"
        )


def synthetic_weight(real_pairs: int) -> float:
    """The loss weight of a synthetic pair beside `real_pairs` logged ones."""
    return max(0.0, 1.0 - real_pairs / REAL_PAIRS_ENOUGH)


def normalised_query(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def query_digest(text: str) -> str:
    """What a model card keeps of a query it trained on: enough for `eval --history` to know
    the query again, without leaving the user's searches readable beside the model (where
    `history --clear` does not reach)."""
    return hashlib.sha256(normalised_query(text).encode("utf-8")).hexdigest()


def pairs_from_searches(searches: Sequence[Any]) -> list[LoggedPair]:
    """One LoggedPair per distinct query (case and spacing folded) that has a positive."""
    grouped: dict[str, dict[str, Any]] = {}
    for search in sorted(searches, key=lambda s: s.at):
        key = normalised_query(search.query)
        if not key:
            continue
        entry = grouped.setdefault(
            key, {"query": search.query.strip(), "positives": [], "skipped": [], "rejected": []}
        )
        rejected = set(search.not_relevant)
        positives = [c for c in (*search.relevant, *search.opened) if c not in rejected]
        entry["rejected"].extend(rejected)
        if positives:
            entry["positives"].extend(positives)
            shown = list(search.shown)
            first = positives[0]
            above = shown[: shown.index(first)] if first in shown else []
            entry["skipped"].extend(c for c in above if c not in positives)
    pairs = []
    for entry in grouped.values():
        no: tuple[int, ...] = tuple(dict.fromkeys(entry["rejected"]))
        yes = tuple(c for c in dict.fromkeys(entry["positives"]) if c not in no)
        if not yes:
            continue
        skipped = tuple(c for c in dict.fromkeys(entry["skipped"]) if c not in yes and c not in no)
        pairs.append(LoggedPair(entry["query"], yes, skipped, no))
    return pairs


def split_history(searches: Sequence[Any], *, seed: int = 13) -> HistorySplit:
    """Hold out a slice of the distinct queries (by a hash of the query) when there are enough."""
    pairs = pairs_from_searches(searches)
    split = HistorySplit(searches=len(searches), usable=len(pairs))
    if len(pairs) < MIN_JUDGED_SEARCHES:
        split.training = pairs
        return split
    ranked = sorted(
        pairs,
        key=lambda p: hashlib.sha1(f"{seed}:{normalised_query(p.query)}".encode()).hexdigest(),
    )
    count = min(MAX_HELD_OUT, max(1, round(len(pairs) * HELD_OUT_FRACTION)))
    split.held_out = ranked[:count]
    held = {normalised_query(p.query) for p in split.held_out}
    split.training = [p for p in pairs if normalised_query(p.query) not in held]
    return split


def query_pairs(
    pairs: Sequence[LoggedPair],
    corpus: CorpusView,
    encode_queries: Callable[[Sequence[str]], np.ndarray],
    margin: float = SPARE_MARGIN,
) -> list[QueryPair]:
    """QueryPairs for the query tower: one per positive; the query's other positives, and the
    skipped results the current model scores within `margin` of the positive, are spared."""
    if not pairs:
        return []
    rows = corpus.rows()
    vectors = encode_queries([p.query for p in pairs])
    made = []
    for pair, vector in zip(pairs, vectors, strict=True):
        for positive in pair.positives:
            if positive not in rows:
                continue
            floor = float(corpus.vectors[rows[positive]] @ vector) - margin
            close = tuple(
                c
                for c in pair.skipped
                if c in rows and float(corpus.vectors[rows[c]] @ vector) >= floor
            )
            others = tuple(c for c in pair.positives if c != positive)
            made.append(QueryPair(pair.query, positive, spared=others + close))
    return made
