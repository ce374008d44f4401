"""The embed backlog: stored chunks that have no vector yet, and the work that gives them one.

`index` commits text first (documents, chunks and BM25, batch by batch, so keyword search
answers within seconds) and embeds afterwards. Chunks still without a vector in a space are
its backlog: the same run embeds them in committed batches, and a run that was interrupted
leaves them for the next `index` (or `watch`) to finish. Dense search meanwhile ranks the
chunks that have vectors, and every front end says how far it has got (`DenseCoverage`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from localsearch.embed.encoder import Encoder, format_passage
from localsearch.errors import IndexIncompleteError
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.store import EmbeddingSpace, Store
from localsearch.wording import plural

BACKLOG_BATCH = 256  # chunks embedded per commit: an interruption loses at most this many


def embed_hash(text: str) -> str:
    """What a chunk's vector is keyed by: the exact text the embedder sees."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class DenseCoverage:
    """How many of the stored chunks the active model has vectors for."""

    embedded: int
    chunks: int

    @property
    def complete(self) -> bool:
        return self.embedded >= self.chunks

    @property
    def missing(self) -> int:
        return max(self.chunks - self.embedded, 0)

    def describe(self) -> str:
        return f"dense: {self.embedded:,} of {plural(self.chunks, 'chunk', separator=',')} embedded"

    def to_dict(self) -> dict[str, int]:
        return {"embedded": self.embedded, "chunks": self.chunks}


def dense_coverage(store: Store, space: EmbeddingSpace | None = None) -> DenseCoverage:
    """Coverage of `space` (by default the active one; none yet means nothing embedded)."""
    space = space or store.active_space()
    chunks = store.count("chunks")
    return DenseCoverage(store.count_vectors(space) if space else 0, chunks)


def require_all_embedded(store: Store, space: EmbeddingSpace, why: str) -> None:
    """Refuse work that needs every chunk's vector while some are missing."""
    coverage = dense_coverage(store, space)
    if not coverage.complete:
        raise IndexIncompleteError(
            f"{coverage.describe()}; {why}",
            f"run `localsearch index` to embed the other {coverage.missing:,} first",
        )


@dataclass
class BacklogResult:
    embedded: int = 0  # chunks encoded by the model
    reused: int = 0  # chunks whose identical text already had a vector in the space


def embed_backlog(
    store: Store,
    space: EmbeddingSpace,
    encoder: Encoder,
    progress: ProgressCallback = ignore_progress,
    *,
    stage: str = "embed",
) -> BacklogResult:
    """Give every chunk without a vector in `space` one, a committed batch at a time.

    A chunk whose text already has a vector in the space (the same passage in another file)
    reuses it; identical texts within a batch are encoded once. Progress counts chunks against
    the backlog found at the start."""
    result = BacklogResult()
    total = store.count("chunks") - store.count_vectors(space)
    if total <= 0:
        return result
    done = 0
    progress(ProgressEvent(stage, 0, total))
    after_id = 0
    while True:
        rows = store.chunks_missing_vectors(space, BACKLOG_BATCH, after_id)
        if not rows:
            break
        after_id = rows[-1].id
        texts = [format_passage(r.title, r.heading, r.text) for r in rows]
        hashes = [embed_hash(t) for t in texts]
        known = store.vectors_by_embed_hash(space, hashes)
        to_encode = list(
            dict.fromkeys(t for t, h in zip(texts, hashes, strict=True) if h not in known)
        )
        if to_encode:

            def on_encoded(n: int) -> None:
                nonlocal done
                done = min(done + n, total)
                progress(ProgressEvent(stage, done, total))

            vectors = encoder.encode_passages(to_encode, on_encoded)
            for text, vector in zip(to_encode, vectors, strict=True):
                known[embed_hash(text)] = vector
        with store.transaction():
            store.insert_vectors(space, [r.id for r in rows], np.stack([known[h] for h in hashes]))
            store.bump_vectors_version()
        result.embedded += len(to_encode)
        result.reused += len(rows) - len(to_encode)
        done = min(result.embedded + result.reused, total)
        progress(ProgressEvent(stage, done, total))
    return result
