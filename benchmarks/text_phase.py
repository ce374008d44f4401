"""The text phase of `localsearch index` (walk, extract, chunk, commit text and BM25) with 1
and with N extraction workers: seconds, files/s, chunks/s, and how soon BM25 can answer.

    python benchmarks/text_phase.py FOLDER... [--workers 1,4] [--rounds 1] [--commit-seconds 5]

Each run indexes the folders into a fresh home with the embed phase left out (no model is
loaded), so the figures are the text phase's alone. "first BM25 commit" is the time from the
start of `Index.update` to the end of the first tantivy commit (the first batch's): from then
on a BM25 search finds what is in. Then the tantivy commits: how many, their seconds (merges
waited for included) and the CPU of the indexing process while they ran. The load average
(`/proc/loadavg`) is printed before each run: on a shared machine it says how much the cores
were someone else's; the CPU seconds of the indexing process and of its workers (and their PDF
children) do not depend on it as much, and say what a machine with more cores would need of
each.

The 2-core dev machine, shared with other sessions, docs corpus (1,314 files, 36,024 chunks),
2026-12-05: CPU seconds are the steady figure. One worker (in-process): 27.0 s of CPU in the
indexing process. Two workers: 8.1 s in the indexing process and 19.2 s in the workers, 27.3 s
in all: the workers cost ~1% more CPU, and the indexing process keeps its writes (SQLite,
hashes, tantivy), ~8 s of CPU here, which is the text phase's floor however many cores read.
Wall times say little on two cores at load 7-15: at load 7-9, 50.1 and 51.8 s with one
against 56.7 and 62.9 s with two (spawn-based workers then); at load 11-15, 108-116 s with
one against 58-85 s with two, where three processes simply get more of the shared cores than
one. Hence no workers by default on two cores. First BM25-searchable batch: 0.35-1.21 s with
one, 1.11-1.75 s with two (the workers start first). The 16-core GPU box is where they are
meant to pay: `benchmarks/gpu_index.py --extract-workers N` there.

BM25 commits, same machine and corpus, 2026-12-05, two rounds each, alternated, at load
6.2-9.5: one tantivy commit per SQLite batch made 122
commits, 18.9-22.2 s of wall time and 5.3-5.9 s of CPU; the indexing process used 7.0-7.1 s
of CPU with two workers (22.0-22.1 s with one), and the text phase took 39-44 s (46-52 s).
Paced to one commit every 5 s after the first (lexical/paced_commits.py): 5-7 commits,
4.2-5.8 s and 2.1-2.9 s of CPU; 3.7-3.8 s of CPU in the indexing process (18.6-19.5 s with
one worker), 26-28 s (34-36 s). Every 2 s: 11-12 commits, 3.1 s of CPU, 4.7-4.8 s in the
process. The floor is tantivy's own indexing: a rebuild of all 36,024 chunks in one commit
took 2.2 s of CPU. At load 1.1-4.5 (two rounds each, not alternated) the indexing process
with two workers used 6.2-6.8 s of CPU per batch and 3.4-3.6 s every 5 s. `--commit-seconds
0` commits after every batch again.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from localsearch.config import load_settings
from localsearch.index import Index, IndexReport
from localsearch.ingest.read_workers import worker_count
from localsearch.lexical import paced_commits


class TextOnlyIndex(Index):
    """An Index that stops after the text phase and notes its BM25 commits: when the first
    one finished, how many there were and the seconds they took (merges waited for included)."""

    first_commit: float | None = None
    lexical_commits = 0
    lexical_seconds = 0.0
    lexical_cpu = 0.0  # of the whole process while a commit ran: tantivy's threads, mostly

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        apply = self.lexical.apply

        def timed_apply(*args: Any, **kwargs: Any) -> None:
            started, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
            apply(*args, **kwargs)
            finished = time.perf_counter()
            self.lexical_commits += 1
            self.lexical_seconds += finished - started
            self.lexical_cpu += cpu_seconds(resource.RUSAGE_SELF) - cpu
            if self.first_commit is None:
                self.first_commit = finished

        self.lexical.apply = timed_apply  # type: ignore[method-assign]

    def embed_pending(self, *args: object, **kwargs: object) -> None:
        return None


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def text_phase(
    paths: list[Path], workers: int
) -> tuple[IndexReport, float, float, float, float, TextOnlyIndex]:
    """(report, seconds, seconds to the first BM25 commit, CPU seconds of this process, CPU
    seconds of its workers, the index with its commit figures) for one run into a new home."""
    with tempfile.TemporaryDirectory() as home:
        index = TextOnlyIndex(load_settings(home, extract_workers=workers))
        try:
            own, children = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            report = index.update(paths)
            seconds = time.perf_counter() - started
            own = cpu_seconds(resource.RUSAGE_SELF) - own
            children = cpu_seconds(resource.RUSAGE_CHILDREN) - children
            first = (index.first_commit or time.perf_counter()) - started
        finally:
            index.close()
    return report, seconds, first, own, children, index


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
    parser.add_argument(
        "--commit-seconds",
        type=float,
        default=paced_commits.COMMIT_SECONDS,
        help="seconds between BM25 commits after the first (0: one per SQLite batch)",
    )
    args = parser.parse_args()
    paced_commits.COMMIT_SECONDS = args.commit_seconds
    counts = [int(n) for n in args.workers.split(",")]
    for round_number in range(1, args.rounds + 1):
        for workers in counts:
            load = load_average()
            report, seconds, first, own, children, index = text_phase(args.paths, workers)
            files = report.added + report.updated
            print(
                f"round {round_number}, workers {workers}: {seconds:.1f} s,"
                f" {files / seconds:.1f} files/s, {report.chunks / seconds:.0f} chunks/s,"
                f" first BM25 commit at {first:.2f} s; CPU {own:.1f} s here,"
                f" {children:.1f} s in workers; {index.lexical_commits} BM25 commits,"
                f" {index.lexical_seconds:.1f} s, {index.lexical_cpu:.1f} s CPU ({files} files,"
                f" {report.chunks} chunks; load before: {load})",
                flush=True,
            )


if __name__ == "__main__":
    main()
