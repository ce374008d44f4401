"""The text phase of `localsearch index` (walk, extract, chunk, commit text and BM25) with 1
and with N extraction workers: seconds, files/s, chunks/s, and how soon BM25 can answer.

    python benchmarks/text_phase.py FOLDER... [--workers 1,4] [--rounds 1]

Each run indexes the folders into a fresh home with the embed phase left out (no model is
loaded), so the figures are the text phase's alone. "first BM25" is the time from the start of
`Index.update` to the first batch committed to SQLite and the lexical index: from then on a
BM25 search finds what is in. The load average (`/proc/loadavg`) is printed before each run:
on a shared machine it says how much the cores were someone else's.

2-core dev machine (shared), docs corpus (1,314 files, 36,024 chunks): see the commit adding
this file and README's "Indexing speed" for the figures; the GPU box's 16 cores are where the
workers were meant to pay (benchmarks/gpu_index.py --extract-workers).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from localsearch.config import load_settings
from localsearch.index import Index, IndexReport
from localsearch.ingest.read_workers import worker_count


class TextOnlyIndex(Index):
    """An Index that stops after the text phase and notes when its first batch committed."""

    first_commit: float | None = None

    def embed_pending(self, *args: object, **kwargs: object) -> None:
        return None

    def _apply_lexical(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super()._apply_lexical(*args, **kwargs)
        if self.first_commit is None:
            self.first_commit = time.perf_counter()


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def text_phase(paths: list[Path], workers: int) -> tuple[IndexReport, float, float]:
    """(report, seconds, seconds to the first committed batch) for one run into a new home."""
    with tempfile.TemporaryDirectory() as home:
        index = TextOnlyIndex(load_settings(home, extract_workers=workers))
        try:
            started = time.perf_counter()
            report = index.update(paths)
            seconds = time.perf_counter() - started
            first = (index.first_commit or time.perf_counter()) - started
        finally:
            index.close()
    return report, seconds, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument(
        "--workers",
        default=f"1,{max(2, worker_count(0, 10**6))}",
        help="worker counts to compare (1: read in the indexing process); default 1 and this"
        " machine's own choice (at least 2)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each count, alternated")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    for round_number in range(1, args.rounds + 1):
        for workers in counts:
            load = load_average()
            report, seconds, first = text_phase(args.paths, workers)
            files = report.added + report.updated
            print(
                f"round {round_number}, workers {workers}: {seconds:.1f} s,"
                f" {files / seconds:.1f} files/s, {report.chunks / seconds:.0f} chunks/s,"
                f" first BM25 batch at {first:.2f} s ({files} files, {report.chunks} chunks;"
                f" load before: {load})",
                flush=True,
            )


if __name__ == "__main__":
    main()
