"""What a search returns: Hit, one document shown through its best chunk, and SearchResults.

Apart from the engine, which is about finding them (and was near 800 lines); the engine
imports both, so `from localsearch.search.engine import Hit` goes on working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localsearch.embed_backlog import DenseCoverage
from localsearch.search.snippet import Snippet
from localsearch.store.paths import os_path


@dataclass
class Hit:
    """One document in the results, shown through its best chunk."""

    path: str
    title: str
    doc_type: str
    score: float
    chunk_id: int
    document_id: int
    heading: str
    page: int | None
    start_line: int
    end_line: int
    text: str
    snippet: Snippet
    bm25_rank: int | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    dense_score: float | None = None
    neighbours: float | None = None  # what its nearest documents added (search/neighbours.py)
    more: list[Hit] = field(default_factory=list)  # other chunks of the document (per_doc > 1)
    more_count: int = 0  # how many other chunks of the document matched
    # All of them, best first, as (chunk id, score): SearchEngine.all_more shows the rest.
    more_ranked: list[tuple[int, float]] = field(default_factory=list, repr=False)
    raw_path: bytes | None = None  # the file name's bytes when it is not valid UTF-8
    also_at: list[str] = field(default_factory=list)  # copies' paths (search/duplicates.py)

    @property
    def os_path(self) -> str:
        """The path to open the file at (`path` is for showing)."""
        return os_path(self.path, self.raw_path)

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "title": self.title,
            "type": self.doc_type,
            "score": round(self.score, 6),
            "heading": self.heading,
            "page": self.page,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "snippet": self.snippet.text,
            "highlights": [list(span) for span in self.snippet.highlights],
            "chunk_id": self.chunk_id,
        }
        if explain:
            data["explain"] = {
                "bm25_rank": self.bm25_rank,
                "bm25_score": self.bm25_score,
                "dense_rank": self.dense_rank,
                "dense_score": self.dense_score,
            }
            if self.neighbours is not None:  # only where a neighbourhood was smoothed
                data["explain"]["neighbours"] = self.neighbours
        if self.also_at:  # only for a file with copies, so the usual shape stays the same
            data["also_at"] = list(self.also_at)
        if self.more_count:
            data["more_count"] = self.more_count
            data["more"] = [
                {key: value for key, value in more.to_dict().items() if key != "more"}
                for more in self.more
            ]
        return data


@dataclass
class SearchResults:
    query: str
    mode: str
    fusion: str
    hits: list[Hit] = field(default_factory=list)
    elapsed_ms: float = 0.0
    # Where the time went: encode, vectors, bm25, fusion, snippets (benchmarks/query_latency.py).
    parts_ms: dict[str, float] = field(default_factory=dict)
    weak_match: bool = False  # nothing found matches the query well (search/calibrate.py)
    warnings: list[str] = field(default_factory=list)  # lines for stderr: degraded results
    dense: DenseCoverage | None = None  # set while chunks still wait for their vectors
    path_glob: str | None = None  # the filters it ran with, so the history can replay them
    doc_types: tuple[str, ...] = ()
    since: str | None = None  # --since as given: "7d", "2026-11-01"

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "mode": self.mode,
            "fusion": self.fusion,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "weak_match": self.weak_match,
            "results": [hit.to_dict(explain) for hit in self.hits],
        }
        if self.warnings:  # only when results are degraded, so the usual shape stays the same
            data["warnings"] = list(self.warnings)
        if self.dense is not None:
            data["dense"] = self.dense.to_dict()
        return data
