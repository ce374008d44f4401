"""Sentence-level dense scoring ("poor man's multi-vector"): is it worth its cost?

    python benchmarks/sentence_vectors.py --scifact-home HOME [--docs-home HOME] [--cache DIR]

all-MiniLM-L6-v2 was trained on sentence pairs; a SciFact claim is usually supported by one
sentence of an abstract, and a how-to question may match one sentence of a long chunk. Here
each chunk of the index (read from HOME's SQLite, a copy: its schema is upgraded and the
engine may rebuild a stale BM25 index beside it) is also cut into sentences, or windows of
two, embedded with the index's own model, and a chunk's dense score becomes a combination of
its cosine and its best sentence's cosine. Documents score as their best chunk and are fused
with BM25 by the engine's own z-score fusion, in three shapes:

- retrieve: every chunk is scored that way and dense candidates are the best 200 chunks by the
  combined score (sentence vectors searched in memory, over the whole corpus);
- rescore: dense candidates are today's (the best 200 chunks by cosine), scored the new way;
- rerank N: today's hybrid ranking is computed as the engine does, then its N best documents
  are fused again with their dense score recomputed from their candidate chunks (what could
  ship cheaply: sentence vectors kept in SQLite, read only for a query's candidates).

The row "chunk only" (retrieve) is today's hybrid recomputed here; it must match
benchmarks/ranking.py's default row. Sentence vectors are cached in --cache as .npy files, so
only the first run encodes. It prints nDCG@10 / Recall@100 on SciFact train and test, docs
MRR@10 / hit@10 and the rank of the directive how-to page (see benchmarks/ranking.py for the
docs index), and the costs: sentences per chunk, encoding seconds, and a rerank's extra
milliseconds a query (reading the candidates' sentence vectors from a SQLite table and
scoring them); `--cost-sample N` instead times embedding N chunks and then their sentences,
the index cost under the same load. Choose on train and docs; the test column is for
reporting. Run it with nice and read `uptime` beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "datasets" / "scifact"
DIRECTIVE_QUERY = "how do I write my own directive"
DIRECTIVE_ANSWER = "rst-directives.rst"

PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|[。！？]")  # as ingest/chunk.py cuts
MIN_WORDS = 4  # shorter pieces (a heading, "See below.") join the next one
ENCODE_BLOCK = 2048  # sentences encoded between cache saves
RERANK_DEPTHS = (30, 100)
LAMBDAS = (0.25, 0.5, 1.0)


def split_sentences(text: str) -> list[str]:
    """Sentences of a chunk: paragraphs cut at sentence marks, lines joined, short ones merged."""
    pieces: list[str] = []
    for paragraph in PARAGRAPH_BREAK.split(text):
        flat = " ".join(paragraph.split())
        start = 0
        for mark in SENTENCE_END.finditer(flat):
            pieces.append(flat[start : mark.end()].strip())
            start = mark.end()
        pieces.append(flat[start:].strip())
    sentences: list[str] = []
    carry = ""
    for piece in pieces:
        if not piece:
            continue
        piece = f"{carry} {piece}".strip() if carry else piece
        if len(piece.split()) < MIN_WORDS:
            carry = piece
            continue
        sentences.append(piece)
        carry = ""
    if carry:
        if sentences:
            sentences[-1] = f"{sentences[-1]} {carry}"
        else:
            sentences.append(carry)
    return sentences


def units_of(sentences: list[str], window: int) -> list[str]:
    if window == 1 or len(sentences) <= 1:
        return sentences
    return [" ".join(sentences[i : i + window]) for i in range(len(sentences) - window + 1)]


# How each unit is embedded: (sentences per window, with the chunk's title and heading).
KINDS = {
    "sentence": (1, False),
    "sentence+title": (1, True),
    "pair+title": (2, True),
}


@dataclass
class Corpus:
    """A home's chunks, their vectors as the index holds them, and their sentence vectors."""

    name: str
    chunk_ids: np.ndarray
    owners: dict[int, int]
    chunk_matrix: np.ndarray  # rows in chunk_ids order
    row_of: dict[int, int]
    units: dict[str, tuple[np.ndarray, np.ndarray]]  # kind: (owning chunk row per unit, vectors)
    cost: dict[str, dict[str, float]]


def read_chunks(home: Path) -> list[tuple[int, int, str, str, str]]:
    uri = f"file:{home / 'localsearch.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return conn.execute(
            "SELECT c.id, c.document_id, d.title, c.heading, c.text"
            " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
        ).fetchall()


def encode_cached(encoder: Any, texts: list[str], path: Path) -> tuple[np.ndarray, float]:
    """Vectors of `texts`, from `path` if a finished or partial run left them; and the seconds
    encoding took in all (kept beside them)."""
    seconds_path = path.with_suffix(".seconds")
    done = np.load(path) if path.exists() else np.zeros((0, encoder.dimension), np.float32)
    seconds = float(seconds_path.read_text()) if seconds_path.exists() else 0.0
    parts = [done]
    for start in range(len(done), len(texts), ENCODE_BLOCK):
        began = time.perf_counter()
        block = encoder.encode_passages(texts[start : start + ENCODE_BLOCK])
        seconds += time.perf_counter() - began
        parts.append(np.asarray(block, dtype=np.float32))
        done = np.concatenate(parts)
        parts = [done]
        np.save(path.with_suffix(".tmp.npy"), done)
        os.replace(path.with_suffix(".tmp.npy"), path)
        seconds_path.write_text(f"{seconds:.2f}")
        rate = len(done) / seconds
        print(f"  {path.name}: {len(done)}/{len(texts)}, {rate:.0f}/s", file=sys.stderr, flush=True)
    return done, seconds


def load_corpus(name: str, home: Path, encoder: Any, cache: Path, kinds: list[str]) -> Corpus:
    from localsearch.config import load_settings
    from localsearch.embed.encoder import format_passage
    from localsearch.store import Store
    from localsearch.store.vector_reads import vector_matrix

    settings = load_settings(home)
    store = Store(settings.database_path)  # upgrades a copy made by older code
    try:
        space = store.active_space()
        assert space is not None
        chunk_ids, chunk_matrix = vector_matrix(store, space)
    finally:
        store.close()
    rows = read_chunks(home)
    row_of = {int(c): i for i, c in enumerate(chunk_ids)}
    owners = {int(r[0]): int(r[1]) for r in rows}
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    cost: dict[str, dict[str, float]] = {}
    split = {int(r[0]): split_sentences(r[4]) for r in rows}
    for kind in kinds:
        window, titled = KINDS[kind]
        texts: list[str] = []
        owner_rows: list[int] = []
        for chunk_id, _, title, heading, _ in rows:
            if chunk_id not in row_of:
                continue
            for unit in units_of(split[chunk_id], window) or [""]:
                texts.append(format_passage(title, heading, unit) if titled else unit)
                owner_rows.append(row_of[chunk_id])
        cache.mkdir(parents=True, exist_ok=True)
        vectors, seconds = encode_cached(encoder, texts, cache / f"{name}-{kind}.npy")
        units[kind] = (np.asarray(owner_rows), vectors)
        cost[kind] = {
            "units": len(texts),
            "per_chunk": round(len(texts) / max(len(row_of), 1), 2),
            "encode_s": round(seconds, 1),
            "per_s": round(len(texts) / seconds, 1) if seconds else 0.0,
        }
    return Corpus(name, chunk_ids, owners, chunk_matrix, row_of, units, cost)


def best_per_chunk(corpus: Corpus, kind: str, query: np.ndarray) -> np.ndarray:
    """Each chunk's best unit cosine, in chunk row order (units are stored chunk by chunk)."""
    owner_rows, vectors = corpus.units[kind]
    scores = vectors @ query
    starts = np.flatnonzero(np.r_[True, owner_rows[1:] != owner_rows[:-1]])
    best = np.full(len(corpus.chunk_ids), -1.0, dtype=np.float32)
    best[owner_rows[starts]] = np.maximum.reduceat(scores, starts)
    return best


Combine = Callable[[np.ndarray, np.ndarray], np.ndarray]


def chunk_plus(share: float) -> Combine:
    return lambda chunk, sentence: chunk + share * sentence


COMBINES: dict[str, Combine] = {
    "chunk only": lambda chunk, sentence: chunk,
    "best sentence only": lambda chunk, sentence: sentence,
    "max(chunk, sentence)": np.maximum,
    **{f"chunk + {share} x sentence": chunk_plus(share) for share in LAMBDAS},
}


RESCORE = -1  # the shape "rescore": today's dense candidates, scored the new way


def variants(kinds: list[str]) -> list[tuple[str, str, str, int]]:
    """(row name, kind, combine, rerank depth; 0 for retrieve, RESCORE for rescore)."""
    rows = [("today: chunk only", kinds[0], "chunk only", 0)]
    for kind in kinds:
        for combine in COMBINES:
            if combine == "chunk only":
                continue
            rows.append((f"{kind}: {combine}, retrieve", kind, combine, 0))
            rows.append((f"{kind}: {combine}, rescore", kind, combine, RESCORE))
            for depth in RERANK_DEPTHS:
                rows.append((f"{kind}: {combine}, rerank {depth}", kind, combine, depth))
    return rows


def documents(chunk_scores: Mapping[int, float], owners: Mapping[int, int], depth: int):
    from localsearch.search.aggregate import documents_from_chunks

    return {
        doc: score for doc, (score, _) in documents_from_chunks(chunk_scores, owners, depth).items()
    }


class Ranker:
    """Every variant's ranking of each query, from the engine's BM25 candidates and dense
    scores computed here over the in-memory chunk and sentence vectors."""

    def __init__(self, home: Path, corpus: Corpus, encoder: Any) -> None:
        from localsearch.config import load_settings
        from localsearch.search.engine import CHUNKS_PER_DOCUMENT, SearchEngine

        self.settings = load_settings(home)
        self.engine = SearchEngine(self.settings, encoder_factory=lambda _: encoder)
        self.encoder = encoder
        self.corpus = corpus
        self.depth = self.settings.candidates
        self.chunk_depth = self.depth * CHUNKS_PER_DOCUMENT
        self.paths = dict(self.engine.store.conn.execute("SELECT id, path FROM documents"))
        self.rerank_ms: dict[str, list[float]] = {kind: [] for kind in corpus.units}
        self.tables = {kind: SentenceTable(corpus, kind) for kind in corpus.units}

    def close(self) -> None:
        self.engine.close()
        for table in self.tables.values():
            table.close()

    def fuse(self, bm25: dict[int, float], dense: dict[int, float]) -> dict[int, float]:
        from localsearch.search.fusion import fuse_hybrid

        return fuse_hybrid(
            bm25,
            dense,
            fusion=self.settings.fusion,
            rrf_k=self.settings.rrf_k,
            bm25_weight=self.settings.bm25_weight,
            dense_weight=self.settings.dense_weight,
        )

    def rank_all(self, queries: Mapping[str, str], rows: list[tuple[str, str, str, int]]):
        """{row name: {query id: document ids best first}}."""
        corpus = self.corpus
        # One at a time, as a search encodes its query (the single-query path).
        vectors = [
            np.asarray(self.encoder.encode_queries([text])[0], dtype=np.float32)
            for text in queries.values()
        ]
        rankings: dict[str, dict[str, list[int]]] = {name: {} for name, *_ in rows}
        for (qid, text), query in zip(queries.items(), vectors, strict=True):
            bm25_chunks = self.engine._lexical_candidates(text, self.chunk_depth, []) or {}
            bm25 = documents(bm25_chunks, corpus.owners, self.depth)
            chunk_cos = corpus.chunk_matrix @ query
            best_sent = {kind: best_per_chunk(corpus, kind, query) for kind in corpus.units}
            top = np.argsort(-chunk_cos, kind="stable")[: self.chunk_depth]
            dense_chunks = {int(corpus.chunk_ids[r]): float(chunk_cos[r]) for r in top}
            today = self.fuse(bm25, documents(dense_chunks, corpus.owners, self.depth))
            today_order = sorted(today, key=lambda d: -today[d])
            candidate_rows = [
                corpus.row_of[c]
                for c in bm25_chunks.keys() | dense_chunks.keys()
                if c in corpus.row_of
            ]
            for name, kind, combine, rerank in rows:
                scores = COMBINES[combine](chunk_cos, best_sent[kind])
                if combine == "chunk only":
                    rankings[name][qid] = today_order
                elif rerank in (0, RESCORE):
                    best = (
                        top
                        if rerank == RESCORE
                        else np.argsort(-scores, kind="stable")[: self.chunk_depth]
                    )
                    dense = documents(
                        {int(corpus.chunk_ids[r]): float(scores[r]) for r in best},
                        corpus.owners,
                        self.depth,
                    )
                    fused = self.fuse(bm25, dense)
                    rankings[name][qid] = sorted(fused, key=lambda d: -fused[d])
                else:
                    head = set(today_order[:rerank])
                    dense_head = documents(
                        {
                            int(corpus.chunk_ids[r]): float(scores[r])
                            for r in candidate_rows
                            if corpus.owners[int(corpus.chunk_ids[r])] in head
                        },
                        corpus.owners,
                        rerank,
                    )
                    fused = self.fuse({d: s for d, s in bm25.items() if d in head}, dense_head)
                    reranked = sorted(fused, key=lambda d: -fused[d])
                    rankings[name][qid] = reranked + today_order[rerank:]
            for kind, table in self.tables.items():
                self.rerank_ms[kind].append(table.timed_rerank(query, bm25_chunks, dense_chunks))
        return rankings


class SentenceTable:
    """The shipping shape, for its cost: one row per chunk holding its sentence vectors in a
    temporary SQLite file, read for a query's candidate chunks and scored."""

    def __init__(self, corpus: Corpus, kind: str) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="sentvec-")
        self.conn = sqlite3.connect(Path(self.folder.name) / "s.db")
        self.conn.execute("CREATE TABLE sentence_vectors (chunk_id INTEGER PRIMARY KEY, v BLOB)")
        owner_rows, vectors = corpus.units[kind]
        starts = np.flatnonzero(np.r_[True, owner_rows[1:] != owner_rows[:-1]])
        ends = np.r_[starts[1:], len(owner_rows)]
        self.conn.executemany(
            "INSERT INTO sentence_vectors VALUES (?, ?)",
            (
                (int(corpus.chunk_ids[owner_rows[s]]), vectors[s:e].astype(np.float32).tobytes())
                for s, e in zip(starts, ends, strict=True)
            ),
        )
        self.conn.commit()
        self.dimension = vectors.shape[1]

    def close(self) -> None:
        self.conn.close()
        self.folder.cleanup()

    def timed_rerank(
        self, query: np.ndarray, bm25: Mapping[int, float], dense: Mapping[int, float]
    ) -> float:
        """Milliseconds to read the candidates' sentence vectors and score them."""
        started = time.perf_counter()
        ids = list(bm25.keys() | dense.keys())
        best: dict[int, float] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for chunk_id, blob in self.conn.execute(
                f"SELECT chunk_id, v FROM sentence_vectors WHERE chunk_id IN ({marks})", part
            ):
                matrix = np.frombuffer(blob, dtype=np.float32).reshape(-1, self.dimension)
                best[chunk_id] = float((matrix @ query).max())
        return (time.perf_counter() - started) * 1000


def scifact_scores(ranker: Ranker, qrels: dict[str, dict[str, int]], rankings):
    from localsearch.evaluate import evaluate_rankings

    named = {
        q: [ranker.paths[d].partition("#")[2] for d in ranking[:100]]
        for q, ranking in rankings.items()
    }
    scores = evaluate_rankings(qrels, named)
    return {key: round(scores[key], 4) for key in ("ndcg@10", "recall@100")}


def docs_scores(ranker: Ranker, answers: dict[str, str], rankings) -> dict[str, Any]:
    reciprocal, found, directive = 0.0, 0, None
    for qid, ranking in rankings.items():
        paths = [ranker.paths[doc] for doc in ranking[:10]]
        suffix = answers[qid]
        rank = next((i for i, p in enumerate(paths, 1) if p.endswith(suffix)), None)
        if qid == "directive":
            directive = rank
            continue
        found += rank is not None
        reciprocal += 1 / rank if rank else 0.0
    count = len(rankings) - 1
    return {
        "mrr@10": round(reciprocal / count, 4),
        "hit@10": round(found / count, 4),
        "directive_rank": directive,
    }


def docs_queries() -> tuple[dict[str, str], dict[str, str]]:
    """benchmarks/splade.py's known-answer docs queries, and the README's directive question."""
    from splade import docs_queries as known_answer_queries  # this script's folder is on the path

    queries, answers = known_answer_queries()
    queries["directive"], answers["directive"] = DIRECTIVE_QUERY, DIRECTIVE_ANSWER
    return queries, answers


def encoding_cost(encoder: Any, home: Path, count: int, kinds: list[str]) -> dict[str, Any]:
    """Seconds to encode `count` chunks as the index does, and then their units of each kind:
    the index cost of sentence vectors, as a multiple of the embed phase's, measured under the
    same load."""
    from localsearch.embed.encoder import format_passage

    rows = read_chunks(home)[:count]
    encoder.encode_passages(["warm up"])
    began = time.perf_counter()
    encoder.encode_passages([format_passage(r[2], r[3], r[4]) for r in rows])
    chunk_seconds = time.perf_counter() - began
    cost: dict[str, Any] = {"chunks": len(rows), "chunk_s": round(chunk_seconds, 1)}
    for kind in kinds:
        window, titled = KINDS[kind]
        texts = [
            format_passage(r[2], r[3], unit) if titled else unit
            for r in rows
            for unit in units_of(split_sentences(r[4]), window) or [""]
        ]
        began = time.perf_counter()
        encoder.encode_passages(texts)
        seconds = time.perf_counter() - began
        cost[kind] = {
            "units": len(texts),
            "seconds": round(seconds, 1),
            "times_the_chunks": round(seconds / chunk_seconds, 2),
        }
    cost["load"] = [round(x, 2) for x in os.getloadavg()]
    return cost


def medians(milliseconds: dict[str, list[float]]) -> dict[str, float]:
    return {kind: round(float(np.median(ms)), 2) for kind, ms in milliseconds.items() if ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-home", type=Path, required=True)
    parser.add_argument("--docs-home", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/work/exp/sentvec"))
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS)
    )
    parser.add_argument("--splits", default="train,test")
    parser.add_argument(
        "--cost-sample",
        type=int,
        default=0,
        help="only time encoding N SciFact chunks and then their sentences, back to back",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from localsearch.config import load_settings
    from localsearch.embed.sentence_transformer import load_encoder
    from localsearch.evaluate import load_dataset
    from localsearch.store import Store

    kinds = [k for k in args.kinds.split(",") if k]
    settings = load_settings(args.scifact_home)
    store = Store(settings.database_path)  # upgrades a copy made by older code
    space = store.active_space()
    store.close()
    assert space is not None
    encoder = load_encoder(space.model, settings.models_dir, device="cpu")
    if args.cost_sample:
        print(json.dumps(encoding_cost(encoder, args.scifact_home, args.cost_sample, kinds)))
        return
    rows = variants(kinds)
    report: dict[str, Any] = {"rows": {name: {} for name, *_ in rows}}
    corpus = load_corpus("scifact", args.scifact_home, encoder, args.cache, kinds)
    report["scifact_cost"] = corpus.cost
    ranker = Ranker(args.scifact_home, corpus, encoder)
    try:
        for split in [s for s in args.splits.split(",") if s]:
            dataset = load_dataset(SCIFACT, split)
            rankings = ranker.rank_all(dataset.queries, rows)
            for name, ranked in rankings.items():
                report["rows"][name][split] = scifact_scores(ranker, dataset.qrels, ranked)
        report["scifact_rerank_ms_p50"] = medians(ranker.rerank_ms)
    finally:
        ranker.close()
    if args.docs_home:
        report["load"] = [round(x, 2) for x in os.getloadavg()]
        print_table(report)  # SciFact's numbers now: the docs corpus may still have to encode
        print()
    if args.docs_home:
        corpus = load_corpus("docs", args.docs_home, encoder, args.cache, kinds)
        report["docs_cost"] = corpus.cost
        ranker = Ranker(args.docs_home, corpus, encoder)
        try:
            queries, answers = docs_queries()
            rankings = ranker.rank_all(queries, rows)
            for name, ranked in rankings.items():
                report["rows"][name]["docs"] = docs_scores(ranker, answers, ranked)
            report["docs_rerank_ms_p50"] = medians(ranker.rerank_ms)
        finally:
            ranker.close()
    report["load"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2), file=sys.stderr)
    print_table(report)


def print_table(report: dict[str, Any]) -> None:
    for name, scores in report["rows"].items():
        line = f"{name:52s}"
        for split in ("train", "test"):
            if split in scores:
                line += (
                    f"  {split} {scores[split]['ndcg@10']:.4f}/{scores[split]['recall@100']:.3f}"
                )
        if "docs" in scores:
            docs = scores["docs"]
            line += (
                f"  docs MRR {docs['mrr@10']:.3f} hit {docs['hit@10']:.2f}"
                f" directive {docs['directive_rank']}"
            )
        print(line, flush=True)
    for corpus in ("scifact", "docs"):
        for kind, cost in report.get(f"{corpus}_cost", {}).items():
            print(
                f"{corpus} {kind}: {cost['units']} units, {cost['per_chunk']} per chunk,"
                f" encoded in {cost['encode_s']} s ({cost['per_s']}/s)"
            )
        for kind, ms in report.get(f"{corpus}_rerank_ms_p50", {}).items():
            print(f"{corpus} {kind}: candidates' sentence vectors read and scored, p50 {ms} ms")
    load = report["load"]
    print(f"load average {load[0]} {load[1]} {load[2]}")


if __name__ == "__main__":
    main()
