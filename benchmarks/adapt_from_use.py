"""adapt from use on SciFact: a simulated user searches, opens what they recognise, and adapt
learns from that log; nDCG@10 on the test split before and after, the gate, the wall time.

For each N, a fresh copy of the indexed corpus gets a search log: N queries of the TRAIN split,
each searched through the real engine (hybrid, the default), with the first judged-relevant
document "opened" when it is in the top 20 (a user cannot open what they do not see). Then
`adapt` runs with its defaults and the TEST split is scored with `localsearch eval`. Run from
the repository root:

    python benchmarks/adapt_from_use.py [--n 0 50 100 300 809] [--base-home DIR]
    python benchmarks/adapt_from_use.py --n 300 --json FILE

--base-home copies an index of SciFact that `localsearch eval` built (it is never written);
without it the corpus is indexed into --work first. With one N, --json writes
{"n", "before": {"dense", "hybrid"}, "after": {...}, "kept", "seconds", ...}: scores as
fractions, `after` equal to `before` when the gate kept the old model, `seconds` the wall time
of `adapt` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapt_scifact import LinePrinter  # noqa: E402  (this folder is on sys.path)

from localsearch.adapt import AdaptOptions, adapt  # noqa: E402
from localsearch.config import load_settings  # noqa: E402
from localsearch.evaluate import evaluate, load_dataset  # noqa: E402
from localsearch.evaluate.runner import build_index  # noqa: E402

DATASET = REPO.parent / "shared" / "datasets" / "scifact"
MODES = ("dense", "hybrid")
SHOWN = 20  # results a simulated user looks at
SEED = 7


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scores(home: Path) -> dict[str, float]:
    report = evaluate(DATASET, split="test", home=home, modes=MODES)
    return {mode: round(report.modes[mode].ndcg_at_10, 4) for mode in MODES}


def simulate_user(home: Path, n: int) -> tuple[int, int]:
    """Search N train queries and log them, opening a judged document seen in the top 20;
    returns (searches, searches with an opened result)."""
    from localsearch.history import SearchHistory
    from localsearch.search import SearchEngine

    dataset = load_dataset(DATASET, "train")
    prefix = f"{dataset.corpus_path.resolve()}#"
    ids = sorted(dataset.queries)
    random.Random(SEED).shuffle(ids)
    settings = load_settings(home)
    engine = SearchEngine(settings)
    opened = 0
    try:
        engine.warm_up()
        history = SearchHistory(engine.store)
        for query_id in ids[:n]:
            text = dataset.queries[query_id]
            relevant = {d for d, grade in dataset.qrels[query_id].items() if grade > 0}
            hits = engine.search(text, k=SHOWN, mode="hybrid", snippets=False).hits
            search_id = history.record_search(
                text, "hybrid", [hit.chunk_id for hit in hits], "simulated"
            )
            seen = [hit for hit in hits if hit.path[len(prefix) :] in relevant]
            if seen and search_id is not None:
                history.record_action(search_id, seen[0].chunk_id, "open")
                opened += 1
    finally:
        engine.close()
    return min(n, len(ids)), opened


def run_one(n: int, base_home: Path, work: Path, before: dict[str, float]) -> dict[str, object]:
    home = work / f"n{n}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base_home, home)
    searched, opened = simulate_user(home, n) if n else (0, 0)
    log(f"N={n}: {searched} searches, {opened} with a judged document in the top {SHOWN}")
    started = time.monotonic()
    result = adapt(load_settings(home), AdaptOptions(), LinePrinter())
    seconds = time.monotonic() - started
    after = scores(home) if result.kept else dict(before)
    row = {
        "n": n,
        "opened": opened,
        "before": before,
        "after": after,
        "kept": result.kept,
        "seconds": round(seconds, 1),
        "query_side": result.query_side,
        "judged_on": result.judged_on,
        "reason": result.reason,
        "training_pairs": result.training_pairs,
        "history_pairs": result.history_pairs,
        "training_steps": (
            f"{result.training.steps}/{result.training.planned_steps}"
            + (" (time budget reached)" if result.training.stopped_early else "")
            if result.training
            else None
        ),
        "stage_seconds": result.stage_seconds,
        "load": os.getloadavg()[0],
    }
    log(json.dumps(row))
    shutil.rmtree(home, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[0, 50, 100, 300, 809])
    parser.add_argument("--work", type=Path, default=Path("/tmp/localsearch-adapt-from-use"))
    parser.add_argument("--base-home", type=Path, help="a SciFact home built by `eval` (copied)")
    parser.add_argument("--json", type=Path, help="write the result (one N) or results here")
    args = parser.parse_args()

    load_dataset(DATASET, "test")  # fails early with a clear error if the data is missing
    args.work.mkdir(parents=True, exist_ok=True)
    base_home = args.work / "base"
    shutil.rmtree(base_home, ignore_errors=True)
    if args.base_home is not None:
        shutil.copytree(args.base_home, base_home)
    build_index(load_dataset(DATASET, "test"), load_settings(base_home), LinePrinter())
    before = scores(base_home)
    log(f"bundled model: {before}")
    rows = [run_one(n, base_home, args.work, before) for n in args.n]

    print(f"SciFact test nDCG@10 after adapt from N simulated searches (load {os.getloadavg()})")
    print("    N  opened  dense before  after   hybrid before  after   kept  side    adapt")
    for row in rows:
        b, a = row["before"], row["after"]
        assert isinstance(b, dict) and isinstance(a, dict)
        print(
            f"{row['n']:5d}  {row['opened']:6d}  {b['dense']:.4f}  {a['dense']:.4f}"
            f" ({(a['dense'] - b['dense']) * 100:+.1f})  {b['hybrid']:.4f}  {a['hybrid']:.4f}"
            f" ({(a['hybrid'] - b['hybrid']) * 100:+.1f})  {'yes' if row['kept'] else 'no ':4s}"
            f"  {'query' if row['query_side'] else 'whole':6s}  {row['seconds']:5.0f}s"
        )
        print(f"       {row['judged_on']}; {row['reason']}; steps {row['training_steps']}")
    if args.json:
        data = rows[0] if len(rows) == 1 else rows
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
