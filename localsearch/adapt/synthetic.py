"""Synthetic training queries: made for the chunks, split by document, narrowed to BM25's misses.

The cold start of adapt, and what fills in while the search log is short: the model-free
generator (document structure, see queries.py) or a seq2seq generator the user pulled. Queries
are stored in SQLite per generator, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from localsearch.adapt.lexical_misses import bm25_ranks
from localsearch.adapt.options import AdaptOptions
from localsearch.adapt.queries import GENERATOR_NAME, generate_structural_queries
from localsearch.config import Settings
from localsearch.embed.encoder import format_passage
from localsearch.progress import ProgressCallback, ProgressEvent
from localsearch.store import Store
from localsearch.store.adapt_queries import (
    StoredQuery,
    add_queries,
    chunks_with_queries,
    replace_queries,
    stored_queries,
)
from localsearch.store.database import ChunkRow

MODEL_FREE = "structure"  # the name of the model-free generator on the command line
GENERATION_SLICE = 64  # passages per committed batch of generated queries
# Model-free pairs are narrowed to those BM25 misses (see lexical_misses.py) when at least this
# many are left to train on, and the gate judges on such queries when it has this many.
MIN_TRAINING_MISSES = 64
MIN_HELD_OUT_MISSES = 30


@dataclass
class SyntheticQuery:
    text: str
    chunk: ChunkRow
    kind: str


class SyntheticQueries:
    """One adapt run's synthetic queries; `narrowed` and `misses` say what the split did."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        chunks: dict[int, ChunkRow],
        options: AdaptOptions,
        *,
        device: str,
        progress: ProgressCallback,
        timed: Callable[[str, float], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.chunks = chunks
        self.options = options
        self.device = device
        self.progress = progress
        self._timed = timed
        self.narrowed = False  # training on the model-free queries BM25 misses
        self.misses = (0, 0)  # (such training queries, all training queries)

    def generator_name(self) -> str:
        from localsearch.adapt.models import present_generator

        chosen = self.options.generator or present_generator(self.settings.models_dir)
        return chosen or MODEL_FREE

    def sample(self, chunks: Sequence[ChunkRow]) -> list[ChunkRow]:
        limit = self.options.max_passages
        if limit is None or limit >= len(chunks):
            return list(chunks)
        return sorted(
            random.Random(self.options.seed).sample(list(chunks), limit), key=lambda c: c.id
        )

    def generate(self, chunks: Sequence[ChunkRow]) -> tuple[str, list[SyntheticQuery]]:
        started = time.monotonic()
        generator = self.generator_name()
        sample = self.sample(chunks)
        if generator == MODEL_FREE:
            stored_as = GENERATOR_NAME
            self.progress(ProgressEvent("generate", 0, len(sample), "model-free"))
            made = generate_structural_queries(
                chunks, kinds=self.options.query_kinds, seed=self.options.seed
            )
            wanted = {c.id for c in sample}
            rows = [StoredQuery(q.chunk_id, q.query, q.kind) for q in made if q.chunk_id in wanted]
            with self.store.transaction():
                replace_queries(self.store, stored_as, rows)
            self.progress(ProgressEvent("generate", len(sample), len(sample), "model-free"))
        else:
            stored_as = generator
            self.generate_seq2seq(generator, sample)
        wanted_ids = {c.id for c in sample}
        queries = [
            SyntheticQuery(q.query, self.chunks[q.chunk_id], q.kind)
            for q in stored_queries(self.store, stored_as)
            if q.chunk_id in wanted_ids and q.chunk_id in self.chunks
        ]
        self._timed("generate", started)
        return generator, queries

    def generate_seq2seq(self, generator: str, sample: Sequence[ChunkRow]) -> None:
        from localsearch.adapt.generate_t5 import Seq2SeqQueryGenerator
        from localsearch.catalog import resolve_model

        location = resolve_model(generator, self.settings.models_dir).location
        done = chunks_with_queries(self.store, generator)
        todo = [c for c in sample if c.id not in done]
        total = len(sample)
        completed = total - len(todo)
        self.progress(ProgressEvent("generate", completed, total, generator))
        if not todo:
            return
        model = Seq2SeqQueryGenerator(
            location,
            device=self.device,
            queries_per_passage=self.options.queries_per_passage,
            seed=self.options.seed,
        )
        for start in range(0, len(todo), GENERATION_SLICE):
            part = todo[start : start + GENERATION_SLICE]
            generated = model.generate([format_passage(c.title, c.heading, c.text) for c in part])
            rows = [
                StoredQuery(chunk.id, text, "generated")
                for chunk, texts in zip(part, generated, strict=True)
                for text in texts
            ]
            with self.store.transaction():  # committed per slice: an interrupted run resumes
                add_queries(self.store, generator, rows)
            completed += len(part)
            self.progress(ProgressEvent("generate", completed, total, generator))

    def held_out_documents(self, queries: Sequence[SyntheticQuery]) -> set[int]:
        """A slice of the documents with queries, chosen by a hash of their path (stable)."""
        paths = {q.chunk.document_id: q.chunk.path for q in queries}
        if len(paths) < 2:
            return set()
        ranked = sorted(
            paths,
            key=lambda d: hashlib.sha1(f"{self.options.seed}:{paths[d]}".encode()).hexdigest(),
        )
        count = max(1, round(len(ranked) * self.options.held_out_fraction))
        return set(ranked[: min(count, len(ranked) - 1)])

    def lexical_misses(
        self, training: Sequence[SyntheticQuery], held_out: Sequence[SyntheticQuery]
    ) -> tuple[list[SyntheticQuery], list[SyntheticQuery]]:
        """The queries whose passage BM25 does not rank first, on each side of the split;
        a side keeps all its queries when too few are misses."""
        ordered = list(self.chunks.values())
        row_of = {chunk.id: row for row, chunk in enumerate(ordered)}
        queries = [*training, *held_out]
        detail = "finding what BM25 misses"
        self.progress(ProgressEvent("mine", 0, len(queries), detail))
        ranks = bm25_ranks(
            [(q.text, row_of[q.chunk.id]) for q in queries],
            [c.text for c in ordered],
            [c.document_id for c in ordered],
            advance=lambda done: self.progress(ProgressEvent("mine", done, len(queries), detail)),
        )
        missed = [q for q, rank in zip(queries, ranks, strict=True) if rank > 1]
        held_out_docs = {q.chunk.document_id for q in held_out}
        missed_training = [q for q in missed if q.chunk.document_id not in held_out_docs]
        missed_held_out = [q for q in missed if q.chunk.document_id in held_out_docs]
        self.misses = (len(missed_training), len(training))
        if len(missed_training) >= MIN_TRAINING_MISSES:
            self.narrowed = True
            training = missed_training
        if len(missed_held_out) >= MIN_HELD_OUT_MISSES:
            held_out = missed_held_out
        return list(training), list(held_out)
