"""The embed phase's own cost, without the model: what a GPU's encoder would be held back to.

    python benchmarks/embed_backlog.py HOME [--per-chunk-us 0,50]

Copies HOME's database (any indexed home; the query-latency cache's synthetic-100000 has 100k
chunks) and fills a fresh embedding space twice per stand-in encoder: as the embed phase runs
on a CPU (256 chunks a commit, encoding and writing in turn; before issue 16's GPU changes it
ran so on a GPU too) and as it runs on a GPU now (the grown commit, the next batch encoded
while the last is written). The
stand-in returns random vectors after a fixed wall time per chunk without using the CPU, as a
GPU would: 0 us gives the ceiling of the rest (reading chunks, hashing, reuse lookups, vec0
inserts, commits); 50 us is an encoder of 20,000 chunks/s.

2026-12-04, 2-core AMD EPYC, load 1.8-2.3, synthetic-100000 (100k chunks), chunks/s at 0 and
50 us a chunk:
    the code before (256 a commit, in turn):              5,708   4,238
    grown commits, overlapped:                           19,131  16,837
    and the backlog found through vec0's rowid table
    (`NOT IN` read every stored id per commit: quadratic),
    the reuse lookups in one query:                      22,102  16,471
    the same code, 256 a commit, in turn (as on a CPU):   9,343   6,365
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import localsearch.embed_backlog as backlog  # noqa: E402
from localsearch.config import load_settings  # noqa: E402
from localsearch.index import Index  # noqa: E402

# (label, chunks a commit or None for what the backlog picks, overlap)
WAYS = (("as on a CPU", 256, False), ("as on a GPU", None, True))


class StandInGpu:
    """Random unit vectors after `per_chunk_us` of wall time per chunk, the CPU left idle;
    its batch grown 16 times past the configured one, as on a GPU with memory to spare."""

    name = location = fingerprint = "stand-in"
    dimension = 384
    device = "cuda"
    batch_size = 64
    device_batch_size = 1024

    def __init__(self, per_chunk_us: float) -> None:
        self.per_chunk_us = per_chunk_us
        self.seconds = 0.0

    def encode_passages(self, texts: Any, on_progress: Any = None) -> Any:
        started = time.perf_counter()
        time.sleep(len(texts) * self.per_chunk_us / 1e6)
        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), 384))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if on_progress:
            on_progress(len(texts))
        self.seconds += time.perf_counter() - started
        return vectors.astype(np.float32)

    def encode_queries(self, texts: Any) -> Any:
        return self.encode_passages(texts)


def fixed_commits(size: int | None) -> Any:
    """A stand-in for chunks_per_commit that always answers `size` (None: none)."""
    return None if size is None else lambda encoder: size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--per-chunk-us", default="0,50", help="stand-in encoders' cost")
    args = parser.parse_args()
    source = load_settings(args.home).database_path
    if not source.is_file():
        parser.error(f"no index in {args.home}")
    grown = backlog.chunks_per_commit
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(source, home / source.name)
        index = Index(load_settings(home))
        store = index.store
        for per_chunk_us in (float(x) for x in args.per_chunk_us.split(",")):
            for label, per_commit, overlap in WAYS:
                backlog.chunks_per_commit = fixed_commits(per_commit) or grown
                with store.transaction():
                    space = store.create_space("stand-in", "stand-in", 384, f"{label}{time.time()}")
                encoder = StandInGpu(per_chunk_us)
                started = time.perf_counter()
                result = backlog.embed_backlog(store, space, encoder, overlap=overlap)
                seconds = time.perf_counter() - started
                done = result.embedded + result.reused
                print(
                    f"stand-in {per_chunk_us:g} us a chunk, {label}"
                    f" ({backlog.chunks_per_commit(encoder)} a commit, overlap {overlap}):"
                    f" {done:,} chunks in {seconds:.1f} s, {done / seconds:,.0f} chunks/s;"
                    f" inside the encoder {encoder.seconds:.1f} s",
                    flush=True,
                )
                with store.transaction():
                    store.drop_space(space)
        backlog.chunks_per_commit = grown
        index.close()


if __name__ == "__main__":
    main()
