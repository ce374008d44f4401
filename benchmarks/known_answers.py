"""Hit@10 and MRR@10 of bm25, dense and hybrid on a known-answer query file.

A known-answer file is a TSV of `query<TAB>relevant_path_suffix` (../shared/corpora/queries/).
Indexes the corpus into HOME unless it is already there, then prints one line per mode.
Run from the repository root:

    python benchmarks/known_answers.py --home /tmp/cjk-home \\
        --corpus ../shared/corpora/cjk-docs --queries ../shared/corpora/queries/cjk-docs.tsv
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from localsearch.config import Settings, load_settings  # noqa: E402
from localsearch.index import Index  # noqa: E402
from localsearch.search.engine import MODES, SearchEngine  # noqa: E402


def read_queries(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(q, s) for q, s in (line.split("\t") for line in lines if line.strip())]


def indexed_home(home: Path, corpus: Path, model: str | None = None) -> Settings:
    """HOME's settings, with the corpus indexed into it first unless it is already there."""
    settings = load_settings(home)
    if not settings.database_path.exists():
        started = time.perf_counter()
        index = Index(settings)
        try:
            index.update([corpus.resolve()], model=model)
        finally:
            index.close()
        print(f"indexed in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--per-query", action="store_true", help="print each query's ranks")
    args = parser.parse_args()
    settings = indexed_home(args.home, args.corpus, args.model)
    queries = read_queries(args.queries)
    engine = SearchEngine(settings)
    try:
        engine.warm_up()
        engine.ensure_lexical()
        for mode in MODES:
            hits, reciprocal, ranks = 0, 0.0, []
            started = time.perf_counter()
            for query, suffix in queries:
                paths = [h.path for h in engine.search(query, k=10, mode=mode).hits]
                rank = next((i for i, p in enumerate(paths, 1) if p.endswith(suffix)), None)
                ranks.append(rank)
                hits += rank is not None
                reciprocal += 1 / rank if rank else 0.0
            per_query = (time.perf_counter() - started) * 1000 / len(queries)
            hit_rate, mrr = hits / len(queries), reciprocal / len(queries)
            print(
                f"{mode:7s} Hit@10 {hit_rate:.3f}  MRR@10 {mrr:.3f}"
                f"  ({len(queries)} queries, {per_query:.0f} ms/query,"
                f" load {os.getloadavg()[0]:.1f})"
            )
            if args.per_query:
                print("        ranks:", " ".join("-" if r is None else str(r) for r in ranks))
    finally:
        engine.close()


if __name__ == "__main__":
    main()
