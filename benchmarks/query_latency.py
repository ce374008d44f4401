"""Query latency per search mode, on SciFact and on synthetic collections of 100k and 1M chunks.

For each collection it prints p50/p95 in milliseconds for bm25, dense and hybrid searches
(k=10, snippets included, the model already loaded), for the one-shot path (sqlite-vec's KNN,
what a single CLI search uses) and the warm path (vectors in memory, what the TUI and eval
use), plus the recall@10 of each dense path against exact search. For hybrid it splits each
query into its parts (query encoding, vector search, BM25, fusion, snippets; p50 of each, from
SearchResults.parts_ms), prints a plain numpy exact search on the same vectors as the yardstick
with the ratios to it, and the RSS the resident vectors add.

The synthetic collections reuse SciFact's vectors so that nearest-neighbour structure is like
real text embeddings: each synthetic chunk is a normalised blend of two real chunk vectors plus
a little noise, and its text is drawn from SciFact's vocabulary by frequency. Queries are the
SciFact test queries. Collections are built once into --cache and reused.

    python benchmarks/query_latency.py [--sizes 100000,1000000] [--queries 200] [--threads 2]
        [--paths one-shot,warm] [--cache DIR]

Each latency line also prints the search's CPU time (this process, BM25's worker thread
included) and the load average: on the shared 2-core machine wall time is CPU time plus the
wait for a core. The numpy yardstick runs on one BLAS thread, as the search does.

Figures of 2026-12-02 (issue 16), warm path (vectors in memory after warm_up(), what serve,
the TUI and eval use), p50/p95 ms, 200 queries, k=10 with snippets; "before" are the figures
of 2026-11-22, taken while other jobs used about one core:

    collection    hybrid       cpu p50  dense recall@10  numpy exact  load  before (11-22)
    scifact 9.5k  9.7/12.4     9.8      0.998            0.4          2.5   15.3/18.7
    100k          12.9/17.1    12.8     0.994            6.2          2.5   19.4/32.4
    1M            43.5/69.0    33.0     0.990            100.9        3.8   54.8/72.9
    1M again      37.8/57.4    29.7     0.990            124.4        4.8

The same collections at 11:05 UTC with nothing else running (after the packed encoder and the
change-log refresh): SciFact 9.7/12.8 (cpu 11.3, recall 1.000, load 1.0), 100k 12.7/16.5
(cpu 16.3, 0.998, load 1.5), 1M 19.2/29.0 (cpu 31.4, 0.993, numpy exact 57.6, load 1.2).

Parts of a warm hybrid search (p50 ms, same runs): SciFact encode 5.5, vectors 1.1, BM25 1.3,
fusion 0.6, snippets 1.1; 100k 7.5 / 2.4 / 2.8 / 0.8 / 1.0; 1M 13.3 / 19.5 / 33.7 / 1.2 / 1.2
(BM25 runs beside the encoding on a worker thread, so its time overlaps the others'). The
same-load A/B on SciFact against the code before issue 16's changes (load 2.4-2.7): hybrid p50
20.4 and 24.4 ms before (CPU 17.0), 11.6 and 8.2 ms after (CPU 9.3 and 8.4). Hybrid p50 against
the one-thread numpy exact search: 0.43 at 1M, 2.1 at 100k; at SciFact size the exact search
is 0.4 ms and the query's encoding alone is over ten times that.

SciFact again at 14:26 UTC (load 0.8) after the search path's own cuts (one look for
changes a search, BM25's chunk ids from the fast field) and the encoder's one-text path:
7.4/10.3 (cpu 8.7, recall 1.000); parts encode 4.7, vectors 0.9, BM25 1.3, fusion 0.5,
snippets 1.0.

At 14:49 UTC, idle (load 0.7-1.0), after the search-path cuts, the one-text encoder path and the
folder-read encoder: SciFact 5.3/7.0 (cpu 6.3; encode 3.4, vectors 0.7, BM25 1.0, fusion 0.4,
snippets 0.6), 100k 8.3/11.2 (cpu 10.8), 1M 22.2/33.3 (cpu 35.6, recall 0.992, numpy exact
69.5); SciFact again at 14:56, same code, 6.6/8.4 (encode 4.2), and 8.7-9.7 in four runs at 15:12
(encode 5.5-6.2, load 0.9-1.0): the machine's speed drifts.

Against the targets (5 / 15 / 40 ms): 100k is met; 1M is met in one of two runs (37.8 ms)
and missed by 3.5 ms in the other; SciFact misses by ~5 ms.
What is left at SciFact is the query's encoding: ~4.4 ms of CPU on one core for a 20-token
query through MiniLM's six layers in bf16 (embed/plain_bert.py, down from 10.9 through
SentenceTransformer.encode), ~60% of it in the 24 matrix products; two threads are slower for
so few tokens in bf16 (in fp32, on a CPU without native bf16, they pay: README). At 1M it
is BM25 (~13 ms of CPU, 30+ ms wall under load: every common word of
the query scores most of a million chunks; dropping function words halves it but lowered
ranking quality when measured, README "ranking levers") and the binary prefilter (11.5 ms).
On the next session's machine (Ice Lake, no native bf16, so fp32; 18:39 UTC, load 0.8-1.1),
after two-thread query encoding where it pays (search/query_threads.py): SciFact 18.8/24.9
(encode 11.1, vectors 3.1, BM25 2.2, fusion 1.0, snippets 1.5; numpy exact 1.4), 100k
21.4/30.8 (numpy exact 19.2), 1M 48.4/72.3 (recall 0.992, numpy exact 193.3, RSS +1527 MiB,
loaded in 22 s). That machine's memory is about 2.5x slower (numpy exact at 1M 193 against
76 ms) and its fp32 encoding about 2x slower than the bf16 one's, so no target is met there.
2026-12-05 00:16-00:22 UTC, idle (load 0.6-1.3), after file-name numbers in BM25 (search/engine
passes the typed query to tantivy_index): SciFact 9.8-11.3 (encode 5.4-7.9), 100k 14.4/18.8
(recall 0.998), 1M 35.4/50.2 (recall 0.991, numpy exact 134.0, RSS +1531 MiB, loaded in
15.3 s). The machine was slower than the day before: the code before that day's work
(f931bee), run beside it on a copy of the SciFact home, gave 10.2 and 9.9 against 10.1 and 9.8.
The name lookup itself costs BM25 0.03 ms a query at SciFact size and ~0.4 ms at 1M (77 of the
200 queries hold a number). Tried that day for SciFact's 5 ms and not kept (same-process A/B,
load 0.6-1.1): a bf16 copy of the vectors for the exact scan, rescored in fp32 (same top
results 200/200; vectors 1.5 -> 1.2 ms, hybrid within noise: the encoder's 21 MB of weights
and the 14 MB matrix overflow the ~32 MB of cache this VM gets either way, and 24 products
that take 2.1 ms from cache take 3.1-3.4 ms after a 32-64 MB read, 3.9 in a query); BM25 on
the calling thread instead of beside the encoding (8.1-8.3 against 8.2-9.0 ms); the GIL's
switch interval at 0.1 and 0.5 ms (no change).
One-shot (sqlite-vec) figures are unchanged by this work except for the encoding: 100k hybrid
292/380 ms at load 6 (sqlite-vec's scan is 262 ms of it). Loading 1M vectors: 16-40 s, RSS
+1.5 GiB (1511 MiB of matrix and codes).
2026-12-05 05:34-05:36 UTC (load 4.8-5.5), copies collapsed into one result (search/duplicates.py),
SciFact warm, runs alternated on one cache: hybrid p50 9.2 and 9.3 ms against 9.1 and 9.7 before
(fusion part 0.6-0.7 against 0.5-0.6). Reading every candidate's content hash instead of the
first 20 had made fusion 1.0 ms (hybrid 10.2 and 9.6 against 9.6 and 9.3, load 4.0-4.4).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from localsearch.cpu_budget import spin_briefly

spin_briefly()  # torch's threads wait as in the product, whose CLI sets this before torch loads
REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact"
MODES = ("bm25", "dense", "hybrid")
SYNTHETIC_CHUNKS_PER_DOCUMENT = 4
WORDS_PER_CHUNK = 150


PARTS = ("encode", "vectors", "bm25", "fusion", "snippets")


def resident_mib() -> float:
    """This process's resident set size (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def numpy_exact_ms(home: Path, query_vectors: np.ndarray, k: int = 10) -> float:
    """p50 of a plain numpy exact search (matrix @ query, top k) on the same vectors: the
    memory-bandwidth yardstick for the dense search."""
    from localsearch.config import load_settings
    from localsearch.store import Store
    from localsearch.store.vector_reads import vector_matrix

    store = Store(load_settings(home).database_path)
    space = store.active_space()
    assert space is not None
    _, matrix = vector_matrix(store, space)
    store.close()
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    latencies = []
    # One BLAS thread, as the search uses one core: with two, a thread that waits for a core
    # another job holds makes the yardstick itself slow (16 ms at 9.5k chunks, load 7).
    with threadpool_limits(1, user_api="blas"):
        for vector in query_vectors:
            started = time.perf_counter()
            scores = matrix @ vector
            top = np.argpartition(-scores, k)[:k]
            top[np.argsort(-scores[top])]
            latencies.append((time.perf_counter() - started) * 1000)
    return percentiles(latencies)[0]


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def scifact_home(cache: Path) -> Path:
    """SciFact indexed with default settings, through the same code as `localsearch eval`."""
    from localsearch.config import load_settings
    from localsearch.evaluate.beir import load_dataset
    from localsearch.evaluate.runner import build_index

    home = cache / "scifact"
    started = time.perf_counter()
    if not build_index(load_dataset(SCIFACT), load_settings(home)).reused:
        print(f"indexed SciFact in {time.perf_counter() - started:.0f}s")
    return home


def synthetic_home(cache: Path, size: int, source_home: Path) -> Path:
    """A home of `size` chunks whose vectors and words are shaped like SciFact's."""
    from localsearch.config import load_settings
    from localsearch.index import Index, embed_hash
    from localsearch.ingest.types import Chunk
    from localsearch.store import Store
    from localsearch.store.vector_reads import vector_matrix

    home = cache / f"synthetic-{size}"
    done_marker = home / "built.json"
    if done_marker.exists():
        return home
    started = time.perf_counter()
    source = Store(load_settings(source_home).database_path)
    source_space = source.active_space()
    assert source_space is not None
    _, real = vector_matrix(source, source_space)
    counts: Counter[str] = Counter()
    for row in source.iter_chunks():
        counts.update(re.findall(r"[a-z]+", row.text.lower()))
    source.close()
    words = np.array([w for w, _ in counts.most_common()])
    weights = np.array([c for _, c in counts.most_common()], dtype=np.float64)
    weights /= weights.sum()

    settings = load_settings(home)
    index = Index(settings)
    store = index.store
    with store.transaction():
        space = store.create_space(
            source_space.model,
            source_space.model_path,
            source_space.dimension,
            source_space.fingerprint,
        )
        store.activate_space(space)
        root_id = store.add_root("/synthetic")
    rng = np.random.default_rng(size)
    batch_documents = 2500
    documents = size // SYNTHETIC_CHUNKS_PER_DOCUMENT
    for first in range(0, documents, batch_documents):
        last = min(first + batch_documents, documents)
        count = (last - first) * SYNTHETIC_CHUNKS_PER_DOCUMENT
        mix = rng.uniform(0.3, 0.7, size=(count, 1)).astype(np.float32)
        left = real[rng.integers(0, len(real), count)]
        right = real[rng.integers(0, len(real), count)]
        noise = 0.02 * rng.standard_normal((count, real.shape[1])).astype(np.float32)
        vectors = mix * left + (1 - mix) * right + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        drawn = rng.choice(len(words), size=(count, WORDS_PER_CHUNK), p=weights)
        texts = [" ".join(words[row]) for row in drawn]
        with store.transaction():
            for number in range(first, last):
                path = f"/synthetic/doc{number:07d}.txt"
                doc_id = store.upsert_document(
                    root_id=root_id,
                    path=path,
                    size=0,
                    mtime_ns=0,
                    content_hash=str(number),
                    doc_type="txt",
                    title=f"Document {number}",
                )
                offset = (number - first) * SYNTHETIC_CHUNKS_PER_DOCUMENT
                chunk_texts = texts[offset : offset + SYNTHETIC_CHUNKS_PER_DOCUMENT]
                chunks = [Chunk(t, "", None, i + 1, i + 1) for i, t in enumerate(chunk_texts)]
                ids = store.insert_chunks(doc_id, chunks, [embed_hash(t) for t in chunk_texts])
                store.insert_vectors(space, ids, vectors[offset : offset + len(ids)])
            store.bump_data_version()
        print(
            f"  synthetic {size}: {last * SYNTHETIC_CHUNKS_PER_DOCUMENT} chunks written", flush=True
        )
    index.sync_lexical()
    index.close()
    seconds = time.perf_counter() - started
    done_marker.write_text(json.dumps({"size": size, "build_seconds": seconds}))
    print(f"built synthetic collection of {size} chunks in {seconds:.0f}s")
    return home


def exact_neighbours(home: Path, query_vectors: np.ndarray, k: int = 10) -> list[set[int]]:
    from localsearch.config import load_settings
    from localsearch.store import Store
    from localsearch.store.vector_reads import vector_matrix

    store = Store(load_settings(home).database_path)
    space = store.active_space()
    assert space is not None
    ids, matrix = vector_matrix(store, space)
    store.close()
    truth = []
    for start in range(0, len(query_vectors), 16):
        scores = query_vectors[start : start + 16] @ matrix.T
        for row in scores:
            top = np.argpartition(-row, k)[:k]
            truth.append({int(ids[i]) for i in top})
    return truth


def measure(
    home: Path,
    queries: list[str],
    label: str,
    truth: list[set[int]] | None,
    exact_ms: float | None = None,
    paths: tuple[str, ...] = ("one-shot", "warm"),
) -> None:
    from localsearch.config import load_settings
    from localsearch.search.engine import CHUNKS_PER_DOCUMENT, SearchEngine

    engine = SearchEngine(load_settings(home))
    chunk_depth = engine.settings.candidates * CHUNKS_PER_DOCUMENT
    try:
        encoder, _ = engine.encoder()
        encoder.encode_queries(["warm up"])
        engine.search("warm up", mode="hybrid")
        for path in paths:
            if path == "warm":
                rss_before = resident_mib()
                started = time.perf_counter()
                engine.warm_up()
                vectors = engine._vectors
                loaded = time.perf_counter() - started
                print(
                    f"{label}: loaded {len(vectors) if vectors else 0} vectors into memory in"
                    f" {loaded:.1f}s ({(vectors.nbytes if vectors else 0) / 2**20:.0f} MiB,"
                    f" {'exact' if vectors is None or vectors.exact else 'binary prefilter'};"
                    f" RSS +{resident_mib() - rss_before:.0f} MiB)"
                )
            for mode in MODES:
                if mode == "bm25" and path == "warm":
                    continue
                latencies = []
                cpu_times = []
                found = []
                parts: dict[str, list[float]] = {part: [] for part in PARTS}
                for query in queries:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    results = engine.search(query, k=10, mode=mode)
                    latencies.append((time.perf_counter() - started) * 1000)
                    cpu_times.append((time.process_time() - cpu_started) * 1000)
                    for part, ms in results.parts_ms.items():
                        parts[part].append(ms)
                    if mode == "dense" and truth is not None:
                        # The top 10 of the chunks the engine asks for in a search.
                        dense = engine._dense_candidates(query, chunk_depth, "1", [])
                        found.append(set(sorted(dense, key=lambda c: -dense[c])[:10]))
                    del results
                p50, p95 = percentiles(latencies)
                line = (
                    f"{label:>16} {path:>8} {mode:>6}: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
                    f"  (cpu p50 {np.median(cpu_times):5.1f} ms, load {os.getloadavg()[0]:.1f})"
                )
                if found and truth is not None:
                    recall = np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)])
                    line += f"  dense recall@10 vs exact {recall:.3f}"
                print(line, flush=True)
                if mode == "hybrid":
                    split = "  ".join(
                        f"{part} {np.median(parts[part]):.1f}" for part in PARTS if parts[part]
                    )
                    print(f"{'':>16} {path:>8} hybrid parts (p50 ms): {split}", flush=True)
                    if exact_ms:
                        vectors_p50 = float(np.median(parts["vectors"]))
                        print(
                            f"{'':>16} {path:>8} numpy exact search {exact_ms:.1f} ms;"
                            f" vector search / exact {vectors_p50 / exact_ms:.2f},"
                            f" hybrid p50 / exact {p50 / exact_ms:.2f}",
                            flush=True,
                        )
    finally:
        engine.close()


def compare_dense_paths(
    home: Path, label: str, query_vectors: np.ndarray, truth: list[set[int]]
) -> None:
    """The in-memory search itself, exact scan against binary prefilter + exact rescoring."""
    from localsearch.config import load_settings
    from localsearch.search.engine import CHUNKS_PER_DOCUMENT
    from localsearch.search.vector_sync import load_vector_index
    from localsearch.search.vectors import VectorIndex
    from localsearch.store import Store

    store = Store(load_settings(home).database_path)
    space = store.active_space()
    assert space is not None
    loaded = load_vector_index(store, space)
    store.close()
    depth = load_settings(home).candidates * CHUNKS_PER_DOCUMENT
    for name, limit in (("exact scan", len(loaded) + 1), ("binary+rescore", 0)):
        vectors = VectorIndex(
            loaded.chunk_ids, loaded.document_ids, loaded.matrix, exact_limit=limit
        )
        latencies, recalls = [], []
        for vector, expected in zip(query_vectors, truth, strict=True):
            started = time.perf_counter()
            found = vectors.search(vector, depth)[:10]
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(len({c for c, _ in found} & expected) / 10)
        p50, p95 = percentiles(latencies)
        print(
            f"{label:>16} in-memory {name:>14}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  recall@10 {np.mean(recalls):.3f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100000,1000000", help="synthetic chunk counts (0: SciFact alone)"
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per mode")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    parser.add_argument(
        "--paths", default="one-shot,warm", help="one-shot (sqlite-vec, slow at 1M) and/or warm"
    )
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/localsearch-bench"), help="built collections"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from localsearch.evaluate.beir import load_dataset

    args.cache.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(SCIFACT)
    queries = list(dataset.queries.values())[: args.queries]
    source = scifact_home(args.cache)

    from localsearch.config import load_settings
    from localsearch.search.engine import SearchEngine

    engine = SearchEngine(load_settings(source))
    encoder, _ = engine.encoder()
    query_vectors = encoder.encode_queries(queries)
    engine.close()

    collections = [("scifact", source)]
    for size in (int(s) for s in args.sizes.split(",") if s and int(s) > 0):
        collections.append((f"synthetic-{size}", synthetic_home(args.cache, size, source)))
    print(f"{len(queries)} queries per mode, k=10, {args.threads} threads")
    for label, home in collections:
        truth = exact_neighbours(home, query_vectors)
        compare_dense_paths(home, label, query_vectors, truth)
        paths = tuple(p for p in args.paths.split(",") if p)
        measure(home, queries, label, truth, numpy_exact_ms(home, query_vectors), paths)


if __name__ == "__main__":
    main()
