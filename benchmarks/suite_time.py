"""The test suite's wall time and where its CPU goes, beside this machine's encoder speed.

Issue 16 asks for the whole suite in at most 10 minutes on an idle 2-core machine. The suite is
bound by CPU, and most of that CPU is the bundled MiniLM embedding SciFact (9.5k chunks) and
the known-answer corpus samples, so its wall time follows the machine's encoder speed: native
bf16 (AVX512-BF16 or AMX) embeds several times faster than fp32 on AVX-512 or AVX2. This script
first times the encoder on SciFact abstracts (one thread, the precision indexing picks), then
runs the suite with a plugin (benchmarks/suite_cpu.py) that records each test's wall time and
the CPU of pytest's process and of the children it reaps, and prints the totals, how busy the
cores were, and the tests that cost most CPU.

    python benchmarks/suite_time.py [--scifact ../shared/datasets/scifact] [--probe-only]
        [-- extra pytest arguments]

Run it from the repository root of the checkout to measure, on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from suite_cpu import cpu_seconds

BENCHMARKS = Path(__file__).resolve().parent
TARGET_SECONDS = 600
PROBE_TEXTS = 300


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def encoder_speed(scifact: Path) -> tuple[str, float]:
    """(precision, SciFact abstracts embedded per CPU-second on one thread)."""
    import torch

    from localsearch.catalog import resolve_model
    from localsearch.config import DEFAULT_MODEL
    from localsearch.embed.encoder import format_passage
    from localsearch.embed.sentence_transformer import SentenceTransformerEncoder
    from localsearch.evaluate.beir import read_corpus

    torch.set_num_threads(1)
    texts = [
        format_passage(record.title, "", record.text)
        for record in islice(read_corpus(scifact / "corpus.jsonl"), PROBE_TEXTS)
    ]
    with tempfile.TemporaryDirectory() as models:
        encoder = SentenceTransformerEncoder(resolve_model(DEFAULT_MODEL, Path(models)))
        encoder.encode_passages(texts[:8])  # loads and warms the model
        started = time.process_time()
        encoder.encode_passages(texts)
        seconds = time.process_time() - started
    return str(getattr(encoder, "precision", "?")), len(texts) / seconds


def run_suite(
    pytest_args: list[str],
) -> tuple[int, float, float, list[tuple[str, float, float, float]]]:
    """(pytest's exit code, wall s, CPU s of the whole run, per-test rows)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "tests.tsv"
        path = os.pathsep.join(filter(None, [str(BENCHMARKS), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "SUITE_CPU_OUT": str(out)}
        _, cpu_before = cpu_seconds()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "suite_cpu", "-q", *pytest_args], env=env
        )
        wall = time.perf_counter() - started
        cpu = cpu_seconds()[1] - cpu_before
        rows = []
        for part in sorted(out.parent.glob(f"{out.name}*")):
            for line in part.read_text(encoding="utf-8").splitlines():
                nodeid, *numbers = line.split("\t")
                test_wall, own, children = (float(n) for n in numbers)
                rows.append((nodeid, test_wall, own, children))
    return done.returncode, wall, cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=Path("../shared/datasets/scifact"))
    parser.add_argument("--probe-only", action="store_true", help="time the encoder only")
    parser.add_argument("--rows", type=Path, help="also write every test's row to this TSV")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()

    from localsearch.cpu_budget import usable_cpus
    from localsearch.embed.sentence_transformer import cpu_has_bf16

    cores = len(usable_cpus())
    print(f"machine: {cpu_name()}, {cores} cores, native bf16: {cpu_has_bf16()}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    precision, rate = encoder_speed(args.scifact)
    print(
        f"encoder ({precision}, one thread): {rate:.1f} SciFact abstracts per CPU-second"
        " (each cut at the model's 256 tokens)"
    )
    if args.probe_only:
        return

    code, wall, cpu, rows = run_suite(args.pytest_args)
    own = sum(r[2] for r in rows)
    children = sum(r[3] for r in rows)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"pytest exit code {code}; {len(rows)} tests")
    print(
        f"wall {wall:.1f} s (target {TARGET_SECONDS} s); CPU {cpu:,.0f} s:"
        f" {cpu / (wall * cores):.0%} of {cores} cores busy. Within tests: pytest's processes"
        f" {own:,.0f} s, the children they reaped {children:,.0f} s; the rest is start-up,"
        " collection and, under pytest-xdist, the background index builds (its controller"
        " reaps them)"
    )
    print("most CPU (wall s, own CPU s, children's CPU s):")
    for nodeid, test_wall, test_own, test_children in sorted(
        rows, key=lambda r: r[2] + r[3], reverse=True
    )[:12]:
        print(f"  {test_wall:7.1f} {test_own:7.1f} {test_children:7.1f}  {nodeid}")
    if args.rows:
        args.rows.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows), "utf-8")


if __name__ == "__main__":
    main()
