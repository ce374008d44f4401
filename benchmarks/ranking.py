"""Ranking levers, one at a time: quality on SciFact and the known-answer docs queries, and cost.

    python benchmarks/ranking.py --scifact-home HOME [--docs-home HOME] [--json]

HOME for SciFact is an index `localsearch eval ../shared/datasets/scifact --home HOME` built
(copy a prebuilt one; this script only reads it). The docs home is an index of folders of
../shared/corpora/opensource-docs that hold the answers of ../shared/corpora/queries/
opensource-docs.tsv, matched by path suffix (the README's numbers: the 21 answer files, every
40th other file of their collections and all of docutils' .rst/.txt/.md, 112 files; the whole
corpus takes over an hour to index on a busy 2-core machine). Each lever row is the ranking
before #10 plus one change, so a row's gain is that lever's. Query vectors are computed once
and reused, so the milliseconds are the ranking's own cost (encoding a query is the same for
every row); run it with `nice` and read `uptime` beside the numbers.

Choose defaults on SciFact train and the docs queries; the test column is for reporting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "datasets" / "scifact"
DOCS_QUERIES = SHARED / "corpora" / "queries" / "opensource-docs.tsv"

# The ranking before #10; each lever row is it plus one change, the last row today's defaults.
BEFORE: dict[str, Any] = {
    "fusion": "weighted",
    "bm25_weight": 0.5,
    "dense_weight": 0.5,
    "bm25_function_weight": 1.0,
    "bm25_proximity_boost": 0.0,
    "bm25_proximity_slop": 4,
    "chunk_decay": 0.0,
    "neighbour_smoothing": 0.0,
    "opening_share": 0.0,
}
LEVERS: list[tuple[str, dict[str, Any] | None]] = [
    ("before #10: min-max fusion, best chunk", {}),
    ("fusion: z-score", {"fusion": "zscore"}),
    ("fusion: rrf", {"fusion": "rrf"}),
    ("fusion: bm25 weight 0.6", {"bm25_weight": 0.6, "dense_weight": 0.4}),
    ("fusion: bm25 weight 0.4", {"bm25_weight": 0.4, "dense_weight": 0.6}),
    ("bm25: function words at 0.1", {"bm25_function_weight": 0.1}),
    ("bm25: function words dropped", {"bm25_function_weight": 0.0}),
    ("bm25: proximity pairs 0.5, slop 4", {"bm25_proximity_boost": 0.5}),
    ("bm25: proximity pairs 1.0, slop 4", {"bm25_proximity_boost": 1.0}),
    ("bm25: proximity pairs 2.0, slop 4", {"bm25_proximity_boost": 2.0}),
    ("bm25: proximity pairs 1.0, slop 1", {"bm25_proximity_boost": 1.0, "bm25_proximity_slop": 1}),
    ("bm25: proximity pairs 1.0, slop 8", {"bm25_proximity_boost": 1.0, "bm25_proximity_slop": 8}),
    ("documents: best chunk + 0.1 x next two", {"chunk_decay": 0.1}),
    ("fusion: z-score, neighbour smoothing 0.5", {"fusion": "zscore", "neighbour_smoothing": 0.5}),
    ("fusion: z-score, opening's share 0.2", {"fusion": "zscore", "opening_share": 0.2}),
    ("today's defaults", None),
]


class CachedEncoder:
    """Wraps an encoder so each query is encoded once across all rows."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.cache: dict[str, Any] = {}

    def encode_queries(self, texts: list[str]) -> Any:
        missing = [t for t in texts if t not in self.cache]
        if missing:
            for text, vector in zip(missing, self.inner.encode_queries(missing), strict=True):
                self.cache[text] = vector
        return [self.cache[t] for t in texts]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def encoder_factory(settings: Any) -> Callable[[str], Any]:
    from localsearch.embed.sentence_transformer import load_encoder

    cached: dict[str, CachedEncoder] = {}

    def make(model: str) -> Any:
        if model not in cached:
            cached[model] = CachedEncoder(load_encoder(model, settings.models_dir, device="cpu"))
        return cached[model]

    return make


def measure_scifact(home: Path, overrides: dict[str, Any], factory: Any) -> dict[str, Any]:
    from localsearch.config import load_settings
    from localsearch.evaluate import evaluate_rankings, load_dataset
    from localsearch.evaluate.metrics import percentile
    from localsearch.evaluate.runner import run_queries
    from localsearch.search.engine import SearchEngine

    settings = load_settings(home, **overrides)
    engine = SearchEngine(settings, encoder_factory=factory)
    measured: dict[str, Any] = {}
    try:
        engine.warm_up()
        for split in ("train", "test"):
            dataset = load_dataset(SCIFACT, split)
            rankings, latencies = run_queries(
                engine, dataset, "hybrid", SCIFACT.resolve() / "corpus.jsonl"
            )
            scores = evaluate_rankings(dataset.qrels, rankings)
            measured[split] = {
                "ndcg@10": round(scores["ndcg@10"], 4),
                "recall@100": round(scores["recall@100"], 4),
                "p50_ms": round(percentile(latencies, 0.5), 2),
            }
    finally:
        engine.close()
    return measured


def docs_queries() -> list[tuple[str, str]]:
    lines = DOCS_QUERIES.read_text(encoding="utf-8").splitlines()[1:]
    return [(q, s) for q, s in (line.split("\t") for line in lines if line.strip())]


def measure_docs(home: Path, overrides: dict[str, Any], factory: Any) -> dict[str, Any]:
    from localsearch.config import load_settings
    from localsearch.search.engine import SearchEngine

    engine = SearchEngine(load_settings(home, **overrides), encoder_factory=factory)
    reciprocal, found = 0.0, 0
    try:
        engine.warm_up()
        queries = docs_queries()
        for query, suffix in queries:
            paths = [hit.path for hit in engine.search(query, k=10, snippets=False).hits]
            rank = next((i for i, p in enumerate(paths, 1) if p.endswith(suffix)), None)
            found += rank is not None
            reciprocal += 1 / rank if rank else 0.0
        directive = engine.search("how do I write my own directive", k=1, snippets=False).hits
        nonsense = engine.search("qwxzv plorkk", k=10, snippets=False)
    finally:
        engine.close()
    return {
        "mrr@10": round(reciprocal / len(queries), 4),
        "hit@10": round(found / len(queries), 4),
        "directive_first": bool(directive) and directive[0].path.endswith("rst-directives.rst"),
        "nonsense_weak": nonsense.weak_match,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-home", type=Path, required=True)
    parser.add_argument("--docs-home", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from localsearch.config import load_settings

    factory = encoder_factory(load_settings(args.scifact_home))
    rows = []
    for name, change in LEVERS:
        settings = {} if change is None else {**BEFORE, **change}
        row: dict[str, Any] = {"lever": name, "settings": change}
        row["scifact"] = measure_scifact(args.scifact_home, settings, factory)
        if args.docs_home:
            row["docs"] = measure_docs(args.docs_home, settings, factory)
        rows.append(row)
        if not args.json:
            print_row(row)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"rows": rows, "load": load}, indent=2))
    else:
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def print_row(row: dict[str, Any]) -> None:
    sci = row["scifact"]
    text = (
        f"{row['lever']:44s} train {sci['train']['ndcg@10']:.4f}/{sci['train']['recall@100']:.4f}"
        f"  test {sci['test']['ndcg@10']:.4f}/{sci['test']['recall@100']:.4f}"
        f"  {sci['train']['p50_ms']:6.1f} ms"
    )
    if "docs" in row:
        docs = row["docs"]
        text += (
            f"  docs MRR {docs['mrr@10']:.3f} hit {docs['hit@10']:.2f}"
            f" directive {'yes' if docs['directive_first'] else 'no'}"
            f" nonsense weak {'yes' if docs['nonsense_weak'] else 'no'}"
        )
    print(text, flush=True)


if __name__ == "__main__":
    main()
