"""The SQL adapt needs: synthetic queries per generator, and the history of active models.

Kept beside database.py rather than in it so that adapt's tables can change without touching
the indexer's queries. Functions take a Store and run inside the caller's transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from localsearch.store.database import Store

MODEL_HISTORY_KEY = "model_history"
HISTORY_LENGTH = 20


@dataclass(frozen=True)
class StoredQuery:
    chunk_id: int
    query: str
    kind: str


def stored_queries(store: Store, generator: str) -> list[StoredQuery]:
    rows = store.conn.execute(
        "SELECT chunk_id, query, kind FROM synthetic_queries WHERE generator = ? ORDER BY id",
        (generator,),
    )
    return [StoredQuery(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def chunks_with_queries(store: Store, generator: str) -> set[int]:
    rows = store.conn.execute(
        "SELECT DISTINCT chunk_id FROM synthetic_queries WHERE generator = ?", (generator,)
    )
    return {int(r[0]) for r in rows}


def add_queries(store: Store, generator: str, queries: Iterable[StoredQuery]) -> int:
    now = time.time()
    count = 0
    for query in queries:
        store.conn.execute(
            "INSERT INTO synthetic_queries(chunk_id, generator, query, kind, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (query.chunk_id, generator, query.query, query.kind, now),
        )
        count += 1
    return count


def replace_queries(store: Store, generator: str, queries: Sequence[StoredQuery]) -> int:
    """Swap a generator's queries for a fresh set (the model-free one recomputes them all)."""
    store.conn.execute("DELETE FROM synthetic_queries WHERE generator = ?", (generator,))
    return add_queries(store, generator, queries)


def generators(store: Store) -> dict[str, int]:
    """Stored query counts per generator."""
    rows = store.conn.execute(
        "SELECT generator, COUNT(*) FROM synthetic_queries GROUP BY generator ORDER BY generator"
    )
    return {str(r[0]): int(r[1]) for r in rows}


def model_history(store: Store) -> list[str]:
    """Names of the models made active, oldest first (the last one is active now)."""
    raw = store.get_meta(MODEL_HISTORY_KEY)
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(v) for v in value if isinstance(v, str)]


def set_model_history(store: Store, names: Sequence[str]) -> None:
    store.set_meta(MODEL_HISTORY_KEY, json.dumps(list(names)[-HISTORY_LENGTH:]))


def record_activation(store: Store, model: str) -> None:
    history = model_history(store)
    if history and history[-1] == model:
        return
    set_model_history(store, [*history, model])
