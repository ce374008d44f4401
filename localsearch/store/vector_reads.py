"""The SQL that reads vectors back for dense search: a space's whole matrix for the in-memory
copy (search/vectors.py), the changed rows that bring that copy up to date
(search/vector_sync.py), and sqlite-vec's nearest neighbours for a search without one.

Kept beside database.py rather than in it because only search, and adapt's mining, ask for
them; the Store writes the vectors, keeps their change log and finds one to reuse for text
already embedded (vectors_by_embed_hash). Functions take a Store and read inside the caller's
snapshot where they must agree with another read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from localsearch.store.database import EmbeddingSpace, Store, vector_blob


class VectorRows(NamedTuple):
    """Rows of an embedding space with what an in-memory copy keeps beside each vector."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    openings: np.ndarray  # bool: the chunk is its document's first
    matrix: np.ndarray


def vector_matrix(store: Store, space: EmbeddingSpace) -> tuple[np.ndarray, np.ndarray]:
    """All vectors of a space as (chunk_ids, matrix) for exact in-memory search.

    Read row by row into arrays sized by a count first: at a million chunks, holding
    every blob and then a joined copy would take three times the matrix's 1.5 GB."""
    counted = store.conn.execute(f"SELECT COUNT(*) FROM {space.table}").fetchone()
    count = int(counted[0]) if counted else 0
    chunk_ids = np.empty(count, dtype=np.int64)
    matrix = np.empty((count, space.dimension), dtype=np.float32)
    row = 0
    for chunk_id, blob in store.conn.execute(f"SELECT chunk_id, embedding FROM {space.table}"):
        if row == count:  # rows added since the count: the next read picks them up
            break
        chunk_ids[row] = chunk_id
        matrix[row] = np.frombuffer(blob, dtype=np.float32)
        row += 1
    if row == count:  # whole arrays, not views: an in-memory copy may grow them in place
        return chunk_ids, matrix
    return chunk_ids[:row], matrix[:row]


def opening_chunk_ids(store: Store) -> np.ndarray:
    """The ids of every document's first chunk, for the flag an in-memory copy keeps beside
    each vector that vector_matrix() reads."""
    rows = store.conn.execute("SELECT id FROM chunks WHERE ordinal = 0")
    return np.fromiter((int(r[0]) for r in rows), dtype=np.int64)


def vector_rows(store: Store, space: EmbeddingSpace, chunk_ids: Iterable[int]) -> VectorRows:
    """Those of `chunk_ids` with a vector in `space`, document -1 for a vector whose chunk
    is gone, as vector_matrix() and the chunks table give."""
    found_ids: list[int] = []
    found_documents: list[int] = []
    openings: list[bool] = []
    blobs: list[bytes] = []
    for chunk_id in chunk_ids:
        # One point query each: vec0 looks a chunk_id up by key, where IN (...) scans.
        row = store.conn.execute(
            f"SELECT embedding FROM {space.table} WHERE chunk_id = ?", (chunk_id,)
        ).fetchone()
        if row is None:
            continue
        owner = store.conn.execute(
            "SELECT document_id, ordinal FROM chunks WHERE id = ?", (chunk_id,)
        ).fetchone()
        found_ids.append(int(chunk_id))
        found_documents.append(int(owner[0]) if owner else -1)  # type: ignore[arg-type]
        openings.append(bool(owner) and owner[1] == 0)  # type: ignore[index]
        blobs.append(bytes(row[0]))  # type: ignore[arg-type]
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, space.dimension)
    return VectorRows(
        np.array(found_ids, dtype=np.int64),
        np.array(found_documents, dtype=np.int64),
        np.array(openings, dtype=bool),
        matrix.copy(),
    )


def knn(store: Store, space: EmbeddingSpace, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Nearest chunks by cosine distance, via sqlite-vec's vec0 KNN."""
    rows = store.conn.execute(
        f"SELECT chunk_id, distance FROM {space.table} WHERE embedding MATCH ? AND k = ?"
        " ORDER BY distance",
        (vector_blob(query), k),
    )
    return [(int(r[0]), float(r[1])) for r in rows]


def knn_filtered(
    store: Store,
    space: EmbeddingSpace,
    query: np.ndarray,
    k: int,
    where: str,
    params: Sequence[object],
) -> list[tuple[int, float]]:
    """Exact nearest chunks among those passing a documents/chunks filter."""
    rows = store.conn.execute(
        f"SELECT c.id, vec_distance_cosine(v.embedding, ?) AS distance FROM chunks c"
        f" JOIN documents d ON d.id = c.document_id JOIN {space.table} v ON v.chunk_id = c.id"
        f" WHERE {where} ORDER BY distance LIMIT ?",
        (vector_blob(query), *params, k),
    )
    return [(int(r[0]), float(r[1])) for r in rows]
