"""The first dense search after one file changes, in a warm engine, against a full reload.

A long-lived engine (serve, the TUI, eval, watch) keeps its vectors in memory. This script
warms an engine on a copy of a home, then several times replaces one document's chunks and
vectors the way `index` does for an edited file (in another connection, one transaction), and
times bringing the engine's copy up to date (what its next search does first) and that first
search with it (which also counts the chunks again for its coverage note). It then times a
full load of the vectors from SQLite, and checks that the refreshed copy searches exactly like
a freshly loaded one built with the same centre for its binary codes.

    python benchmarks/vector_refresh.py HOME_TO_COPY [--work DIR] [--changes 5]

HOME_TO_COPY is copied to --work first (it is never written); the synthetic collections of
benchmarks/query_latency.py are the intended input. Prints one line per change and a summary
line "refresh after one changed file: X ms, full reload: Y s", with the load average.

Figures of 2026-12-02 (issue 16), medians of 5 changes of a 4-chunk document, load 4-6:

    collection   refresh   first dense search   full reload   before (a reload per change)
    100k         9.8 ms    53.9 ms              3.5-6.4 s     2.3-3.6 s, median 2.8 s
    1M           5.6 ms    41.6 ms              42-82 s       22.7-85.6 s, median 39.7 s

The refreshed copies held the same chunk ids as a full load and gave the same top 100 for
20 of 20 queries. RSS did not move over the five changes (2,297-2,304 MiB at 1M).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

QUERY = "effects of vitamin d on bone density in older adults"


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def change_one_document(home: Path, document_number: int, rng: np.random.Generator) -> int:
    """Replace one document's chunks and vectors with new ones, as re-indexing an edited file
    does; returns how many chunks it now has."""
    from localsearch.config import load_settings
    from localsearch.index import embed_hash
    from localsearch.ingest.types import Chunk
    from localsearch.store import Store

    store = Store(load_settings(home).database_path)
    try:
        space = store.active_space()
        assert space is not None
        doc_id = store.document_id(f"/synthetic/doc{document_number:07d}.txt")
        assert doc_id is not None, document_number
        texts = [f"edited {document_number} part {i} {rng.integers(1 << 30)}" for i in range(4)]
        vectors = rng.standard_normal((len(texts), space.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with store.transaction():
            store.delete_chunks_of(doc_id, store.spaces())
            chunks = [Chunk(t, "", None, i + 1, i + 1) for i, t in enumerate(texts)]
            ids = store.insert_chunks(doc_id, chunks, [embed_hash(t) for t in texts])
            store.insert_vectors(space, ids, vectors)
            store.bump_data_version()
        return len(ids)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="a home to copy (never written)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/localsearch-refresh-bench"))
    parser.add_argument("--changes", type=int, default=5)
    args = parser.parse_args()

    from localsearch.config import load_settings
    from localsearch.search.engine import SearchEngine

    try:
        from localsearch.search.vector_sync import load_vector_index
    except ImportError:  # the code before the change log, for a before/after comparison
        from localsearch.search.vectors import load_vector_index  # type: ignore[attr-defined]

    home = args.work / args.home.name
    if home.exists():
        shutil.rmtree(home)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    shutil.copytree(args.home, home)
    print(f"copied {args.home} in {time.perf_counter() - started:.0f}s", flush=True)

    settings = load_settings(home)
    engine = SearchEngine(settings)
    try:
        started = time.perf_counter()
        engine.warm_up()
        print(
            f"warm_up (model and vectors): {time.perf_counter() - started:.1f}s,"
            f" RSS {resident_mib():.0f} MiB",
            flush=True,
        )
        engine.search(QUERY, mode="dense")
        documents = engine.store.count("documents")
        rng = np.random.default_rng(7)
        space = engine.store.active_space()
        assert space is not None
        refresh_ms, first_ms = [], []
        for change in range(args.changes):
            number = int(rng.integers(documents))
            change_one_document(home, number, rng)
            started = time.perf_counter()
            # What the search would do first: notice the change, refresh (or reload).
            engine._look_for_changes()
            engine._vectors_for(space)
            refreshed = time.perf_counter()
            results = engine.search(QUERY, mode="dense")
            took = (time.perf_counter() - started) * 1000
            warm = engine.search(QUERY, mode="dense").elapsed_ms
            refresh_ms.append((refreshed - started) * 1000)
            first_ms.append(took)
            print(
                f"change {change + 1} (doc{number:07d}): vectors brought up to date in"
                f" {refresh_ms[-1]:9.1f} ms, with the first dense search {took:9.1f} ms,"
                f" the next {warm:6.1f} ms, {len(results.hits)} hits, RSS {resident_mib():.0f} MiB"
                f"  load {load_average()}",
                flush=True,
            )
        started = time.perf_counter()
        fresh = load_vector_index(engine.store, space)
        reload_s = time.perf_counter() - started
        print(f"full reload: {reload_s:.1f}s  load {load_average()}", flush=True)
        compare_with_fresh(engine, fresh)
    finally:
        engine.close()
    print(
        f"refresh after one changed file: {np.median(refresh_ms):.1f} ms, first dense search"
        f" with it {np.median(first_ms):.1f} ms (medians of {len(refresh_ms)}),"
        f" full reload: {reload_s:.1f} s  load {load_average()}"
    )
    shutil.rmtree(home)


def compare_with_fresh(engine, fresh) -> None:  # type: ignore[no-untyped-def]
    """Whether the engine's refreshed copy holds and finds what a fresh load does."""
    from localsearch.search.vectors import VectorIndex

    refreshed = engine._vectors
    if refreshed is None or not hasattr(refreshed, "apply_changes"):  # older code
        return
    same_rows = sorted(refreshed.chunk_ids.tolist()) == sorted(fresh.chunk_ids.tolist())
    # The refreshed copy keeps the centre of its last full load; give the fresh one the same.
    same_centre = VectorIndex(
        fresh.chunk_ids, fresh.document_ids, fresh.matrix, centre=refreshed.centre
    )
    rng = np.random.default_rng(11)
    queries = fresh.matrix[rng.integers(0, len(fresh), 20)]
    agree = sum(refreshed.search(q, 100) == same_centre.search(q, 100) for q in queries)
    print(f"same chunk ids as a full load: {same_rows}; identical top-100 for {agree}/20 queries")


if __name__ == "__main__":
    main()
