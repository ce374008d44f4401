"""Two re-rankings of the fused scores on the engine's own candidates (#10): neighbour
smoothing and dense-gated BM25, with CombMNZ-style rules beside them.

- Neighbour smoothing (the cluster hypothesis; Diaz 2005's score regularisation, MacAvaney et
  al.'s corpus-graph re-ranking): each of the top N fused documents gets its score plus alpha
  times the mean fused score of its k nearest neighbours among those N (plain, or weighted by
  their cosine), by the cosine of the vectors of their chunks closest to the query (the dense
  side's best chunk, else BM25's). The weighted rows run search/neighbours.py itself; its
  default (N 50, k 10, alpha 0.5) is the row chosen here.
- Dense-gated BM25: a document's BM25 share (its z-score above the side's lowest, the amount
  it adds over a document BM25 did not find) is multiplied by a ramp of its cosine gap, the
  best candidate's cosine minus its own: 1 up to `start`, falling linearly to `floor` at
  `start + width`, or a logistic centred at `start`. A word match that means something else
  then does not jump over what dense puts first.
- CombMNZ: the fused score (z-scores above each side's lowest, or min-max) times the number
  of sides that found the document, or times 1 + beta for documents both found.

Each query is retrieved once per side with the engine's depth and aggregation
(benchmarks/corpus_weight.py's Sides) and every row is scored on those candidates; today's
row is fuse_hybrid itself. Run from the repository root on copies of built indexes (homes as
benchmarks/ranking.py takes them):

    python benchmarks/score_smoothing.py --scifact-home HOME --docs-home HOME [--check]

It prints, for each row, SciFact train nDCG@10 / Recall@100, docs MRR@10 with the rank of
each known-answer query's file (- past 10) and the rank of the directive how-to page for
"how do I write my own directive"; then SciFact test for the first row and the best row of
each lever on train; then, for each lever, the gain of the grid's best row chosen on a random
half of train and scored on the other half (what choosing on train is worth). `--check` also
runs benchmarks/ranking.py's measures through the engine with smoothing off (it must match the
first row) and with today's defaults (the chosen smoothing row).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from corpus_weight import (  # noqa: E402
    DOCS_QUERIES,
    Chunked,
    Qrels,
    Retrieved,
    Scores,
    Sides,
    known_answer_judged,
    scifact_judged,
)
from ranking import CachedEncoder, measure_docs, measure_scifact  # noqa: E402

from localsearch.evaluate import evaluate_rankings  # noqa: E402
from localsearch.language import has_cjk  # noqa: E402
from localsearch.search.fusion import fuse_hybrid, normalise_minmax, normalise_zscore  # noqa: E402
from localsearch.search.language_weights import dense_weight_for  # noqa: E402
from localsearch.search.neighbours import smooth_scores  # noqa: E402

DIRECTIVE = ("how do I write my own directive", "rst-directives.rst")
CHOSEN = "smooth top 50, weighted mean of 10, alpha 0.5"  # search/neighbours.py's default
SPLITS = 10  # random halvings of the train queries for the split-half check
Rankings = dict[str, list[str]]  # {query id: corpus ids, best first}


@dataclass
class Scored:
    """One query's candidates with what the re-rankings read: the fused inputs, and a unit
    vector and cosine for each document's shown chunk."""

    item: Retrieved
    documents: list[int]
    vectors: np.ndarray  # (documents, dim), unit rows
    cosine: dict[int, float]
    bm25_weight: float
    dense_weight: float


Ranker = Callable[[Scored], dict[int, float]]


class Geometry(Sides):
    """Sides that also keep each document's shown chunk, and the query vectors."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.shown: dict[str, dict[int, int]] = {}
        engine = self.engine
        engine._encoder = CachedEncoder(engine._encoder)  # the query vector is reused below
        vectors = engine._vectors
        assert vectors is not None, "warm_up keeps the vectors in memory"
        self.matrix = vectors.matrix
        self.row_of = {int(c): i for i, c in enumerate(vectors.chunk_ids.tolist())}

    def document_candidates(self, query: str, dense_too: bool = True) -> tuple[Chunked, Chunked]:
        bm25, dense = super().document_candidates(query, dense_too)
        if dense_too:
            shown = {d: c for d, (_, c) in bm25.items()}
            shown.update({d: c for d, (_, c) in dense.items()})
            self.shown[query] = shown
        return bm25, dense

    def scored(self, item: Retrieved) -> Scored:
        shown = self.shown[item.query]
        documents = [d for d in shown if shown[d] in self.row_of]
        vectors = self.matrix[[self.row_of[shown[d]] for d in documents]]
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        encoder = self.engine._encoder
        query = np.asarray(encoder.encode_queries([item.query])[0], dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        cosine = dict(zip(documents, (vectors @ query).tolist(), strict=True))
        share = self.settings.dense_weight
        return Scored(
            item,
            documents,
            vectors,
            cosine,
            self.settings.bm25_weight,
            dense_weight_for(item.query, share, has_cjk(item.query) and self.multilingual),
        )


def today(settings_fusion: str, rrf_k: int) -> Ranker:
    def rank(s: Scored) -> dict[int, float]:
        return fuse_hybrid(
            s.item.bm25,
            s.item.dense,
            fusion=settings_fusion,
            rrf_k=rrf_k,
            bm25_weight=s.bm25_weight,
            dense_weight=s.dense_weight,
        )

    return rank


def above_floor(scores: Scores, method: str = "zscore") -> Scores:
    """A side's normalised scores minus its lowest: what each document adds over one the
    side did not find (fuse_weighted's ranking, as a constant shift does not reorder it)."""
    if not scores:
        return {}
    values = (normalise_zscore if method == "zscore" else normalise_minmax)(scores)
    if len(set(values.values())) == 1:  # all tied: fuse_weighted lifts them the same way
        keys = len(scores)
        return dict.fromkeys(values, max(1.0, (keys - 1) ** 0.5) if method == "zscore" else 1.0)
    floor = min(values.values())
    return {d: v - floor for d, v in values.items()}


def smoothed(
    base: Ranker, top: int, neighbours: int, alpha: float, weighted: bool = False
) -> Ranker:
    """`weighted`: the neighbours' mean weighted by their cosine to the document."""

    def rank(s: Scored) -> dict[int, float]:
        fused = base(s)
        if weighted:  # what search does (search/neighbours.py)
            vectors = dict(zip(s.documents, s.vectors, strict=True))
            return smooth_scores(fused, vectors, alpha, top=top, neighbours=neighbours)[0]
        at = {d: i for i, d in enumerate(s.documents)}
        best = [d for d in sorted(fused, key=lambda d: -fused[d]) if d in at][:top]
        if len(best) <= neighbours:
            return fused
        vectors = s.vectors[[at[d] for d in best]]
        similar = vectors @ vectors.T
        np.fill_diagonal(similar, -np.inf)
        nearest = np.argpartition(-similar, neighbours - 1, axis=1)[:, :neighbours]
        scores = np.array([fused[d] for d in best])
        lifted = scores + alpha * scores[nearest].mean(axis=1)
        return {**fused, **dict(zip(best, lifted.tolist(), strict=True))}

    return rank


def ramp(kind: str, start: float, width: float, floor: float = 0.0) -> Callable[[float], float]:
    if kind == "linear":
        return lambda gap: 1.0 - (1.0 - floor) * min(1.0, max(0.0, (gap - start) / width))
    return lambda gap: floor + (1.0 - floor) / (1.0 + math.exp((gap - start) / width))


def gated(gate: Callable[[float], float]) -> Ranker:
    def rank(s: Scored) -> dict[int, float]:
        bm25, dense = above_floor(s.item.bm25), above_floor(s.item.dense)
        top = max(s.cosine.values(), default=0.0)
        fused = {}
        for d in bm25.keys() | dense.keys():
            cosine = s.cosine.get(d)
            weight = 1.0 if cosine is None else gate(top - cosine)
            fused[d] = s.bm25_weight * weight * bm25.get(d, 0.0) + s.dense_weight * dense.get(
                d, 0.0
            )
        return fused

    return rank


def comb_mnz(method: str, beta: float | None) -> Ranker:
    """beta None: times the number of sides that found it; else times 1 + beta if both did."""

    def rank(s: Scored) -> dict[int, float]:
        bm25, dense = above_floor(s.item.bm25, method), above_floor(s.item.dense, method)
        fused = {}
        for d in bm25.keys() | dense.keys():
            found = (d in bm25) + (d in dense)
            factor = found if beta is None else 1.0 + beta * (found - 1)
            both = s.bm25_weight * bm25.get(d, 0.0) + s.dense_weight * dense.get(d, 0.0)
            fused[d] = factor * both
        return fused

    return rank


def rows_of(base: Ranker) -> list[tuple[str, str, Ranker]]:
    """(lever, row name, ranker): today's row first."""
    rows: list[tuple[str, str, Ranker]] = [("today", "before: z-score fusion alone", base)]
    for weighted in (False, True):
        mean = "weighted mean" if weighted else "mean"
        for top in (20, 50, 100):
            for neighbours in (3, 5, 10):
                for alpha in (0.1, 0.25, 0.5) + ((0.75, 1.0) if neighbours == 10 else ()):
                    rows.append(
                        (
                            "smoothing",
                            f"smooth top {top}, {mean} of {neighbours}, alpha {alpha}",
                            smoothed(base, top, neighbours, alpha, weighted),
                        )
                    )
    for start in (0.05, 0.1, 0.15, 0.2):
        for width in (0.05, 0.1, 0.2):
            for floor in (0.0, 0.5):
                rows.append(
                    (
                        "gate",
                        f"gate linear from {start} over {width}, floor {floor}",
                        gated(ramp("linear", start, width, floor)),
                    )
                )
    for start in (0.1, 0.15, 0.2):
        for width in (0.02, 0.05):
            rows.append(
                (
                    "gate",
                    f"gate logistic at {start}, scale {width}",
                    gated(ramp("logistic", start, width)),
                )
            )
    for method in ("zscore", "minmax"):
        for beta in (None, 0.1, 0.25, 0.5):
            label = "x sides found" if beta is None else f"x (1 + {beta}) if both"
            rows.append(("combmnz", f"CombMNZ {method} {label}", comb_mnz(method, beta)))
    return rows


def top_of(fused: Mapping[int, float], k: int) -> list[int]:
    return sorted(fused, key=lambda d: -fused[d])[:k]


def rankings_of(ranker: Ranker, scored: Sequence[Scored], corpus_id: Mapping[int, str]) -> Rankings:
    return {s.item.qid: [corpus_id[d] for d in top_of(ranker(s), 100)] for s in scored}


def scifact_scores(rankings: Rankings, qrels: Qrels) -> tuple[float, float]:
    found = evaluate_rankings(qrels, rankings)
    return found["ndcg@10"], found["recall@100"]


def split_half(by_row: Mapping[str, Rankings], base: Rankings, qrels: Qrels) -> list[float]:
    """For SPLITS random halvings of the train queries: the row best on one half, and its gain
    over today's on the other half (both ways round). The grid's best row on all of train
    is chosen on the queries it is scored on; this says what such a choice is worth."""
    queries = sorted(qrels)
    gains = []
    for seed in range(SPLITS):
        random.Random(seed).shuffle(queries)
        for pick_on, score_on in ((queries[0::2], queries[1::2]), (queries[1::2], queries[0::2])):
            picking = {q: qrels[q] for q in pick_on}
            scoring = {q: qrels[q] for q in score_on}
            chosen = max(by_row, key=lambda row: scifact_scores(by_row[row], picking)[0])
            gains.append(
                scifact_scores(by_row[chosen], scoring)[0] - scifact_scores(base, scoring)[0]
            )
    return gains


def rank_of(ranker: Ranker, s: Scored) -> int | None:
    top = top_of(ranker(s), 10)
    return next((i for i, d in enumerate(top, 1) if d in s.item.answers), None)


def docs_scores(ranker: Ranker, scored: Sequence[Scored]) -> tuple[float, list[int | None]]:
    ranks = [rank_of(ranker, s) for s in scored]
    return sum(1 / r for r in ranks if r) / len(ranks), ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scifact-home", type=Path, required=True)
    parser.add_argument("--docs-home", type=Path, required=True)
    parser.add_argument("--check", action="store_true", help="also run ranking.py's default row")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    docs = Geometry(args.docs_home)
    try:
        judged = known_answer_judged(docs, DOCS_QUERIES)
        directive = docs.retrieve(
            DIRECTIVE[0], {d for d, p in docs.paths.items() if p.endswith(DIRECTIVE[1])}
        )
        docs_scored = [docs.scored(item) for item in judged]
        directive_scored = docs.scored(directive)
        docs_settings = docs.settings
    finally:
        docs.close()
    sci = Geometry(args.scifact_home)
    try:
        items, qrels, corpus_id = scifact_judged(sci)
        scored = {split: [sci.scored(i) for i in found] for split, found in items.items()}
        settings = sci.settings
    finally:
        sci.close()
    assert (settings.fusion, settings.rrf_k) == (docs_settings.fusion, docs_settings.rrf_k)

    rows = rows_of(today(settings.fusion, settings.rrf_k))
    print(f"load {os.getloadavg()[0]:.1f}; train nDCG@10 / Recall@100, docs MRR@10, docs ranks")
    best: dict[str, tuple[float, str, Ranker]] = {}
    train: dict[str, dict[str, Rankings]] = {}
    for lever, name, ranker in rows:
        train.setdefault(lever, {})[name] = rankings_of(ranker, scored["train"], corpus_id)
        ndcg, recall = scifact_scores(train[lever][name], qrels["train"])
        mrr, ranks = docs_scores(ranker, docs_scored)
        directive_rank = rank_of(ranker, directive_scored)
        shown = " ".join(str(r) if r else "-" for r in ranks)
        print(
            f"  {name:48s} {ndcg:.4f} / {recall:.4f}  {mrr:.3f}  [{shown}]"
            f" directive {directive_rank or '-'}",
            flush=True,
        )
        if lever not in best or ndcg > best[lever][0]:
            best[lever] = (ndcg, name, ranker)
        if name == CHOSEN:
            best["chosen"] = (ndcg, name, ranker)
    load = os.getloadavg()[0]
    print(f"\nSciFact test: first row, each lever's best on train, default (load {load:.1f})")
    for _, name, ranker in best.values():
        test = rankings_of(ranker, scored["test"], corpus_id)
        ndcg, recall = scifact_scores(test, qrels["test"])
        print(f"  {name:48s} {ndcg:.4f} / {recall:.4f}")

    print(
        f"\nEach lever's grid chosen on half of train, its gain on the other half ({SPLITS} splits)"
    )
    base = next(iter(train["today"].values()))
    for lever, by_row in train.items():
        if lever != "today":
            gains = split_half(by_row, base, qrels["train"])
            print(
                f"  {lever:10s} mean {sum(gains) / len(gains) * 100:+.2f} points,"
                f" from {min(gains) * 100:+.2f} to {max(gains) * 100:+.2f}",
                flush=True,
            )

    if args.check:
        from ranking import encoder_factory

        from localsearch.config import load_settings

        factory = encoder_factory(load_settings(args.scifact_home))
        print("\nThrough the engine (benchmarks/ranking.py's measures):")
        for name, change in (
            ("smoothing off", {"neighbour_smoothing": 0.0}),
            ("smoothing 0.5", {"neighbour_smoothing": 0.5}),
        ):
            engine_sci = measure_scifact(args.scifact_home, change, factory)
            engine_docs = measure_docs(args.docs_home, change, factory)
            train, test = engine_sci["train"], engine_sci["test"]
            print(
                f"  {name:14s} train {train['ndcg@10']:.4f} / {train['recall@100']:.4f},"
                f" test {test['ndcg@10']:.4f} / {test['recall@100']:.4f},"
                f" docs MRR {engine_docs['mrr@10']:.3f} (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
