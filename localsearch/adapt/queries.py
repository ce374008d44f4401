"""The model-free query generator: pseudo-queries a user's files already contain.

Measured on SciFact with the bundled MiniLM, naive pseudo-queries (a sentence of the passage,
salient keywords alone) make the model worse, while document structure helps: a title is a
natural query for the text under it, and so is a section heading or the text of a link that
points at a document. So this generator reads structure first, and makes salient-keyword
queries only for documents that have no structure to read. No network, no model, a few seconds
for ten thousand chunks.

Each query carries its `kind`; `training_passage` removes the words the query was taken from
(the title for a title query, the heading for a heading query) from the positive the model
trains on, so that it learns what a text is about rather than to match a copied line.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Protocol

from localsearch.embed.encoder import format_passage
from localsearch.language import cjk_terms, has_cjk
from localsearch.language.analysis import CJK_STOPWORDS

GENERATOR_NAME = "structure-v1"
KINDS = ("title", "heading", "anchor", "keywords")

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]", re.UNICODE)
_MARKDOWN_LINK = re.compile(r"(?<!!)\[([^\]\n]{3,120})\]\(([^)\s#]+)(?:#[^)\s]*)?\)")
_SPACES = re.compile(r"\s+")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just may me might more most must my myself no nor not now of off on once only
    or other our ours ourselves out over own same shall she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up
    upon use used using very was we were what when where which while who whom why will with
    within without would you your yours yourself yourselves one two three also however thus
    therefore via per etc e.g i.e eg ie et al new see may well like get got make made many much
    every either neither whether yet still even though although since among across around""".split()
)

# Headings that say where a section sits rather than what it is about.
_GENERIC_HEADINGS = frozenset(
    """abstract introduction background overview summary conclusion conclusions discussion
    results methods method references acknowledgements acknowledgments appendix contents
    notes note example examples usage description details motivation rationale specification
    copyright license licence changelog changes history todo faq index preface foreword""".split()
)


class PassageSource(Protocol):
    """What the generator reads from a chunk (a store ChunkRow satisfies it)."""

    @property
    def id(self) -> int: ...
    @property
    def document_id(self) -> int: ...
    @property
    def ordinal(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def heading(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class SyntheticQuery:
    chunk_id: int
    query: str
    kind: str  # "title", "heading", "anchor", "keywords", or "generated" for a seq2seq model


def words_of(text: str) -> list[str]:
    """Lower-cased words; Chinese and Japanese segmented as BM25 segments them."""
    if has_cjk(text):
        return [w for w in cjk_terms(text, keep_stopwords=True) if not w.isdigit()]
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    # A two-character CJK word ("线程", "変数") carries as much as a long English one.
    return [
        w
        for w in words_of(text)
        if (len(w) > 2 or (len(w) == 2 and has_cjk(w)))
        and w not in STOPWORDS
        and w not in CJK_STOPWORDS
    ]


def clean_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" \t#*_`=-:")


class TermStatistics:
    """Document frequencies of content words over all chunks, for BM25-style term weights."""

    def __init__(self, chunk_texts: Iterable[str]) -> None:
        self.document_frequency: Counter[str] = Counter()
        self.chunks = 0
        total_length = 0
        for text in chunk_texts:
            terms = content_words(text)
            self.document_frequency.update(set(terms))
            self.chunks += 1
            total_length += len(terms)
        self.average_length = total_length / self.chunks if self.chunks else 1.0

    def idf(self, term: str) -> float:
        df = self.document_frequency.get(term, 0)
        return math.log(1.0 + (self.chunks - df + 0.5) / (df + 0.5))

    def salient_terms(self, text: str, limit: int, k1: float = 1.2, b: float = 0.75) -> list[str]:
        """The `limit` most salient terms of `text`, best first.

        Terms the text repeats come first, each group ordered by BM25 weight: a word used twice
        is what the passage is about, while a rare word used once ("bedside", "forth") is as
        often an aside. Terms found in no other chunk are left out: as often typos or
        identifiers as topics.
        """
        terms = content_words(text)
        if not terms:
            return []
        counts = Counter(terms)
        norm = k1 * (1 - b + b * len(terms) / self.average_length)
        weights = {
            term: self.idf(term) * tf * (k1 + 1) / (tf + norm)
            for term, tf in counts.items()
            if self.document_frequency.get(term, 0) > 1
        }
        chosen: dict[str, str] = {}
        for term in sorted(weights, key=lambda t: (counts[t] < 2, -weights[t])):
            chosen.setdefault(term.removesuffix("s"), term)  # "suture" and "sutures" are one
            if len(chosen) == limit:
                break
        return list(chosen.values())


def _usable_as_query(text: str) -> bool:
    words = content_words(text)
    return bool(words) and len(words_of(text)) <= 32


def _normalised(text: str) -> str:
    return " ".join(words_of(text))


def generate_structural_queries(
    chunks: Sequence[PassageSource],
    *,
    kinds: Sequence[str] = KINDS,
    keyword_queries_per_document: int = 1,
    keyword_terms: int = 4,
    seed: int = 13,
) -> list[SyntheticQuery]:
    """Pseudo-queries for `chunks` (all chunks of the corpus, so frequencies are right).

    - title: a document's title, for its first chunk, when no other document has that title;
    - heading: a section heading, for the first chunk under it; a generic heading
      ("Introduction") is prefixed with the document title so that it points somewhere;
    - anchor: the text of a Markdown link to another indexed document, for that document's
      first chunk;
    - keywords: a few of a chunk's most salient terms, for one chunk of each document that
      has none of the above. Measured on SciFact, keyword queries added to titles made the
      model no better on real queries (dense nDCG@10 +0.2 after 106 steps, against +0.5 for
      titles alone after 22), so they only fill in where structure is missing.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown query kinds: {', '.join(sorted(unknown))}")
    by_document: dict[int, list[PassageSource]] = defaultdict(list)
    for chunk in chunks:
        by_document[chunk.document_id].append(chunk)
    for parts in by_document.values():
        parts.sort(key=lambda c: c.ordinal)
    documents = sorted(by_document)
    by_id = {chunk.id: chunk.document_id for chunk in chunks}
    rng = random.Random(seed)
    queries: list[SyntheticQuery] = []

    if "title" in kinds:
        title_counts = Counter(_normalised(parts[0].title) for parts in by_document.values())
        for doc_id in documents:
            first = by_document[doc_id][0]
            title = clean_line(first.title)
            if _usable_as_query(title) and title_counts[_normalised(title)] == 1:
                queries.append(SyntheticQuery(first.id, title, "title"))

    if "heading" in kinds:
        queries.extend(_heading_queries(by_document, documents))

    if "anchor" in kinds:
        queries.extend(_anchor_queries(by_document, documents))

    if "keywords" in kinds and keyword_queries_per_document > 0:
        statistics = TermStatistics(c.text for c in chunks)
        structured = {by_id[q.chunk_id] for q in queries}
        for doc_id in documents:
            if doc_id in structured:
                continue
            parts = by_document[doc_id]
            picked = rng.sample(parts, min(keyword_queries_per_document, len(parts)))
            for chunk in picked:
                terms = statistics.salient_terms(chunk.text, keyword_terms + 2)
                if len(terms) < 2:
                    continue
                chosen = set(rng.sample(terms, min(keyword_terms, len(terms))))
                # Keep the order the terms first appear in, which reads more like a query.
                ordered = list(dict.fromkeys(w for w in content_words(chunk.text) if w in chosen))
                queries.append(SyntheticQuery(chunk.id, " ".join(ordered), "keywords"))
    return queries


def _heading_queries(
    by_document: dict[int, list[PassageSource]], documents: Sequence[int]
) -> list[SyntheticQuery]:
    leaf_documents: dict[str, set[int]] = defaultdict(set)
    for doc_id in documents:
        for chunk in by_document[doc_id]:
            leaf = clean_line(chunk.heading.split(" > ")[-1]) if chunk.heading else ""
            if leaf:
                leaf_documents[_normalised(leaf)].add(doc_id)
    queries = []
    for doc_id in documents:
        previous: str | None = None
        for chunk in by_document[doc_id]:
            heading = chunk.heading
            if not heading or heading == previous:
                previous = heading
                continue
            previous = heading
            leaf = clean_line(heading.split(" > ")[-1])
            key = _normalised(leaf)
            title = clean_line(chunk.title)
            if not _usable_as_query(leaf) or key == _normalised(title):
                continue
            if key in _GENERIC_HEADINGS or len(leaf_documents[key]) > 2:
                if not title or not _usable_as_query(f"{title} {leaf}"):
                    continue
                leaf = f"{title} {leaf}"
            queries.append(SyntheticQuery(chunk.id, leaf, "heading"))
    return queries


def _anchor_queries(
    by_document: dict[int, list[PassageSource]], documents: Sequence[int]
) -> list[SyntheticQuery]:
    first_chunk_by_path = {
        _path_key(by_document[doc_id][0].path): by_document[doc_id][0] for doc_id in documents
    }
    seen: set[tuple[int, str]] = set()
    queries = []
    for doc_id in documents:
        for chunk in by_document[doc_id]:
            for label, target in _MARKDOWN_LINK.findall(chunk.text):
                if "://" in target or target.startswith("mailto:"):
                    continue
                resolved = _path_key(str(PurePath(chunk.path).parent / target))
                destination = first_chunk_by_path.get(resolved)
                label = clean_line(label)
                if destination is None or destination.document_id == doc_id:
                    continue
                if not _usable_as_query(label) or _normalised(label) in _GENERIC_HEADINGS:
                    continue
                key = (destination.id, _normalised(label))
                if key in seen or _normalised(label) == _normalised(destination.title):
                    continue
                seen.add(key)
                queries.append(SyntheticQuery(destination.id, label, "anchor"))
    return queries


def _path_key(path: str) -> str:
    """A path with `..` resolved and no extension, so `../guide.md` and `guide` meet."""
    parts: list[str] = []
    for part in PurePath(path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return str(PurePath(*parts).with_suffix("")) if parts else ""


def training_passage(chunk: PassageSource, kind: str) -> str:
    """The positive the model trains on: the chunk as embedded, less what the query came from."""
    if kind == "title":
        return format_passage("", chunk.heading, chunk.text)
    if kind == "heading":
        return format_passage(chunk.title, "", chunk.text)
    return format_passage(chunk.title, chunk.heading, chunk.text)
