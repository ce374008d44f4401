"""The embed backlog on a GPU (issue 16): commits as large as the GPU's fitted batch takes
several times over, the next batch encoded while the last one is written, and finding the
backlog at a cost that does not grow with the vectors already stored. A stand-in encoder says
it runs on cuda, so the GPU's path runs here on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
from gpu_stand_in import GpuLike, vector_of

from localsearch.embed_backlog import BACKLOG_BATCH, chunks_per_commit, embed_backlog
from localsearch.index import Index
from localsearch.store.vector_reads import vector_matrix

PARAGRAPHS = [f"Paragraph {i} is about topic number {i} and nothing else at all." for i in range(9)]


def indexed_text(settings, make_docs, files: dict[str, str]) -> Index:
    """An index of `files` whose text is committed and which has an empty space to fill."""
    index = Index(settings, encoder_factory=lambda reference: GpuLike([], delay=0))
    index.update([make_docs(files)])
    return index


def paragraphs_indexed(settings, make_docs, monkeypatch, *, per_commit: int) -> Index:
    """indexed_text of the nine PARAGRAPHS, one file each, with `per_commit` chunks a commit."""
    monkeypatch.setattr("localsearch.embed_backlog.BACKLOG_BATCH", per_commit)
    return indexed_text(settings, make_docs, {f"p{i}.txt": p for i, p in enumerate(PARAGRAPHS)})


def fresh_space(index: Index):
    with index.store.transaction():
        return index.store.create_space("stand-in", "stand-in", 8, f"fresh-{id(object())}")


def logged_writes(index: Index, log: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    insert = index.store.insert_vectors

    def logging_insert(space, chunk_ids, vectors):
        log.append(f"write {sum(line.startswith('write') for line in log)}")
        insert(space, chunk_ids, vectors)

    monkeypatch.setattr(index.store, "insert_vectors", logging_insert)


def test_a_gpu_s_grown_batch_grows_each_commit_as_many_times() -> None:
    gpu = GpuLike([])
    gpu.batch_size, gpu.device_batch_size = 64, 1024
    assert chunks_per_commit(gpu) == BACKLOG_BATCH * 16
    cpu = GpuLike([], device="cpu")
    cpu.batch_size = cpu.device_batch_size = 64
    assert chunks_per_commit(cpu) == BACKLOG_BATCH


def test_on_a_gpu_each_encoding_gets_a_whole_grown_commit(settings, make_docs, monkeypatch):
    index = paragraphs_indexed(settings, make_docs, monkeypatch, per_commit=2)
    try:
        encoder = GpuLike([], delay=0)
        encoder.batch_size, encoder.device_batch_size = 2, 4  # a commit of 2 x 2
        embed_backlog(index.store, fresh_space(index), encoder)
        assert [len(c) for c in encoder.calls] == [4, 4, 1]
    finally:
        index.close()


def test_on_a_gpu_the_next_batch_is_encoded_while_the_last_is_written(
    settings, make_docs, monkeypatch
):
    index = paragraphs_indexed(settings, make_docs, monkeypatch, per_commit=3)
    try:
        log: list[str] = []
        logged_writes(index, log, monkeypatch)
        space = fresh_space(index)
        result = embed_backlog(index.store, space, GpuLike(log))
        for n in (0, 1):  # batch n is written while batch n + 1 is on the device
            assert log.index(f"encode {n} ends") < log.index(f"encode {n + 1} starts")
            assert log.index(f"encode {n + 1} starts") < log.index(f"encode {n + 1} ends")
            assert log.index(f"write {n}") < log.index(f"encode {n + 1} ends")
        assert log[-1] == "write 2"
        assert (result.embedded, result.reused) == (9, 0)
        assert index.store.count_vectors(space) == 9

        log.clear()  # on a CPU, in turn
        embed_backlog(index.store, fresh_space(index), GpuLike(log, device="cpu"))
        assert log == [
            line
            for n in range(3)
            for line in (f"encode {n} starts", f"encode {n} ends", f"write {n}")
        ]
    finally:
        index.close()


def test_overlapped_batches_store_the_same_vectors_and_reuse_text_still_in_flight(
    settings, make_docs, monkeypatch
):
    monkeypatch.setattr("localsearch.embed_backlog.BACKLOG_BATCH", 2)
    # Each file is one chunk, by path: the same text in files 1, 2 and 3 spans two batches.
    same = "The very same paragraph, copied into three files word for word."
    files = {"f0.txt": PARAGRAPHS[0], "f1.txt": same, "f2.txt": same, "f3.txt": same}
    index = indexed_text(settings, make_docs, files)
    try:
        stored = {}
        for overlap in (False, True):
            encoder = GpuLike([], delay=0.02)
            space = fresh_space(index)
            result = embed_backlog(index.store, space, encoder, overlap=overlap)
            assert (result.embedded, result.reused) == (2, 2)
            assert sorted(t for call in encoder.calls for t in call).count(same) == 1
            ids, vectors = vector_matrix(index.store, space)
            stored[overlap] = dict(zip(ids.tolist(), vectors.tolist(), strict=True))
        assert len(stored[True]) == 4
        assert stored[True] == stored[False]
    finally:
        index.close()


def test_a_failure_on_the_gpu_keeps_what_was_written_and_reaches_the_caller(
    settings, make_docs, monkeypatch
):
    index = paragraphs_indexed(settings, make_docs, monkeypatch, per_commit=3)
    try:
        encoder = GpuLike([])
        encoder.fail_on_call = 2
        space = fresh_space(index)
        with pytest.raises(RuntimeError, match="CUDA out of memory"):
            embed_backlog(index.store, space, encoder)
        assert index.store.count_vectors(space) == 6
        resumed = embed_backlog(index.store, space, GpuLike([]))
        assert (resumed.embedded, index.store.count_vectors(space)) == (3, 9)
    finally:
        index.close()


def sqlite_steps(index: Index, work) -> int:
    """SQLite's virtual-machine instructions that `work()` runs (counted in tens)."""
    steps = 0

    def count() -> bool:
        nonlocal steps
        steps += 1
        return False

    index.store.conn.set_progress_handler(count, 10)
    try:
        work()
    finally:
        index.store.conn.set_progress_handler(None)
    return steps


def test_finding_the_backlog_does_not_read_every_stored_vector(settings, make_docs):
    files = {f"n{i:03}.txt": f"Note {i}: a line about subject {i}." for i in range(240)}
    index = indexed_text(settings, make_docs, files)
    try:
        store = index.store
        space = fresh_space(index)
        ids = [row.id for row in store.chunks_missing_vectors(space, 1000)]
        assert len(ids) == 240
        tail = ids[-6]

        def store_vectors(first: int, last: int) -> None:
            chosen = ids[first:last]
            with store.transaction():
                store.insert_vectors(space, chosen, np.stack([vector_of(str(i)) for i in chosen]))

        store_vectors(0, 20)
        few = sqlite_steps(index, lambda: store.chunks_missing_vectors(space, 3, tail))
        store_vectors(20, 230)
        many = sqlite_steps(index, lambda: store.chunks_missing_vectors(space, 3, tail))
        assert [r.id for r in store.chunks_missing_vectors(space, 3, tail)] == ids[-5:-2]
        # The next few chunks cost the same however many vectors are stored: `NOT IN` the
        # vec0 table read all of them on every call: 9 times the work here.
        assert many < few * 2
    finally:
        index.close()
