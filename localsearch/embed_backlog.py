"""The embed backlog: stored chunks that have no vector yet, and the work that gives them one.

`index` commits text first (documents, chunks and BM25, batch by batch, so keyword search
answers within seconds) and embeds afterwards (on a GPU, beside it: embed_alongside.py).
Chunks still without a vector in a space are
its backlog: the same run embeds them in committed batches, and a run that was interrupted
leaves them for the next `index` (or `watch`) to finish. Dense search meanwhile ranks the
chunks that have vectors, and every front end says how far it has got (`DenseCoverage`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from localsearch.embed.encoder import Encoder, format_passage
from localsearch.errors import IndexIncompleteError
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.database import ChunkRow
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


def chunks_per_commit(encoder: Encoder) -> int:
    """BACKLOG_BATCH on a CPU. An encoder whose batch grows to fill a GPU's memory
    (embed/gpu_batch.py) gets as many times more as its batch grew: 256 chunks would never
    fill one batch of 1,024, and on a GPU a commit of a few thousand is well under a second."""
    configured = getattr(encoder, "batch_size", 0)
    grown = getattr(encoder, "device_batch_size", configured)
    if not configured or grown <= configured:
        return BACKLOG_BATCH
    return BACKLOG_BATCH * (grown // configured)


def encodes_off_cpu(encoder: Encoder) -> bool:
    """Whether the encoder's work runs on another device (a GPU), leaving the CPU free to
    write one batch while the next is encoded."""
    return getattr(encoder, "device", "cpu") != "cpu"


class BacklogProgress:
    """Chunks done against the backlog's total, reported from either thread."""

    def __init__(self, progress: ProgressCallback, stage: str, total: int) -> None:
        self.progress, self.stage, self.total = progress, stage, total
        self.done = 0
        self.lock = threading.Lock()

    def advance(self, n: int) -> None:
        with self.lock:
            self.done = min(self.done + n, self.total)
            self.progress(ProgressEvent(self.stage, self.done, self.total))

    def at_least(self, n: int) -> None:
        with self.lock:
            self.done = max(self.done, min(n, self.total))
            self.progress(ProgressEvent(self.stage, self.done, self.total))


class BatchEncoding:
    """One batch's texts through the encoder, on a worker thread when `overlapped`."""

    def __init__(
        self, encoder: Encoder, texts: list[str], progress: BacklogProgress, *, overlapped: bool
    ) -> None:
        self.vectors: np.ndarray | None = None
        self.error: Exception | None = None
        self.thread: threading.Thread | None = None
        if not texts:
            self.vectors = np.zeros((0, 0), dtype=np.float32)
        elif overlapped:
            # A daemon: after Ctrl-C the process must not wait for the batch in flight.
            self.thread = threading.Thread(
                target=self._run, args=(encoder, texts, progress), daemon=True
            )
            self.thread.start()
        else:
            self.vectors = encoder.encode_passages(texts, progress.advance)

    def _run(self, encoder: Encoder, texts: list[str], progress: BacklogProgress) -> None:
        try:
            self.vectors = encoder.encode_passages(texts, progress.advance)
        except Exception as exc:  # noqa: BLE001 - raised again in the writing thread
            self.error = exc

    def done(self) -> bool:
        return self.thread is None or not self.thread.is_alive()

    def result(self) -> np.ndarray:
        if self.thread is not None:
            self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.vectors is not None
        return self.vectors


@dataclass
class BacklogBatch:
    """Chunks to be given vectors in one commit."""

    rows: list[ChunkRow]
    hashes: list[str]
    vectors: dict[str, np.ndarray]  # by embed hash: found in the space, then encoded
    texts: list[str]  # the distinct texts to encode
    encoding: BatchEncoding | None = None

    @classmethod
    def read(
        cls, store: Store, space: EmbeddingSpace, rows: list[ChunkRow], in_flight: set[str]
    ) -> BacklogBatch:
        """`rows` with the vectors the space already has for their texts; texts that the
        batch before, still being encoded, holds are left to it."""
        texts = [format_passage(r.title, r.heading, r.text) for r in rows]
        hashes = [embed_hash(t) for t in texts]
        known = store.vectors_by_embed_hash(space, hashes)
        to_encode = dict.fromkeys(
            t for t, h in zip(texts, hashes, strict=True) if h not in known and h not in in_flight
        )
        return cls(rows, hashes, known, list(to_encode))

    def encoded(self) -> np.ndarray:
        assert self.encoding is not None
        return self.encoding.result()

    def write(
        self,
        store: Store,
        space: EmbeddingSpace,
        before: dict[str, np.ndarray],
        *,
        only_stored: bool = False,
    ) -> int:
        """Commit the batch's vectors, once encoded; `before` holds the previous batch's. With
        `only_stored`, only for chunks still stored with the text they were encoded from and
        still without a vector (the text phase may have replaced them meanwhile: a chunk id is
        reused, and vec0 refuses a second vector for one). Returns how many chunks got one."""
        for text, vector in zip(self.texts, self.encoded(), strict=True):
            self.vectors[embed_hash(text)] = vector
        for h in self.hashes:
            if h not in self.vectors:
                self.vectors[h] = before[h]
        with store.transaction():
            pairs = [(r.id, h) for r, h in zip(self.rows, self.hashes, strict=True)]
            if only_stored:
                stored = store.embed_hashes_missing_vectors(space, [c for c, _ in pairs])
                pairs = [(chunk_id, h) for chunk_id, h in pairs if stored.get(chunk_id) == h]
            if pairs:
                store.insert_vectors(
                    space,
                    [chunk_id for chunk_id, _ in pairs],
                    np.stack([self.vectors[h] for _, h in pairs]),
                )
                store.bump_vectors_version()
        return len(pairs)


def embed_backlog(
    store: Store,
    space: EmbeddingSpace,
    encoder: Encoder,
    progress: ProgressCallback = ignore_progress,
    *,
    stage: str = "embed",
    overlap: bool | None = None,
) -> BacklogResult:
    """Give every chunk without a vector in `space` one, a committed batch at a time.

    A chunk whose text already has a vector in the space (the same passage in another file)
    reuses it; identical texts within a batch are encoded once. With `overlap` (by default
    when the encoder runs on a GPU) each batch is encoded while the one before it is written,
    so the GPU does not wait for SQLite. Progress counts chunks against the backlog found at
    the start."""
    result = BacklogResult()
    total = store.count("chunks") - store.count_vectors(space)
    if total <= 0:
        return result
    per_commit = chunks_per_commit(encoder)
    overlapped = encodes_off_cpu(encoder) if overlap is None else overlap
    counter = BacklogProgress(progress, stage, total)
    progress(ProgressEvent(stage, 0, total))
    pending: BacklogBatch | None = None
    previous: dict[str, np.ndarray] = {}

    def commit(batch: BacklogBatch) -> None:
        nonlocal previous
        batch.write(store, space, previous)
        previous = batch.vectors
        result.embedded += len(batch.texts)
        result.reused += len(batch.rows) - len(batch.texts)
        counter.at_least(result.embedded + result.reused)

    after_id = 0
    while True:
        rows = store.chunks_missing_vectors(space, per_commit, after_id)
        batch = None
        if rows:
            after_id = rows[-1].id
            in_flight = {embed_hash(t) for t in pending.texts} if pending else set()
            batch = BacklogBatch.read(store, space, rows, in_flight)
        if pending is not None:
            pending.encoded()  # one batch on the device at a time
        if batch is not None:
            batch.encoding = BatchEncoding(encoder, batch.texts, counter, overlapped=overlapped)
        if pending is not None:
            commit(pending)
            pending = None
        if batch is None:
            return result
        if overlapped:
            pending = batch
        else:
            commit(batch)
