"""A fusion weight chosen per corpus (#10): the dense share each source of held-out queries
picks, against the share that is best on the judged queries, and what the pick is worth.

Sources of queries to choose on, each scored by MRR@10 of the document a query points at:
- synthetic: the model-free generator adapt uses (adapt/queries.py: titles, headings, link
  text, keywords where a document has no structure), up to SAMPLE of the corpus's own;
- synthetic, BM25's misses: those of them whose document BM25 does not rank first (what
  adapt narrows its training to), since a query made of a document's own words favours BM25;
- synthetic keywords: the generator's keyword queries for every document, structure or not;
- logged (SciFact only): a simulated search log, as benchmarks/adapt_from_use.py makes one:
  TRAIN queries searched with today's hybrid, the first judged document in the top 20 opened.
  The weight is chosen on the opened documents, and the train split is scored on all of it
  and on the queries left out of the log.

Each query is retrieved once per side, as the engine does (fusion_weights.py's trick), and
every share is scored on those candidates. The judged queries: SciFact train nDCG@10 (test
only for the choices, for reporting), the known-answer docs queries' MRR@10, optionally the
CJK known-answer queries. Run from the repository root, on copies of built indexes (homes as
benchmarks/ranking.py takes them); --seeds N also prints each source's pick for N samples
(synthetic) and N simulated logs (SciFact):

    python benchmarks/corpus_weight.py --scifact-home HOME [--docs-home HOME]
        [--cjk-home HOME] [--seeds N]

No source picked well on both SciFact and the docs, so the weight stays fixed (README).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
SCIFACT = SHARED / "datasets" / "scifact"
DOCS_QUERIES = SHARED / "corpora" / "queries" / "opensource-docs.tsv"
CJK_QUERIES = SHARED / "corpora" / "queries" / "cjk-docs.tsv"

from localsearch.adapt.queries import generate_structural_queries  # noqa: E402
from localsearch.config import Settings, load_settings  # noqa: E402
from localsearch.evaluate import evaluate_rankings, load_dataset  # noqa: E402
from localsearch.language import has_cjk  # noqa: E402
from localsearch.search.aggregate import dense_documents, documents_from_chunks  # noqa: E402
from localsearch.search.engine import CHUNKS_PER_DOCUMENT, SearchEngine  # noqa: E402
from localsearch.search.fusion import fuse_hybrid  # noqa: E402
from localsearch.search.language_weights import dense_weight_for  # noqa: E402

DENSE_SHARES = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
TODAY = 0.5
SAMPLE = 1000  # synthetic queries per source (300 left the docs' pick varying from 0.4 to 0.65)
LOGGED = 300  # simulated searches in the log
SEED = 7
SHOWN = 20  # results a simulated user looks at
Scores = dict[int, float]  # {document id: score} of one side
Chunked = dict[int, tuple[float, int]]  # {document id: (score, its best chunk id)}


@dataclass
class Retrieved:
    """One query's document candidates on each side, and the documents that answer it."""

    query: str
    bm25: dict[int, float]
    dense: dict[int, float]
    answers: set[int]
    qid: str = ""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Sides:
    """Retrieves each side of a query once, with the engine's own depth and aggregation."""

    def __init__(self, home: Path) -> None:
        self.settings: Settings = load_settings(home, record_history=False)
        self.engine = SearchEngine(self.settings)
        self.engine.warm_up()
        self.engine.ensure_lexical()
        self.multilingual = self.engine._multilingual_model()
        self._cache: dict[str, tuple[Scores, Scores]] = {}
        self._made: dict[tuple[str, ...], tuple[list[Pseudo], list[Pseudo]]] = {}
        self.paths = {
            int(r[0]): str(r[1])
            for r in self.engine.store.conn.execute("SELECT id, path FROM documents")
        }

    def close(self) -> None:
        self.engine.close()

    def _document_sides(self, query: str, dense_too: bool) -> tuple[Scores, Scores]:
        bm25, dense = self.document_candidates(query, dense_too)
        return {d: s for d, (s, _) in bm25.items()}, {d: s for d, (s, _) in dense.items()}

    def document_candidates(self, query: str, dense_too: bool = True) -> tuple[Chunked, Chunked]:
        """Each side's documents as the engine ranks them: {document id: (score, best chunk)}."""
        engine, depth = self.engine, self.settings.candidates
        bm25_chunks = engine._lexical_candidates(query, depth * CHUNKS_PER_DOCUMENT, []) or {}
        dense_chunks = (
            engine._dense_candidates(query, depth * CHUNKS_PER_DOCUMENT, "1", [])
            if dense_too
            else {}
        )
        owners = engine._owners(bm25_chunks.keys() | dense_chunks.keys())
        decay = self.settings.chunk_decay
        share, openings_of = self.settings.opening_share, engine.store.opening_chunks
        return (
            documents_from_chunks(bm25_chunks, owners, depth, decay),
            dense_documents(dense_chunks, owners, depth, decay, share, openings_of),
        )

    def retrieve(self, query: str, answers: set[int], qid: str = "") -> Retrieved:
        if query not in self._cache:
            self._cache[query] = self._document_sides(query, dense_too=True)
        bm25, dense = self._cache[query]
        return Retrieved(query, bm25, dense, answers, qid)

    def bm25_first(self, query: str) -> int | None:
        bm25, _ = self._document_sides(query, dense_too=False)
        return next(iter(bm25), None)

    def ranking(self, item: Retrieved, share: float, k: int = 100) -> list[int]:
        dense_weight = dense_weight_for(
            item.query, share, has_cjk(item.query) and self.multilingual
        )
        fused = fuse_hybrid(
            item.bm25,
            item.dense,
            fusion=self.settings.fusion,
            rrf_k=self.settings.rrf_k,
            bm25_weight=1 - share,
            dense_weight=dense_weight,
        )
        return sorted(fused, key=lambda d: -fused[d])[:k]

    def mrr(self, items: Sequence[Retrieved], share: float) -> float:
        total = 0.0
        for item in items:
            top = self.ranking(item, share, 10)
            rank = next((i for i, d in enumerate(top, 1) if d in item.answers), None)
            total += 1 / rank if rank else 0.0
        return total / len(items) if items else 0.0

    def synthetic(self, kinds: Sequence[str]) -> tuple[list[Pseudo], list[Pseudo]]:
        """All the generator's queries of `kinds` for the corpus, and those whose document BM25
        does not rank first."""
        if tuple(kinds) in self._made:
            return self._made[tuple(kinds)]
        chunks = list(self.engine.store.iter_chunks())
        owner = {c.id: c.document_id for c in chunks}
        made = [
            Pseudo(q.query, owner[q.chunk_id])
            for q in generate_structural_queries(chunks, kinds=kinds)
        ]
        misses = [q for q in made if self.bm25_first(q.text) != q.document]
        log(f"  {len(made)} synthetic queries ({', '.join(kinds)}), {len(misses)} BM25 misses")
        self._made[tuple(kinds)] = made, misses
        return made, misses

    def sample(self, queries: Sequence[Pseudo], seed: int) -> list[Retrieved]:
        picked = random.Random(seed).sample(list(queries), min(SAMPLE, len(queries)))
        return [self.retrieve(q.text, {q.document}) for q in picked]


@dataclass(frozen=True)
class Pseudo:
    text: str
    document: int


STRUCTURE = ("title", "heading", "anchor", "keywords")  # what adapt makes, keywords filling in


def synthetic_sources(sides: Sides, seed: int) -> dict[str, list[Retrieved]]:
    sources = {}
    for name, kinds in (("synthetic", STRUCTURE), ("synthetic keywords", ("keywords",))):
        made, misses = sides.synthetic(kinds)
        sources[name] = sides.sample(made, seed)
        sources[f"{name}, BM25's misses"] = sides.sample(misses, seed)
    return sources


def seed_picks(sides: Sides, seeds: int, min_queries: int = 30) -> None:
    """Each source's pick for other samples of the same queries: how stable the choice is."""
    if seeds < 2:
        return
    picks: dict[str, list[str]] = {}
    for seed in range(SEED, SEED + seeds):
        for name, items in synthetic_sources(sides, seed).items():
            curve = curve_of(lambda s, items=items: sides.mrr(items, s))
            picks.setdefault(name, []).append(
                f"{choose(curve):.2f}" if len(items) >= min_queries else "-"
            )
    print(f"  picks over {seeds} samples (seed {SEED} on; '-' under {min_queries} queries):")
    for name, row in picks.items():
        print(f"    {name:34s} {' '.join(row)}")


def choose(curve: Mapping[float, float]) -> float:
    """The best share; a tie goes to the one nearest today's."""
    return max(curve, key=lambda s: (round(curve[s], 6), -abs(s - TODAY)))


def curve_of(score: Callable[[float], float]) -> dict[float, float]:
    return {share: score(share) for share in DENSE_SHARES}


def print_curve(name: str, curve: Mapping[float, float], chosen: float | None = None) -> None:
    cells = " ".join(f"{curve[s]:.4f}" for s in DENSE_SHARES)
    tail = f"  -> {chosen:.2f}" if chosen is not None else ""
    print(f"  {name:34s} {cells}{tail}", flush=True)


def header(title: str) -> None:
    print(f"\n{title} (load {os.getloadavg()[0]:.1f})")
    print(f"  {'dense share':34s} " + " ".join(f"{s:>6}" for s in DENSE_SHARES))


Qrels = dict[str, dict[str, int]]


def scifact_judged(
    sides: Sides, splits: Sequence[str] = ("train", "test")
) -> tuple[dict[str, list[Retrieved]], dict[str, Qrels], dict[int, str]]:
    """Each split's judged queries retrieved, its qrels, and each document's corpus id."""
    prefix = f"{load_dataset(SCIFACT, 'train').corpus_path.resolve()}#"
    corpus_id = {d: p[len(prefix) :] for d, p in sides.paths.items() if p.startswith(prefix)}
    doc_of = {c: d for d, c in corpus_id.items()}
    judged: dict[str, list[Retrieved]] = {}
    qrels: dict[str, Qrels] = {}
    for split in splits:
        dataset = load_dataset(SCIFACT, split)
        qrels[split] = dataset.qrels
        judged[split] = [
            sides.retrieve(text, {doc_of[c] for c, g in dataset.qrels[q].items() if g > 0}, q)
            for q, text in dataset.queries.items()
        ]
        log(f"  {split}: {len(judged[split])} queries retrieved")
    return judged, qrels, corpus_id


def known_answer_judged(sides: Sides, queries_file: Path) -> list[Retrieved]:
    """The known-answer queries retrieved, each answered by the documents its path suffix names."""
    lines = queries_file.read_text(encoding="utf-8").splitlines()[1:]
    pairs = [line.split("\t") for line in lines if line.strip()]
    return [
        sides.retrieve(q, {d for d, p in sides.paths.items() if p.endswith(suffix)})
        for q, suffix in pairs
    ]


def scifact(home: Path, seeds: int) -> None:
    sides = Sides(home)
    try:
        judged, qrels, corpus_id = scifact_judged(sides)

        def ndcg(split: str, share: float, only: set[str] | None = None) -> float:
            rankings = {
                i.qid: [corpus_id[d] for d in sides.ranking(i, share)]
                for i in judged[split]
                if only is None or i.qid in only
            }
            wanted = {q: r for q, r in qrels[split].items() if only is None or q in only}
            return evaluate_rankings(wanted, rankings)["ndcg@10"]

        def simulated_log(seed: int) -> tuple[list[Retrieved], set[str]]:
            """LOGGED train queries searched at today's share, the first judged result in the
            top SHOWN opened; and the train queries left out of the log."""
            order = sorted(i.qid for i in judged["train"])
            random.Random(seed).shuffle(order)
            logged_ids = set(order[:LOGGED])
            logged = []
            for item in judged["train"]:
                if item.qid not in logged_ids:
                    continue
                seen = [d for d in sides.ranking(item, TODAY, SHOWN) if d in item.answers]
                if seen:
                    logged.append(Retrieved(item.query, item.bm25, item.dense, {seen[0]}, item.qid))
            return logged, {i.qid for i in judged["train"]} - logged_ids

        logged, unlogged = simulated_log(SEED)
        log(f"  log: {LOGGED} searches, {len(logged)} with an opened result")

        sources = {**synthetic_sources(sides, SEED), "logged (opened result)": logged}
        header("SciFact: MRR@10 of each source; nDCG@10 of the judged queries")
        chosen = {}
        for name, items in sources.items():
            curve = curve_of(lambda s, items=items: sides.mrr(items, s))
            chosen[name] = choose(curve)
            print_curve(f"{name} ({len(items)})", curve, chosen[name])
        train = curve_of(lambda s: ndcg("train", s))
        print_curve("train nDCG@10 (809)", train, choose(train))
        rest = curve_of(lambda s: ndcg("train", s, unlogged))
        print_curve(f"train not logged nDCG@10 ({len(unlogged)})", rest, choose(rest))
        picks = sorted(set(chosen.values()) | {TODAY})
        test = {s: ndcg("test", s) for s in picks}
        print(
            "  test nDCG@10 at the shares picked: "
            + ", ".join(f"{s}: {test[s]:.4f}" for s in picks)
        )
        seed_picks(sides, seeds)
        if seeds > 1:
            print(
                "  logged, other logs: pick, and nDCG@10 of the train queries not logged"
                " at the pick / at 0.5"
            )
            for seed in range(SEED, SEED + seeds):
                logged, unlogged = simulated_log(seed)
                pick = choose(curve_of(lambda s, items=logged: sides.mrr(items, s)))
                print(
                    f"    seed {seed}: {pick:.2f}  {ndcg('train', pick, unlogged):.4f}"
                    f" / {ndcg('train', TODAY, unlogged):.4f}"
                )
    finally:
        sides.close()


def known_answers(title: str, home: Path, queries_file: Path, seeds: int) -> None:
    sides = Sides(home)
    try:
        judged = known_answer_judged(sides, queries_file)
        sources = synthetic_sources(sides, SEED)
        header(f"{title}: MRR@10 of each source and of the known-answer queries")
        for name, items in sources.items():
            curve = curve_of(lambda s, items=items: sides.mrr(items, s))
            print_curve(f"{name} ({len(items)})", curve, choose(curve))
        answers = curve_of(lambda s: sides.mrr(judged, s))
        print_curve(f"known-answer MRR@10 ({len(judged)})", answers, choose(answers))
        seed_picks(sides, seeds)
    finally:
        sides.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scifact-home", type=Path)
    parser.add_argument("--docs-home", type=Path)
    parser.add_argument("--cjk-home", type=Path)
    parser.add_argument("--seeds", type=int, default=1, help="also pick on this many samples")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.docs_home:
        known_answers("docs", args.docs_home, DOCS_QUERIES, args.seeds)
    if args.cjk_home:
        known_answers("CJK docs", args.cjk_home, CJK_QUERIES, args.seeds)
    if args.scifact_home:
        scifact(args.scifact_home, args.seeds)


if __name__ == "__main__":
    main()
