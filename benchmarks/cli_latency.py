"""Whole-process `localsearch search` wall time, cold (in-process) and warm (resident server).

For each data folder given it runs hybrid searches as a user would (`python -m localsearch
search QUERY --json`, output into a pipe) and prints p50/p95 wall time per process and the
engine's own time (`elapsed_ms`: inside the server when warm). It also prints Python's bare
start-up, the client path's imports, and the floor of any in-process cold path (the imports it
needs before encoding a query, with and without torch), which is what a faster encoder (ONNX
with onnxruntime) could at best reach; it decides between that and a resident server.

    python benchmarks/cli_latency.py --home scifact=/path/to/scifact-home \\
        --home docs=/path/to/docs-home [--queries 20] [--cold-queries 20]

The name before `=` picks the queries: `scifact` (SciFact test queries) or `docs` (the known-
answer queries over the opensource-docs corpus). Every search runs with auto-start off; the
script starts and stops the server itself. Run it with `nice -n 5` on a shared machine, and
read the load averages it prints beside the numbers.

Figures of 2026-12-02 on the shared 2-core machine at a load average of 25-28 (wall times are
many times an idle machine's; CPU times are not): SciFact cold p50 118 s wall (5 queries);
warm p50 0.80 s / p95 1.01 s wall, 0.15 s client CPU, in the server 134 ms wall and 27 ms CPU
(p95 30 ms) per hybrid search. Python start-up 0.08 s CPU (0.015 s without site), the client
imports 0.13-0.16 s, the torch-free floor of an in-process search 0.21-0.24 s CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from localsearch.server.client import ask  # noqa: E402


def queries_for(name: str, count: int) -> list[str]:
    if name == "scifact":
        folder = SHARED / "datasets" / "scifact"
        with open(folder / "qrels" / "test.tsv", encoding="utf-8") as handle:
            wanted = list(dict.fromkeys(row[0] for row in csv.reader(handle, delimiter="\t")))[1:]
        texts = {}
        with open(folder / "queries.jsonl", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                texts[record["_id"]] = record["text"]
        return [texts[q] for q in wanted if q in texts][:count]
    with open(SHARED / "corpora" / "queries" / "opensource-docs.tsv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    return [row[0] for row in rows][:count]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    env["LOCALSEARCH_SERVER_AUTOSTART"] = "0"
    env["PYTHONPATH"] = str(REPO)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU_SECONDS: list[float] = []  # CPU time of each search process, beside its wall time


def timed_search(home: Path, query: str) -> tuple[float, float]:
    """(wall seconds of the whole process, the engine's elapsed_ms)."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "localsearch", "search", query, "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        env=environment(),
        check=True,
    )
    wall = time.perf_counter() - started
    CPU_SECONDS.append(children_cpu() - cpu)
    return wall, float(json.loads(done.stdout)["elapsed_ms"])


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {p50:.3f} p95 {p95:.3f}"


def median_wall(argv: list[str], runs: int = 7) -> str:
    """Median wall and CPU (user+sys) seconds of running argv: on a busy machine the two differ."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu = children_cpu()
        started = time.perf_counter()
        subprocess.run(argv, check=True, env=environment(), capture_output=True)
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - cpu)
    return f"wall {statistics.median(walls):.3f} s, cpu {statistics.median(cpus):.3f}"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def start_up_costs() -> None:
    python = sys.executable
    print(f"python -c pass:                       {median_wall([python, '-c', 'pass'])} s")
    print(f"python -S -c pass (no site):          {median_wall([python, '-S', '-c', 'pass'])} s")
    client = "import localsearch.cli, localsearch.cli.search_cmd, localsearch.server.client"
    print(f"client imports (cli, search, client): {median_wall([python, '-c', client])} s")
    floor = "import numpy, apsw, sqlite_vec, tantivy, tokenizers"
    print(f"cold floor without torch ({floor[7:]}): {median_wall([python, '-c', floor], 3)} s")
    # What a cold search of a plain BERT model imports (embed/bert_folder.py), and what any
    # other model still needs on top of torch.
    light = "import torch, tokenizers, safetensors.torch"
    print(f"torch + tokenizers + safetensors import: {median_wall([python, '-c', light], 3)} s")
    torch = "import torch, sentence_transformers"
    print(f"torch + sentence_transformers import:  {median_wall([python, '-c', torch], 3)} s")
    trace = subprocess.run(
        [python, "-X", "importtime", "-c", client],
        capture_output=True,
        text=True,
        env=environment(),
    ).stderr.splitlines()
    rows = []
    for line in trace:
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("   "):
            rows.append((int(parts[1]), parts[2].strip()))
    print("top-level imports of the client path (cumulative µs):")
    for micros, name in sorted(rows, reverse=True)[:8]:
        print(f"  {micros:>8}  {name}")


def bench_home(name: str, home: Path, count: int, cold_count: int) -> None:
    queries = queries_for(name, max(count, cold_count))
    subprocess.run(
        [sys.executable, "-m", "localsearch", "serve", "--stop", "--home", str(home)],
        env=environment(),
        capture_output=True,
    )
    print(f"\n== {name}: {home} ({load()})")
    CPU_SECONDS.clear()
    cold = [timed_search(home, q) for q in queries[:cold_count]]
    print(
        f"cold (no server), {len(cold)} queries: wall {percentiles([w for w, _ in cold])} s;"
        f" cpu {percentiles(CPU_SECONDS)} s; engine {percentiles([e for _, e in cold])} ms"
        f"  ({load()})"
    )
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "serve", "--home", str(home), "--idle", "10", "-q"],
        env=environment(),
    )
    try:
        while ask(home, {"op": "status"}) is None:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            time.sleep(0.05)
        print(f"server ready after {time.perf_counter() - started:.1f} s")
        timed_search(home, queries[0])  # one untimed search, as a user's first
        CPU_SECONDS.clear()
        warm = [timed_search(home, q) for q in queries[:count]]
        print(
            f"warm (server), {len(warm)} queries: wall {percentiles([w for w, _ in warm])} s;"
            f" client cpu {percentiles(CPU_SECONDS)} s;"
            f" in-server engine {percentiles([e for _, e in warm])} ms  ({load()})"
        )
        trips, cpus = [], []
        for query in queries[:count]:
            begun = time.perf_counter()
            reply = ask(home, {"op": "search", "query": query, "k": 10, "mode": "hybrid"})
            trips.append((time.perf_counter() - begun) * 1000)
            cpus.append(float((reply or {}).get("cpu_ms", 0.0)))
        print(
            f"socket round trip incl. search, {len(trips)} queries: {percentiles(trips)} ms;"
            f" the search's CPU time in the server {percentiles(cpus)} ms"
        )
    finally:
        ask(home, {"op": "stop"})
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--cold-queries", type=int, default=20)
    args = parser.parse_args()
    print(load())
    start_up_costs()
    for spec in args.home:
        name, _, folder = spec.partition("=")
        bench_home(name, Path(folder), args.queries, args.cold_queries)


if __name__ == "__main__":
    main()
