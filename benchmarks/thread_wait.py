"""The bundled encoder on one torch thread and on two, with OpenMP's default and passive waits,
each in a fresh process: CPU and wall seconds for the same SciFact abstracts, and the load.

On a busy machine a spinning OpenMP thread burns its time slice waiting for a partner that is
descheduled. The suite's background index builds take every core once the suite waits on them
alone (tests/background_eval.py), and other work on the machine makes that partner wait; this
shows what each wait costs there, and on an idle machine what two threads gain.

    python benchmarks/thread_wait.py [--scifact ../shared/datasets/scifact] [--texts 400]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=Path("../shared/datasets/scifact"))
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        encode(args.scifact, args.texts, args.child)
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
