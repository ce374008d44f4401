"""An engine's in-memory vectors follow the index by reading only what changed.

Each test changes a small store the ways indexing does (a file edited, deleted, re-embedded,
the embed backlog filling in, a chunk id reused) and checks that the refreshed copy holds
exactly what a full load would: the same chunk ids, documents and vectors, and the same
search results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import localsearch.search.vector_sync as vector_sync
import localsearch.store.database as database
from localsearch.index import embed_hash
from localsearch.ingest.types import Chunk
from localsearch.search.vector_sync import load_vector_index, refresh_vector_index
from localsearch.search.vectors import VectorIndex
from localsearch.store import EmbeddingSpace, Store

DIMENSION = 16


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Collection:
    """A store with documents of a few chunks each, written as the indexer writes them."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path / "index.db")
        self.seed = 0
        with self.store.transaction():
            self.space = self.store.create_space("fake", "", DIMENSION, "f")
            self.store.activate_space(self.space)

    def write(self, name: str, chunks: int, *, embed: bool = True) -> list[int]:
        """(Re)write document `name` with new chunks; returns their ids."""
        store = self.store
        self.seed += 1
        texts = [f"{name} {self.seed} part {i}" for i in range(chunks)]
        with store.transaction():
            doc_id = store.document_id(name)
            if doc_id is not None:
                store.delete_chunks_of(doc_id, store.spaces())
            doc_id = store.upsert_document(
                root_id=None,
                path=name,
                size=1,
                mtime_ns=self.seed,
                content_hash=str(self.seed),
                doc_type="txt",
                title=name,
            )
            items = [Chunk(t, "", None, i + 1, i + 1) for i, t in enumerate(texts)]
            ids = store.insert_chunks(doc_id, items, [embed_hash(t) for t in texts])
            if embed:
                store.insert_vectors(self.space, ids, unit_vectors(len(ids), self.seed))
            store.bump_data_version()
        return ids

    def embed(self, chunk_ids: list[int], *, replace: bool = False) -> None:
        self.seed += 1
        with self.store.transaction():
            if replace:  # vec0 has no INSERT OR REPLACE: the old vectors go first
                self.store._delete_vectors(chunk_ids, [self.space])
            vectors = unit_vectors(len(chunk_ids), self.seed)
            self.store.insert_vectors(self.space, chunk_ids, vectors)
            self.store.bump_vectors_version()

    def delete(self, name: str) -> None:
        doc_id = self.store.document_id(name)
        assert doc_id is not None
        with self.store.transaction():
            self.store.delete_documents([doc_id], self.store.spaces())
            self.store.bump_data_version()


@pytest.fixture
def collection(tmp_path: Path) -> Collection:
    collection = Collection(tmp_path)
    for number in range(6):
        collection.write(f"doc{number}.txt", 3)
    yield collection
    collection.store.close()


def rows(vectors: VectorIndex) -> tuple[list[int], list[int], np.ndarray]:
    order = np.argsort(vectors.chunk_ids)
    return (
        vectors.chunk_ids[order].tolist(),
        vectors.document_ids[order].tolist(),
        vectors.matrix[order],
    )


def assert_same_as_a_full_load(vectors: VectorIndex, store: Store, space: EmbeddingSpace) -> None:
    fresh = load_vector_index(store, space)
    ids, documents, matrix = rows(vectors)
    fresh_ids, fresh_documents, fresh_matrix = rows(fresh)
    assert (ids, documents) == (fresh_ids, fresh_documents)
    assert np.array_equal(matrix, fresh_matrix)
    for query in unit_vectors(5, 99):
        assert vectors.search(query, 7) == fresh.search(query, 7)
    everything = fresh.chunk_ids.tolist() + [10_000]
    assert vectors.owners(everything) == fresh.owners(everything)
    assert vectors.openings_among(everything) == fresh.openings_among(everything)
    stored = store.chunks_by_id(fresh.chunk_ids.tolist())
    assert fresh.openings_among(everything) == {i for i, c in stored.items() if c.ordinal == 0}
    assert vectors.log_position == fresh.log_position


def refreshed(collection: Collection, vectors: VectorIndex) -> VectorIndex:
    """Refresh in place, failing if it would have needed a full load."""
    assert refresh_vector_index(collection.store, collection.space, vectors)
    assert_same_as_a_full_load(vectors, collection.store, collection.space)
    return vectors


def test_an_unchanged_index_is_current(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    before = rows(vectors)
    assert refresh_vector_index(collection.store, collection.space, vectors)
    assert rows(vectors)[0] == before[0]


def test_the_change_key_moves_after_a_commit_by_any_connection(collection: Collection) -> None:
    reader = Store(collection.store.path)  # a search engine's own connection
    try:
        key = reader.change_key()
        assert reader.change_key() == key  # nothing committed, nothing read again
        seen = [key]
        collection.write("doc2.txt", 2)  # an edit, by another connection
        seen.append(reader.change_key())
        collection.embed(collection.write("doc9.txt", 2, embed=False))  # the backlog filled
        seen.append(reader.change_key())
        collection.embed(collection.store.chunk_ids_of([1]), replace=True)  # a re-embed
        seen.append(reader.change_key())
        collection.delete("doc3.txt")
        seen.append(reader.change_key())
        with reader.transaction():  # this connection's own write
            reader.set_meta("note", "x")
        seen.append(reader.change_key())
    finally:
        reader.close()
    assert len(set(seen)) == len(seen)


def test_edits_deletions_and_new_files_are_read_incrementally(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    collection.write("doc2.txt", 5)  # an edited file: its chunks replaced, one more of them
    refreshed(collection, vectors)
    collection.delete("doc0.txt")
    refreshed(collection, vectors)
    collection.write("new.txt", 2)
    collection.write("doc4.txt", 1)
    collection.delete("doc5.txt")
    refreshed(collection, vectors)  # several changes at once
    assert len(vectors) == 3 + 5 + 3 + 1 + 2


def test_re_embedding_replaces_vectors_in_place(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    ids = collection.store.chunk_ids_of([collection.store.document_id("doc3.txt")])
    collection.embed(ids, replace=True)
    refreshed(collection, vectors)
    assert len(vectors) == 18


def test_the_embed_backlog_is_picked_up_as_it_fills(collection: Collection) -> None:
    ids = collection.write("big.txt", 6, embed=False)
    vectors = load_vector_index(collection.store, collection.space)
    assert len(vectors) == 18
    collection.embed(ids[:2])
    assert set(ids[:2]) <= set(refreshed(collection, vectors).chunk_ids.tolist())
    collection.embed(ids[2:])
    assert len(refreshed(collection, vectors)) == 24


def test_a_reused_chunk_id_gets_its_new_vector_and_document(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    last = max(vectors.chunk_ids.tolist())
    collection.delete("doc5.txt")  # holds the highest chunk ids, which SQLite then reuses
    (reused, *_) = collection.write("other.txt", 3)
    assert reused == last - 2
    refreshed(collection, vectors)
    assert vectors.owners([last]) == {last: collection.store.document_id("other.txt")}


def test_a_reused_chunk_id_without_a_vector_yet_is_not_found(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    collection.delete("doc5.txt")
    collection.write("other.txt", 3, embed=False)  # same ids, vectors still to come
    refreshed(collection, vectors)
    assert len(vectors) == 15


def test_chunks_deleted_by_a_cascade_lose_their_document(collection: Collection) -> None:
    vectors = load_vector_index(collection.store, collection.space)
    with collection.store.transaction():  # no Store method: the chunks go by ON DELETE CASCADE
        collection.store.conn.execute("DELETE FROM documents WHERE path = 'doc1.txt'")
    refreshed(collection, vectors)
    assert -1 in vectors.document_ids.tolist()  # vectors left without a chunk, as a load sees


def test_copied_vectors_or_a_dropped_space_need_a_full_load(collection: Collection) -> None:
    store = collection.store
    vectors = load_vector_index(store, collection.space)
    with store.transaction():
        other = store.create_space("other", "", DIMENSION, "o")
    assert refresh_vector_index(store, collection.space, vectors)  # nothing of ours changed
    with store.transaction():
        store.copy_vectors(other, collection.space)
    assert not refresh_vector_index(store, collection.space, vectors)
    vectors = load_vector_index(store, other)
    with store.transaction():
        store.drop_space(other)
        again = store.create_space("other", "", DIMENSION, "g")
    assert again.table == other.table  # the dropped space's id, reused
    assert not refresh_vector_index(store, again, vectors)
    assert not refresh_vector_index(store, collection.space, load_vector_index(store, again))


def test_a_copy_further_behind_than_the_log_reaches_is_loaded_again(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "VECTOR_LOG_KEEP", 10)
    vectors = load_vector_index(collection.store, collection.space)
    collection.write("doc1.txt", 3)
    collection.write("doc2.txt", 3)
    assert not refresh_vector_index(collection.store, collection.space, vectors)
    kept = collection.store.conn.execute("SELECT COUNT(*) FROM vector_changes").fetchone()[0]
    assert kept < 2 * 10
    vectors = load_vector_index(collection.store, collection.space)
    collection.write("doc3.txt", 1)
    refreshed(collection, vectors)


def test_a_large_change_is_read_by_a_full_load(
    collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_sync, "REFRESH_MIN_ROWS", 0)
    vectors = load_vector_index(collection.store, collection.space)
    collection.write("doc1.txt", 3)  # 6 of 18 chunks: a third, over REFRESH_FRACTION
    assert not refresh_vector_index(collection.store, collection.space, vectors)


# -- the VectorIndex alone, past the exact-search size -------------------------------------


@pytest.mark.parametrize("exact_limit", [10_000, 50])
def test_apply_changes_gives_what_building_anew_gives(exact_limit: int) -> None:
    rng = np.random.default_rng(5)
    matrix = unit_vectors(400, 1)
    chunk_ids = rng.permutation(1000)[:400]
    documents = chunk_ids // 4
    vectors = VectorIndex(chunk_ids, documents, matrix, exact_limit=exact_limit)
    held = dict(zip(chunk_ids.tolist(), zip(documents.tolist(), matrix, strict=True), strict=True))
    for step in range(30):
        removed = rng.choice(1200, size=int(rng.integers(0, 40)), replace=False)
        added = rng.choice(1200, size=int(rng.integers(0, 40)), replace=False)  # ids reused too
        new_matrix = unit_vectors(len(added), 100 + step)
        vectors.apply_changes(np.concatenate([removed, added]), added, added // 4, new_matrix)
        for chunk_id in removed.tolist() + added.tolist():
            held.pop(chunk_id, None)
        for chunk_id, vector in zip(added.tolist(), new_matrix, strict=True):
            held[chunk_id] = (chunk_id // 4, vector)
        ids = sorted(held)
        fresh = VectorIndex(
            np.array(ids),
            np.array([held[i][0] for i in ids]),
            np.stack([held[i][1] for i in ids]),
            exact_limit=exact_limit,
            centre=vectors.centre,
        )
        assert rows(vectors)[:2] == rows(fresh)[:2]
        assert np.array_equal(rows(vectors)[2], rows(fresh)[2])
        assert vectors.exact == fresh.exact
        if not vectors.exact:
            assert np.array_equal(
                vectors.codes[:, np.argsort(vectors.chunk_ids)],
                fresh.codes,  # type: ignore[index]
            )
        for query in unit_vectors(3, 500 + step):
            assert vectors.search(query, 10) == fresh.search(query, 10)
        assert vectors.owners(list(range(1200))) == fresh.owners(list(range(1200)))


def test_growing_past_the_exact_limit_builds_codes_and_a_large_change_a_new_centre() -> None:
    vectors = VectorIndex(np.arange(10), np.zeros(10), unit_vectors(10, 1), exact_limit=20)
    assert vectors.codes is None
    vectors.apply_changes([], np.arange(10, 30), np.zeros(20), unit_vectors(20, 2))
    assert vectors.codes is not None and vectors.changed_since_centre == 0
    assert np.allclose(vectors.centre, vectors.matrix.mean(axis=0))
    vectors.apply_changes([0, 1], np.array([], dtype=np.int64), [], np.empty((0, DIMENSION)))
    assert vectors.changed_since_centre == 2  # a small change keeps the centre
    vectors.apply_changes(np.arange(2, 12), np.array([], dtype=np.int64), [], np.empty((0, 16)))
    assert vectors.codes is None  # back under the limit: exact search again


def test_a_batch_reads_as_much_of_the_log_however_long_it_is(collection: Collection) -> None:
    """Each batch of chunks or vectors looks at the log's two ends to trim it: a scan of the
    whole log would make each batch slower as an index grows (13 ms at 400k rows)."""
    store = collection.store

    def steps_of_a_batch() -> int:
        steps = 0

        def count() -> bool:
            nonlocal steps
            steps += 1
            return False  # go on

        store.conn.set_progress_handler(count, 100)
        try:
            with store.transaction():
                store.bump_data_version()
        finally:
            store.conn.set_progress_handler(None)
        return steps

    def log_rows(count: int) -> None:
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO vector_changes(chunk_id) VALUES (?)", ((1,) for _ in range(count))
            )

    log_rows(2_000)
    short = steps_of_a_batch()
    log_rows(60_000)
    assert steps_of_a_batch() <= short + 2
