"""Keeping an in-memory VectorIndex in step with the store.

A long-lived engine loads a space's vectors once (16-40 s at a million chunks). After that,
the store's vector change log (migration 7) lists the chunk ids whose vector or document may
have changed since, so bringing the copy up to date reads only those: an edited file, a
deleted one, a batch of the embed backlog. A chunk id SQLite reused after a delete is in the
log too, so its old row goes and its new one comes. The whole space is read again only when
the log cannot say what changed (it was trimmed past the copy, or vectors were copied or a
space dropped) or when so much changed that one scan is faster than looking each row up.
"""

from __future__ import annotations

import numpy as np

from localsearch.search.vectors import VectorIndex
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.vector_reads import opening_chunk_ids, vector_matrix, vector_rows

# Up to this many changed chunks, or this share of the copy, are looked up one by one (~50 us
# each at 100k chunks, about what a full load spends per row); past that a full load is as
# quick and computes the binary codes' centre anew.
REFRESH_MIN_ROWS = 1_000
REFRESH_FRACTION = 0.2


def load_vector_index(store: Store, space: EmbeddingSpace) -> VectorIndex:
    """Read every vector of a space, with each chunk's document and whether it opens it, into a
    VectorIndex."""
    with store.snapshot():
        position = store.vector_log_position()
        chunk_ids, matrix = vector_matrix(store, space)
        owners = store.chunk_documents()
        openings = np.isin(chunk_ids, opening_chunk_ids(store))
    document_ids = np.fromiter(
        (owners.get(int(c), -1) for c in chunk_ids), np.int64, len(chunk_ids)
    )
    del owners
    vectors = VectorIndex(chunk_ids, document_ids, matrix, openings=openings)
    vectors.space_id, vectors.log_position = space.id, position
    return vectors


def refresh_vector_index(store: Store, space: EmbeddingSpace, vectors: VectorIndex) -> bool:
    """Bring `vectors` up to date with the store in place; False when it needs a full load."""
    with store.snapshot():
        position = store.vector_log_position()
        if vectors.space_id != space.id or vectors.log_position is None:
            return False
        if position == vectors.log_position:
            return True
        if position.generation != vectors.log_position.generation:
            return False
        changed = store.vector_changes_since(vectors.log_position.seq)
        if changed is None or len(changed) > max(REFRESH_MIN_ROWS, REFRESH_FRACTION * len(vectors)):
            return False
        rows = vector_rows(store, space, changed)
    vectors.apply_changes(changed, rows.chunk_ids, rows.document_ids, rows.matrix, rows.openings)
    vectors.log_position = position
    return True
