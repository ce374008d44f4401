"""The bundled encoder on one torch thread and on two, with OpenMP's default and passive waits,
each in a fresh process: CPU and wall seconds for the same SciFact abstracts, and the load.

On a busy machine a spinning OpenMP thread burns its time slice waiting for a partner that is
descheduled. The suite's background index builds take every core once the suite waits on them
alone (tests/background_eval.py), and other work on the machine makes that partner wait; this
shows what each wait costs there, and on an idle machine what two threads gain.

    python benchmarks/thread_wait.py [--scifact ../shared/datasets/scifact] [--texts 400]

The same question for the product, its settings alternated round by round in fresh processes,
each round once as the machine is and once beside --busy busy loops that this script starts
and ends (a compiler or a browser beside indexing): `--index FOLDER` indexes FOLDER into a fresh
home (wall, text and embed seconds, embed chunks/s, CPU seconds of the run and its workers);
`--queries` runs benchmarks/query_latency.py's warm SciFact searches against a copy of a built
home (--cache, as query_latency.py's; it is written to, so never give it a shared one).

    python benchmarks/thread_wait.py --index FOLDER [--rounds 3] [--busy 2]
    python benchmarks/thread_wait.py --queries --cache DIR [--rounds 3] [--busy 2]

2026-12-05 06:44-07:27 UTC, the 2-core bf16 Xeon, other sessions' jobs keeping the load at 5-8
throughout (so "as the machine is" was never idle); spinning is libgomp's default spin count,
short spin GOMP_SPINCOUNT=10000. Embed chunks/s, each run in order of rounds:

    folder (chunks)                 beside          spinning  short spin  passive     one thread
    docutils docs/dev (530)         others          2.9       -           28.7        29.9
                                    + 2 busy loops  1.1       -           12.7        5.8
    docutils eps, api, howto (209)  others          7.1, 5.4  28.2, 18.3  31.6, 33.9  33.1, 31.9
                                    + 2 busy loops  1.6, 0.9  8.5, 6.7    17.1, 10.3  7.6, 6.6

CPU seconds for the 209 chunks: spinning 22-24 beside others (42-51 beside the loops), short
spin 9-10, passive and one thread 6-7.6; for the 530, spinning 98 and 126, passive 14 and 15.
Warm SciFact searches (--queries, hybrid p50 ms, 200 queries): beside others (load 4.7-7.5)
spinning 17.4, 25.6, 12.1, 15.8 against passive 20.0, 27.2, 16.6, 15.2 (short spin 18.0, 26.4,
16.1, 13.2), beside the loops spinning 82.5, 80.2, passive 77.5, 85.8: the engine encodes on one
thread there (search/query_threads.py), where the wait does not matter. A loop over
encode_query alone (not in this script; 200 queries, load 3.1-3.6, alternated): one thread p50
6.9 and 7.2 ms spinning, 6.8 and 11.4 passive, CPU 7.1-7.9 ms a query; forced onto two threads,
spinning p50 26.6 and 30.5 ms (59-85 ms of CPU a query), passive 7.8 and 7.4.

Idle (07:42-07:46 UTC, load 0.1-1.6, `--busy 0`), which decided the product's setting, the
short spin (cpu_budget.spin_briefly): docutils docs/dev (530 chunks) embedded at 58.5, 59.3
chunks/s spinning, 55.4, 59.2 short spin, 44.3, 43.2 passive, 37.2, 35.2 on one thread; warm
SciFact hybrid p50 11.7, 12.4, 11.7, 12.2 ms spinning, 9.7, 9.6, 9.6, 11.0 short spin, 13.5,
12.5, 12.1, 12.4 passive (encode 6.1-7.6, 5.8-6.9, 8.4-9.4). Beside two busy loops alone (load
1.2-3.5, a scratch loop over index_run): 530 chunks at 21.2, 20.3 short spin, 21.3, 23.0
passive, 20.3, 22.5 with 1,000 spins; 1,000 spins encoded idle queries as slowly as passive
(9.0, 10.8 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

# (threads, OpenMP setting): libgomp, which torch's Linux wheels use, spins 300,000 times by
# default before it sleeps.
RUNS = (
    ("1", {}),
    ("2", {}),
    ("2", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("2", {"GOMP_SPINCOUNT": "10000"}),
)
OPENMP_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
# The product's runs: libgomp's default spin count named outright, so that no default of the
# product's own replaces it; one thread for indexing, where nothing waits.
SPINNING = ("spinning", {"GOMP_SPINCOUNT": "300000"})
SHORT_SPIN = ("short spin", {"GOMP_SPINCOUNT": "10000"})
PASSIVE = ("passive", {"OMP_WAIT_POLICY": "PASSIVE"})
INDEX_RUNS = (SPINNING, SHORT_SPIN, PASSIVE, ("one thread", {"OMP_NUM_THREADS": "1"}))
QUERY_RUNS = (SPINNING, SHORT_SPIN, PASSIVE)
QUERY_LATENCY = Path(__file__).with_name("query_latency.py")
QUERY_LINE = re.compile(
    r"warm +(dense|hybrid): p50 +([\d.]+) ms +p95 +([\d.]+) ms +\(cpu p50 +([\d.]+)"
)
ENCODE_PART = re.compile(r"parts \(p50 ms\): encode ([\d.]+)")


def encode(scifact: Path, texts: int, threads: int) -> None:
    """In the child: load and warm the encoder, then time one pass over `texts` abstracts."""
    import tempfile

    import torch

    from localsearch.config import DEFAULT_MODEL, load_settings
    from localsearch.embed.encoder import format_passage
    from localsearch.embed.sentence_transformer import load_encoder
    from localsearch.evaluate.beir import read_corpus

    passages = [
        format_passage(record.title, "", record.text)
        for record in islice(read_corpus(scifact / "corpus.jsonl"), texts)
    ]
    with tempfile.TemporaryDirectory() as home:
        encoder = load_encoder(DEFAULT_MODEL, load_settings(Path(home)).models_dir)
        encoder.encode_passages(passages[:16])
        torch.set_num_threads(threads)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu, started = usage.ru_utime + usage.ru_stime, time.perf_counter()
        encoder.encode_passages(passages)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{usage.ru_utime + usage.ru_stime - cpu:.1f} {wall:.1f}")


def index_folder(folder: Path, home: Path) -> None:
    """In the child: index `folder` into `home` as `localsearch index` does, and print its
    phases' seconds and chunk count as JSON."""
    from localsearch.config import load_settings
    from localsearch.index import Index
    from localsearch.progress import ProgressEvent

    first: dict[str, float] = {}

    def note(event: ProgressEvent) -> None:
        first.setdefault(event.stage, time.perf_counter())

    index = Index(load_settings(home))
    started = time.perf_counter()
    report = index.update([folder], progress=note)
    ended = time.perf_counter()
    index.close()
    embed_started = first.get("embed", ended)
    print(
        json.dumps(
            {
                "seconds": ended - started,
                "text": embed_started - started,
                "embed": ended - embed_started,
                "chunks": report.chunks_embedded,
            }
        )
    )


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """`count` processes that keep a core busy each, ended on the way out."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def child_env(setting: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*OPENMP_SETTINGS, "OMP_NUM_THREADS")}
    return {**env, **setting}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def index_run(folder: Path, setting: dict[str, str], scratch: Path) -> tuple[str, float]:
    """One index run in a fresh process and home: its line, and embed chunks/s."""
    home = Path(tempfile.mkdtemp(dir=scratch))
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--index", str(folder), "--child-home", str(home)],
        env=child_env(setting),
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    run = json.loads(done.stdout.splitlines()[-1])
    rate = run["chunks"] / max(run["embed"], 1e-9)
    return (
        f"wall {wall:5.1f} s (text {run['text']:4.1f}, embed {run['embed']:5.1f}),"
        f" {rate:5.1f} chunks/s of {run['chunks']}, CPU {cpu:5.1f} s"
    ), rate


def query_run(cache: Path, queries: int, setting: dict[str, str]) -> tuple[str, float]:
    """query_latency.py's warm SciFact searches in a fresh process: its line, and hybrid p50."""
    done = subprocess.run(
        [sys.executable, str(QUERY_LATENCY), "--sizes", "0", "--paths", "warm"]
        + ["--queries", str(queries), "--cache", str(cache)],
        env=child_env(setting),
        capture_output=True,
        text=True,
        check=True,
    )
    modes = {m[1]: m.groups()[1:] for m in QUERY_LINE.finditer(done.stdout)}
    encode = ENCODE_PART.search(done.stdout)
    parts = [f"{mode} {p50}/{p95} ms (cpu {cpu})" for mode, (p50, p95, cpu) in modes.items()]
    parts.append(f"encode {encode[1] if encode else '?'} ms")
    return ", ".join(parts), float(modes["hybrid"][0])


def alternate(args: argparse.Namespace) -> None:
    """Each setting in turn, round by round, as the machine is and beside --busy busy loops;
    the order rotates each round so that no setting always follows the busy loops' start."""
    runs = INDEX_RUNS if args.index else QUERY_RUNS
    unit = "embed chunks/s" if args.index else "hybrid p50 ms"
    figures: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            for busy in (0, args.busy):
                shift = round_number % len(runs)
                with busy_loops(busy):
                    for name, setting in runs[shift:] + runs[:shift]:
                        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                        if args.index:
                            line, figure = index_run(args.index, setting, Path(scratch))
                        else:
                            line, figure = query_run(args.cache, args.queries, setting)
                        figures.setdefault((busy, name), []).append(figure)
                        print(
                            f"round {round_number + 1}, {busy} busy, {name:>10}: {line}"
                            f" (load {load})",
                            flush=True,
                        )
    print(f"median {unit}:")
    for (busy, name), values in sorted(figures.items()):
        print(f"  {busy} busy, {name:>10}: {statistics.median(values):6.1f}  of {len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=Path("../shared/datasets/scifact"))
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--index", type=Path, help="index this folder with each setting")
    parser.add_argument("--queries", nargs="?", type=int, const=200, help="warm SciFact searches")
    parser.add_argument("--cache", type=Path, help="query_latency.py's --cache (a copy)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2, help="busy loops beside the loaded runs")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_home:
        index_folder(args.index, args.child_home)
        return
    if args.child:
        encode(args.scifact, args.texts, args.child)
        return
    if args.queries and not args.cache:
        parser.error("--queries needs --cache: a copy of a built SciFact home's parent folder")
    if args.index or args.queries:
        alternate(args)
        return

    print(f"{args.texts} SciFact abstracts; each run starts at one thread as the suite's do")
    for threads, setting in RUNS:
        env = {k: v for k, v in os.environ.items() if k not in OPENMP_SETTINGS}
        env.update(OMP_NUM_THREADS="1", **setting)
        load = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, __file__, "--scifact", str(args.scifact), "--texts", str(args.texts)]
            + ["--child", threads],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        cpu, wall = done.stdout.split()
        named = " ".join(f"{k}={v}" for k, v in setting.items()) or "default"
        print(f"  {threads} thread(s), {named}: CPU {cpu} s, wall {wall} s (load {load:.1f})")


if __name__ == "__main__":
    main()
