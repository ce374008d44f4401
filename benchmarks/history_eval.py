"""What the search history costs and what `eval --history` reports, on SciFact.

Simulates a user on a copy of an indexed SciFact home: N queries of the train split are
searched through the real engine (hybrid), each logged, and a judged relevant document is
"opened" when it is in the top 20 (a user cannot open what they do not see). Prints the time
one record_search + record_action takes, then runs `eval --history` and prints its scores and
wall time.

    python benchmarks/history_eval.py --home /work/cache/scifact-home --n 100

The home is copied to a temporary folder first; the one given is never written.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from localsearch.config import load_settings
from localsearch.evaluate.beir import load_dataset
from localsearch.evaluate.history import evaluate_history
from localsearch.history import SearchHistory
from localsearch.search.engine import SearchEngine
from localsearch.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="an indexed SciFact home")
    parser.add_argument("--dataset", type=Path, default=Path("../shared/datasets/scifact"))
    parser.add_argument("--n", type=int, default=100, help="train queries to simulate")
    args = parser.parse_args()

    dataset = load_dataset(args.dataset, "train")
    prefix = f"{dataset.corpus_path.resolve()}#"
    with tempfile.TemporaryDirectory(prefix="history-eval-") as scratch:
        home = Path(scratch) / "home"
        shutil.copytree(args.home, home)
        settings = load_settings(home)
        engine = SearchEngine(settings)
        engine.warm_up()
        store = Store(settings.database_path)
        history = SearchHistory(store)
        record_ms: list[float] = []
        opened = 0
        for query_id, text in list(dataset.queries.items())[: args.n]:
            results = engine.search(text, k=20, mode="hybrid", snippets=False)
            judged = dataset.qrels.get(query_id, {})
            started = time.perf_counter()
            search_id = history.record_search(
                text, "hybrid", [h.chunk_id for h in results.hits], "simulated"
            )
            wanted = [h for h in results.hits if h.path.removeprefix(prefix) in judged]
            if wanted and search_id is not None:
                history.record_action(search_id, wanted[0].chunk_id, "open")
                opened += 1
            record_ms.append((time.perf_counter() - started) * 1000)
        store.close()
        engine.close()
        print(
            f"{args.n} searches logged, {opened} with a judged document in the top 20 opened;"
            f" logging one search and its open: median {statistics.median(record_ms):.1f} ms,"
            f" max {max(record_ms):.1f} ms"
        )
        started = time.monotonic()
        report = evaluate_history(settings)
        seconds = time.monotonic() - started
        for scores in report.models:
            for mode, (mrr, hit) in scores.modes.items():
                print(f"{scores.model:24} {mode:7} MRR@10 {mrr:.4f}  Hit@10 {hit:.4f}")
        print(f"eval --history: {report.queries} queries, {seconds:.1f} s")


if __name__ == "__main__":
    main()
