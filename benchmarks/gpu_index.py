"""`index --device cuda` on a GPU: the batch it picks, how busy it keeps the GPU, and its speed
against SentenceTransformer.encode itself on the same chunks.

    python benchmarks/gpu_index.py FOLDER... [--batches 64,256,1024] [--device cuda] [--home H]
        [--extract-workers N]

1. Indexes the folders into a fresh home on the device, as `localsearch index --device cuda`
   does (Index.update): end to end and per phase (text: extract, chunk, commit, BM25; then
   embed), the batch embed/gpu_batch.py fitted, and the GPU's utilisation and memory, sampled
   by nvidia-smi every 100 ms, during the embed phase.
2. Runs the embed phase again on the same stored chunks, each time into a fresh embedding
   space: as it ran before the GPU changes (256 chunks a commit, encoding and writing in
   turn), with the fitted batch's commits in turn, and as it runs now (the next batch encoded
   while the last is written). Each line splits the time into encoding and the rest.
3. Times SentenceTransformer.encode on all the chunks at each batch size under the same fp16
   autocast: the yardstick the embed phase is measured against.

Run on an H200 (16 CPU cores, torch 2.11 + CUDA 13, sentence-transformers 6.0.1) on
2026-12-04, the docs corpus (1,314 files, 36,024 chunks), MiniLM in fp16, batch 1024:

                                       before device_batches.py   after
    index end to end                   69.8 s (516 chunks/s)      26.2 s (1,376 chunks/s)
    of which the text phase            35.6 s                     19.1 s
    embed phase                        1,048 chunks/s, GPU 4%     5,044 chunks/s, GPU 17%
    embed again, 4,096 a commit,       1,071 chunks/s             6,961 chunks/s, GPU 26%
      next batch beside the writes
    SentenceTransformer.encode, 1024   (batch 64: 1,058)          2,360 chunks/s, GPU 8%
    embed phase / encode()             -                          2.14 (the rerun 2.95)

The forward pass of 1,024 chunks of 256 tokens takes 37 ms there (27,000 chunks/s): what is
left is the tokenizer thread (Rust tokenisation 0.16 s and the ids into numpy 0.23 s for
SciFact's 5,183 abstracts, which encode at 7,700 a second). The two columns ran on two fresh
machines; the text phase, which the change does not touch, took 35.6 s on one and 19.1 s on
the other, unexplained. `benchmarks/embed_backlog.py` measures the embed phase's own
cost on a CPU with a stand-in encoder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index_speed import PhaseClock  # noqa: E402  (this folder is on sys.path)

import localsearch.embed_backlog as backlog  # noqa: E402
from localsearch.config import load_settings  # noqa: E402
from localsearch.embed.encoder import format_passage  # noqa: E402
from localsearch.embed_alongside import EmbeddingAlongside  # noqa: E402
from localsearch.index import Index  # noqa: E402
from localsearch.ingest.read_workers import worker_count  # noqa: E402


class GpuSampler:
    """nvidia-smi's utilisation (%) and memory used (MiB), every 100 ms, with their times."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []
        self.process: subprocess.Popen[str] | None = None
        if shutil.which("nvidia-smi"):
            self.process = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu,memory.used",
                    "--format=csv,noheader,nounits",
                    "-lms",
                    "100",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            try:
                util, memory = (int(x) for x in line.split(","))
            except ValueError:
                continue
            self.samples.append((time.perf_counter(), util, memory))

    def between(self, start: float, end: float) -> str:
        window = [(u, m) for t, u, m in self.samples if start <= t <= end]
        if not window:
            return "GPU: no nvidia-smi samples"
        utils = [u for u, _ in window]
        return (
            f"GPU busy mean {np.mean(utils):.0f}% (median {np.median(utils):.0f}%,"
            f" {len(window)} samples), memory used up to {max(m for _, m in window):,} MiB"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()


class TimedEncoder:
    """The index's encoder with the seconds spent inside encode_passages counted."""

    def __init__(self, encoder: Any) -> None:
        self.inner = encoder
        self.seconds = 0.0
        self.encode_passages_inner = encoder.encode_passages

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_passages(self, texts: Sequence[str], on_progress: Any = None) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.encode_passages_inner(texts, on_progress)
        finally:
            self.seconds += time.perf_counter() - started


@contextmanager
def commits_of(size: int | None) -> Iterator[None]:
    """Run the backlog with `size` chunks a commit (None: what it picks itself)."""
    original: Callable[[Any], int] = backlog.chunks_per_commit
    if size is not None:
        backlog.chunks_per_commit = lambda encoder: size  # type: ignore[assignment]
    try:
        yield
    finally:
        backlog.chunks_per_commit = original  # type: ignore[assignment]


def embed_again(
    index: Index, encoder: Any, sampler: GpuSampler, label: str, size: int | None, overlap: bool
) -> float:
    """The embed phase once more, into a fresh space: chunks/s."""
    store = index.store
    with store.transaction():
        space = store.create_space(encoder.name, encoder.location, encoder.dimension, label)
    timed = TimedEncoder(encoder)
    with commits_of(size):
        per_commit = backlog.chunks_per_commit(timed)
        started = time.perf_counter()
        result = backlog.embed_backlog(store, space, timed, overlap=overlap)
        seconds = time.perf_counter() - started
    rate = result.embedded / seconds
    print(
        f"  {label}: {per_commit} chunks a commit, overlap {overlap}: {seconds:.2f} s,"
        f" {rate:,.0f} chunks/s; inside encode {timed.seconds:.2f} s,"
        f" the rest {seconds - timed.seconds:.2f} s"
    )
    print(f"    {sampler.between(started, started + seconds)}")
    with store.transaction():
        store.drop_space(space)
    return rate


def raw_rate(encoder: Any, texts: list[str], batch: int, sampler: GpuSampler) -> float:
    """SentenceTransformer.encode on `texts` at `batch`, under the encoder's autocast."""
    import torch

    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(encoder.precision)
    device_type = encoder.device if encoder.device in {"cpu", "cuda"} else "cpu"

    def run(part: list[str]) -> None:
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            encoder.model.encode(
                part, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True
            )

    run(texts[: batch * 2])
    started = time.perf_counter()
    run(texts)
    seconds = time.perf_counter() - started
    rate = len(texts) / seconds
    print(f"  batch {batch}: {seconds:.2f} s, {rate:,.0f} chunks/s")
    print(f"    {sampler.between(started, started + seconds)}")
    return rate


def commit_clock(index: Index) -> list[float]:
    """A list that gets the time of the index's first BM25 commit (its first text batch)."""
    first: list[float] = []
    apply_lexical = index.lexical.apply

    def noted(*args: Any, **kwargs: Any) -> None:
        apply_lexical(*args, **kwargs)
        if not first:
            first.append(time.perf_counter())

    index.lexical.apply = noted  # type: ignore[method-assign]
    return first


def index_run(index: Index, args: argparse.Namespace, sampler: GpuSampler, way: str) -> float:
    """Index args.paths, embedding after the text phase ("in turn") or beside it
    (embed_alongside.py, what `index` does on a GPU): prints its lines, returns chunks/s end
    to end."""
    import torch

    import localsearch.index as index_module

    chosen = index_module.embedding_alongside
    if way == "in turn":
        index_module.embedding_alongside = lambda *a: EmbeddingAlongside()  # type: ignore[assignment]
    first_commit = commit_clock(index)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    phases = PhaseClock()
    started = time.perf_counter()
    try:
        report = index.update(args.paths, progress=phases)
    finally:
        index_module.embedding_alongside = chosen  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    text_seconds = min(phases.first.get(s, seconds) for s in ("model", "embed"))
    embed_seconds = seconds - text_seconds
    print(
        f"index, {way}: {report.added} files, {report.chunks:,} chunks,"
        f" {report.chunks_embedded:,} embedded ({report.chunks_reused:,} reused) in"
        f" {seconds:.1f} s: {report.chunks / seconds:,.0f} chunks/s end to end"
    )
    workers = worker_count(args.extract_workers, report.added)
    first_bm25 = (first_commit or [started])[0] - started
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"  text phase {text_seconds:.1f} s with {workers} extraction worker(s) (first"
        f" BM25-searchable batch at {first_bm25:.2f} s; load average {load});"
        f" then {embed_seconds:.2f} s of embedding"
    )
    print(f"  during the text phase: {sampler.between(started, started + text_seconds)}")
    print(f"  after it: {sampler.between(started + text_seconds, started + seconds)}")
    if args.device == "cuda":
        print(f"  torch peak memory {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB")
    return report.chunks / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--batches", default="64,256,1024", help="raw-encoder batch sizes")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--home", type=Path, help="index into this new home and keep it")
    parser.add_argument(
        "--extract-workers",
        type=int,
        default=0,
        help="processes that extract and chunk files (the extract_workers setting): 0, the"
        " default, leaves it to the machine; 1 reads in the indexing process",
    )
    args = parser.parse_args()

    import torch

    if args.device == "cuda":
        properties = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info()
        print(
            f"GPU: {properties.name}, {total / 2**30:.0f} GiB ({free / 2**30:.0f} free);"
            f" torch {torch.__version__}"
        )
    for path in args.paths:  # both ways read the files from the page cache
        for file in [path] if path.is_file() else path.rglob("*"):
            if file.is_file():
                file.read_bytes()
    sampler = GpuSampler()
    with tempfile.TemporaryDirectory() as tmp:
        end_to_end: dict[str, float] = {}
        for way in ("in turn", "alongside"):
            home = Path(tmp) / way.replace(" ", "-")
            if way == "alongside" and args.home:
                home = args.home
            settings = replace(
                load_settings(home), device=args.device, extract_workers=args.extract_workers
            )
            index = Index(settings)
            encoder: Any = index.encoder(settings.model)
            encoder.encode_passages(["warm up"] * 8)  # the model loads outside the timing
            if way == "in turn":
                print(
                    f"encoder: {encoder.name} on {encoder.device}, precision {encoder.precision},"
                    f" batch {encoder.device_batch_size} (configured {encoder.batch_size}),"
                    f" {backlog.chunks_per_commit(encoder)} chunks a commit, device batches"
                    f" {'on' if getattr(encoder, 'device_batches', None) is not None else 'off'}"
                )
            end_to_end[way] = index_run(index, args, sampler, way)
            if way == "in turn":
                index.close()
        print("embed phase again, each into a fresh space:")
        fitted = backlog.chunks_per_commit(encoder)
        rates = {
            "before": embed_again(index, encoder, sampler, "before", backlog.BACKLOG_BATCH, False),
            "fitted": embed_again(index, encoder, sampler, "fitted", fitted, False),
            "now": embed_again(index, encoder, sampler, "now", None, True),
        }
        rows = list(index.store.iter_chunks())
        texts = list(dict.fromkeys(format_passage(r.title, r.heading, r.text) for r in rows))
        print(f"SentenceTransformer.encode on the {len(texts):,} distinct chunk texts:")
        raw = {}
        batches = [int(b) for b in args.batches.split(",")]
        if encoder.device_batch_size not in batches:
            batches.append(encoder.device_batch_size)
        for batch in batches:
            raw[batch] = raw_rate(encoder, texts, batch, sampler)
        best = max(raw.values())
        print(
            f"embed phase / best raw ({best:,.0f} chunks/s): before"
            f" {rates['before'] / best:.2f}, fitted commits {rates['fitted'] / best:.2f},"
            f" now {rates['now'] / best:.2f}"
        )
        print(
            f"index end to end / best raw (issue 16 asks 0.95): in turn"
            f" {end_to_end['in turn'] / best:.2f}, alongside {end_to_end['alongside'] / best:.2f}"
        )
        index.close()
    sampler.stop()


if __name__ == "__main__":
    main()
