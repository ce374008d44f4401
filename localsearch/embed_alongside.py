"""Embedding beside the text phase, where the encoder runs on a GPU.

`index` commits text first and embeds after it (embed_backlog.py). On a CPU the two would
share the same cores, so they take turns. A GPU leaves the CPU to the text phase: then the
chunks that text batches have committed are encoded on a thread while later files are read,
and the embed phase after the text phase finds only what is left. The model loads on that
thread too, so the first BM25 commit does not wait for it.

Vectors are written by the indexing thread, between its text batches (SQLite has one writer),
and only for chunks still stored with the text they were encoded from: one replaced meanwhile
(its id can be reused) gets none and stays in the backlog. An interruption loses the batch
being encoded, never a committed one. Nothing here may fail the text phase: an encoder that
cannot load or encode stops this, and the embed phase after it tries again and says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from localsearch.embed.encoder import Encoder
from localsearch.embed_backlog import (
    BacklogBatch,
    BacklogProgress,
    BatchEncoding,
    chunks_per_commit,
    encodes_off_cpu,
)
from localsearch.index_report import IndexReport
from localsearch.progress import ignore_progress
from localsearch.store import EmbeddingSpace, Store

if TYPE_CHECKING:
    from localsearch.index import Index


def embedding_alongside(
    index: Index, model: str | None, reembed: bool, reusable: EmbeddingSpace | None
) -> EmbeddingAlongside:
    """One for an `index` run whose encoder may run off the CPU; else one that does nothing.

    A first index fills a space that is not active yet, since its model may still follow its
    language mix (model_choice.py): `settle` then keeps it or drops it."""
    if reembed or index.settings.device == "cpu":
        return EmbeddingAlongside()
    active = index.store.active_space()
    if active is not None and (reusable is None or reusable.id != active.id):
        return EmbeddingAlongside()  # its model cannot be used: the embed phase says why

    def make_space() -> EmbeddingSpace:
        # The active space, a first index's unfinished one, or a new one not active yet.
        return index.space_for_writing(model, reembed, activate_first=False)[0]

    encoder = index.encoder(index.model_to_embed_with(model, reembed))
    return EmbeddingAlongside(index.store, encoder, make_space)


class EmbeddingAlongside:
    """Call `after_commit()` after each text batch commits; leave the `with` before the
    embed phase, which then waits for the batch in flight and writes it."""

    def __init__(
        self,
        store: Store | None = None,
        encoder: Encoder | None = None,
        make_space: Callable[[], EmbeddingSpace] | None = None,
    ) -> None:
        """With no encoder it does nothing. `make_space` gives the space vectors go into,
        called on the indexing thread once the model has loaded."""
        self.store, self.encoder, self._make_space = store, encoder, make_space
        self.space: EmbeddingSpace | None = None
        self.embedded = 0  # chunks encoded
        self.reused = 0  # chunks whose text had a vector already
        self._stopped = encoder is None
        self._loading: threading.Thread | None = None
        self._loaded_off_cpu = False  # set by the loading thread
        self._pending: BacklogBatch | None = None
        self._after_id = 0
        self._counter = BacklogProgress(ignore_progress, "embed", 0)

    def __enter__(self) -> EmbeddingAlongside:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None and self._loading is not None:
            # The embed phase loads the same model next: two threads must not load it at once.
            self._loading.join()
        if kind is None and not self._stopped and self._pending is not None:
            self._write(self._pending)  # waits for it
        self._pending = None
        self._stopped = True  # an interruption leaves the batch in flight to the backlog

    def count_into(self, report: IndexReport) -> None:
        report.chunks_embedded += self.embedded
        report.chunks_reused += self.reused

    def settle(self, model: str) -> None:
        """For a first index, once its model is chosen: the space filled beside the text phase
        becomes the active one if it is that model's, and is dropped if not."""
        store, space = self.store, self.space
        if store is None or space is None or store.active_space() is not None:
            return
        with store.transaction():
            if space.model == model:
                store.activate_space(space)
            else:
                store.drop_space(space)

    def after_commit(self) -> None:
        """Write the batch encoded since the last call, if it is done, and start the next
        on the chunks committed since; never waits for the encoder."""
        if self._stopped or not self._ready():
            return
        if self._pending is not None:
            encoding = self._pending.encoding
            assert encoding is not None
            if not encoding.done():
                return
            self._write(self._pending)
            self._pending = None
            if self._stopped:
                return
        self._start_next()

    def _ready(self) -> bool:
        """Whether the model has loaded on a device other than the CPU (and its space is
        there); starts loading it on a thread the first time."""
        if self.space is not None:
            return True
        if self._loading is None:
            if not self._has_backlog():
                return False  # a run that only deletes or touches files needs no model
            self._loading = threading.Thread(target=self._load, daemon=True)
            self._loading.start()
        if self._loading.is_alive():
            return False
        if not self._loaded_off_cpu:
            self._stopped = True
            return False
        assert self._make_space is not None
        try:
            self.space = self._make_space()
        except Exception:  # noqa: BLE001 - the embed phase meets it again and says why
            self._stopped = True
            return False
        return True

    def _has_backlog(self) -> bool:
        assert self.store is not None
        active = self.store.active_space()
        return active is None or bool(self.store.chunks_missing_vectors(active, 1))

    def _load(self) -> None:
        assert self.encoder is not None
        try:
            if not encodes_off_cpu(self.encoder):
                return  # on a CPU the phases would take turns on its cores
            self.encoder.dimension  # noqa: B018 - loads the model here, not on the writer
            chunks_per_commit(self.encoder)  # a GPU's batch is fitted to its memory here too
        except BaseException:  # noqa: BLE001 - nothing leaves this thread: the embed phase
            return  # meets it again, and says why
        self._loaded_off_cpu = True

    def _start_next(self) -> None:
        assert self.store is not None and self.space is not None and self.encoder is not None
        rows = self.store.chunks_missing_vectors(
            self.space, chunks_per_commit(self.encoder), self._after_id
        )
        if not rows:
            return
        self._after_id = rows[-1].id
        batch = BacklogBatch.read(self.store, self.space, rows, set())
        batch.encoding = BatchEncoding(self.encoder, batch.texts, self._counter, overlapped=True)
        self._pending = batch

    def _write(self, batch: BacklogBatch) -> None:
        assert self.store is not None and self.space is not None
        try:
            written = batch.write(self.store, self.space, {}, only_stored=True)
        except Exception:  # noqa: BLE001 - an encoder's failure; the embed phase meets it again
            self._stopped = True
            return
        self.embedded += min(written, len(batch.texts))
        self.reused += max(0, written - len(batch.texts))
