"""adapt on SciFact: nDCG@10 of the bundled model before and after, and adapt's wall time.

The corpus is indexed once (no qrels, no queries: adapt sees only the documents), copied to a
fresh home for each run, adapted with the given options, and scored with `localsearch eval` on
the test split before and after. Run from the repository root:

    python benchmarks/adapt_scifact.py [--work DIR] [--time-budget MIN] [--force-keep] ...

--force-keep measures the new model even when the gate would reject it (for research: the gate
judges on held-out pseudo-queries, this script on the real test queries).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from localsearch.adapt import AdaptOptions, adapt  # noqa: E402
from localsearch.config import load_settings  # noqa: E402
from localsearch.evaluate import evaluate, load_dataset  # noqa: E402
from localsearch.evaluate.runner import build_index  # noqa: E402
from localsearch.progress import ProgressEvent  # noqa: E402

DATASET = REPO.parent / "shared" / "datasets" / "scifact"
MODES = ("dense", "hybrid")


class LinePrinter:
    """Progress as a line per stage every few seconds, for logs rather than terminals."""

    def __init__(self, every: float = 15.0) -> None:
        self.every = every
        self.last: dict[str, float] = {}
        self.started = time.monotonic()

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        done = event.total is not None and event.completed >= event.total
        if not done and now - self.last.get(event.stage, 0.0) < self.every:
            return
        self.last[event.stage] = now
        total = "?" if event.total is None else str(event.total)
        print(
            f"[{now - self.started:7.1f}s] {event.stage:9s} {event.completed}/{total}"
            f" {event.detail}",
            file=sys.stderr,
            flush=True,
        )


def scores(home: Path) -> dict[str, float]:
    report = evaluate(DATASET, split="test", home=home, modes=MODES)
    return {mode: report.modes[mode].ndcg_at_10 for mode in MODES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/localsearch-adapt-scifact"))
    parser.add_argument("--time-budget", type=float, help="training minutes")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--hard-negatives", type=int, default=0)
    parser.add_argument("--round-trip", action="store_true")
    parser.add_argument("--kinds", default="title,heading,anchor,keywords")
    parser.add_argument("--cached-loss", action="store_true")
    parser.add_argument("--force-keep", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    base_home = args.work / "base"
    load_dataset(DATASET, "test")  # fails early with a clear error if the data is missing
    started = time.monotonic()
    build_index(load_dataset(DATASET, "test"), load_settings(base_home), LinePrinter())
    print(f"index ready in {time.monotonic() - started:.0f}s", file=sys.stderr)
    home = args.work / "run"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base_home, home)

    before = scores(home)
    print(f"before: {before}", file=sys.stderr, flush=True)
    if args.force_keep:
        from localsearch.adapt import gate

        real_decision = gate.gate_decision

        def keep_anyway(current, new):  # type: ignore[no-untyped-def]
            keep, reason = real_decision(current, new)
            return True, f"{reason}; the gate would have {'kept' if keep else 'rejected'} it"

        gate.gate_decision = keep_anyway
    options = AdaptOptions(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seq_length=args.max_seq_length,
        max_steps=args.max_steps,
        time_budget_minutes=args.time_budget,
        negatives_per_query=args.hard_negatives,
        require_round_trip=args.round_trip,
        query_kinds=tuple(args.kinds.split(",")),
        cached_loss=args.cached_loss,
    )
    started = time.monotonic()
    result = adapt(load_settings(home), options, LinePrinter())
    adapt_seconds = time.monotonic() - started
    after = scores(home) if result.kept else before

    print(f"\nadapt: {result.reason}; kept={result.kept}; {adapt_seconds / 60:.1f} min")
    print(f"stages (s): {result.stage_seconds}")
    print(
        f"queries {result.queries}, training pairs {result.training_pairs},"
        f" held out {result.held_out_queries}"
    )
    if result.gate is not None:
        for mode, measure, old, new, change in result.gate.rows():
            print(f"  held-out {mode:6s} {measure:8s} {old:.3f} -> {new:.3f} ({change * 100:+.1f})")
    print("SciFact test nDCG@10   before   after   change")
    for mode in MODES:
        change = (after[mode] - before[mode]) * 100
        print(f"  {mode:20s} {before[mode]:.4f}  {after[mode]:.4f}  {change:+.1f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "before": before,
                    "after": after,
                    "adapt_seconds": adapt_seconds,
                    "options": {k: str(v) for k, v in vars(args).items()},
                    "result": result.to_dict(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
