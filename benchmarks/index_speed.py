"""Indexing speed: files/s and chunks/s end to end, against the raw encoder on the same text.

Also checks the bf16 fast path where the CPU has native bf16: cosine to fp32 and dense retrieval
of known-answer queries in both precisions, so the speed-up is shown not to cost quality.

    python benchmarks/index_speed.py ../shared/corpora/opensource-docs [--sample 1000] [--rounds 3]

`--rounds N` alternates N index runs (each into a fresh home) with N raw-encoder runs and prints
each round's ratio and their median: this host's speed drifts within minutes, and one run's
ratio read 0.97 and the next, seven minutes later, 1.16 (docutils, fp32, 2026-12-03).

It also splits the run into the text phase (extract, chunk, commit, BM25) and the embed phase,
and prints each ratio to the raw encoder (SentenceTransformer.encode itself) in the precision
indexing used, with localsearch's own encoder (embed/plain_bert.py) on the same chunks beside
it. 2026-12-02 11:02 UTC, docutils (64 files, 2,529 chunks), nothing else running: text 1.2 s,
embed 33.9 s at 74.5 chunks/s, end to end 72.0 chunks/s; on 1,000 of the chunks encode()
ran 53.8 chunks/s in bf16 (22.5 fp32) and localsearch's encoder 76.9 (41.1 fp32), cosine to
encode() >= 0.99996. End to end / raw bf16 1.34, embed phase / raw 1.39; end to end against
localsearch's own encoder 0.94 (the text phase). Before the packed encoder (same day, load
5-6): end to end / raw 0.91. At 14:52 UTC, idle, after the one-text and folder-read changes:
end to end 78.7 chunks/s, embed phase 82.1; encode() 52.8 bf16, localsearch's encoder 79.3;
end to end / raw bf16 1.49.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from localsearch.catalog import resolve_model
from localsearch.config import load_settings
from localsearch.embed.encoder import format_passage
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder, cpu_has_bf16
from localsearch.index import Index
from localsearch.progress import ProgressEvent

QUERIES = Path(__file__).resolve().parents[1].parent / "shared/corpora/queries/opensource-docs.tsv"


def mrr(
    query_vectors: np.ndarray, chunk_vectors: np.ndarray, chunk_paths: list[str], answers: list[str]
) -> float:
    scores = query_vectors @ chunk_vectors.T
    total = 0.0
    for row, answer in zip(scores, answers, strict=True):
        seen: list[str] = []
        for i in np.argsort(-row):
            if chunk_paths[i] not in seen:
                seen.append(chunk_paths[i])
            if chunk_paths[i].endswith(answer):
                total += 1.0 / len(seen)
                break
            if len(seen) >= 10:
                break
    return total / max(len(answers), 1)


def library_encode(encoder: SentenceTransformerEncoder, texts: list[str]) -> np.ndarray:
    """SentenceTransformer.encode itself, under the autocast the encoder would use: the
    yardstick localsearch's own encoding (embed/plain_bert.py) is measured against."""
    import torch

    dtype = torch.bfloat16 if encoder.precision == "bf16" else torch.float32
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
        return encoder.model.encode(
            texts, batch_size=encoder.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )


class PhaseClock:
    """A progress callback that notes when each stage first reports (seconds from creation)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        self.first.setdefault(event.stage, time.perf_counter() - self.started)


def index_once(paths: list[Path], home: Path) -> tuple[Index, Any, float, float]:
    """Index `paths` into `home`, the model loaded first: (index, report, seconds, seconds of
    the embed phase), with the run's lines printed."""
    settings = load_settings(home)
    index = Index(settings)
    encoder = index.encoder(settings.model)
    encoder.encode_passages(["warm up"])  # load the model outside the timing
    phases = PhaseClock()
    started = time.perf_counter()
    report = index.update(paths, progress=phases)
    seconds = time.perf_counter() - started
    files = report.added + report.updated
    print(
        f"precision used for indexing: {getattr(encoder, 'precision', '?')}"
        f" (CPU bf16 support: {cpu_has_bf16()})"
    )
    print(
        f"files indexed: {files}, skipped: {len(report.skipped)}, chunks: {report.chunks},"
        f" embedded: {report.chunks_embedded}, seconds: {seconds:.1f}"
    )
    print(f"end to end: {files / seconds:.1f} files/s, {report.chunks / seconds:.1f} chunks/s")
    text_seconds = phases.first.get("embed", seconds)
    embed_seconds = seconds - text_seconds
    print(
        f"  text phase (extract, chunk, commit, BM25): {text_seconds:.1f} s;"
        f" embed phase: {embed_seconds:.1f} s,"
        f" {report.chunks_embedded / max(embed_seconds, 1e-9):.1f} chunks/s"
    )
    return index, report, seconds, embed_seconds


def raw_rate(raw: SentenceTransformerEncoder, texts: list[str]) -> tuple[float, np.ndarray]:
    """Chunks a second through SentenceTransformer.encode, and its vectors."""
    library_encode(raw, ["warm up"] * 8)
    started = time.perf_counter()
    vectors = library_encode(raw, texts)
    return len(texts) / (time.perf_counter() - started), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=1000, help="chunks for the raw-encoder run")
    parser.add_argument("--home", type=Path, help="reuse this home instead of a temp dir")
    parser.add_argument(
        "--rounds", type=int, default=1, help="index and raw runs, alternated (a fresh home each)"
    )
    args = parser.parse_args()
    if args.home and args.rounds > 1:
        parser.error("--rounds needs a fresh home each round: leave out --home")

    with tempfile.TemporaryDirectory() as tmp:
        index, report, seconds, embed_seconds = index_once(args.paths, args.home or Path(tmp) / "0")
        settings = index.settings
        precision_used = getattr(index.encoder(settings.model), "precision", None)
        rows = list(index.store.iter_chunks())
        rng = np.random.default_rng(0)
        picked = sorted(rng.choice(len(rows), size=min(args.sample, len(rows)), replace=False))
        texts = [format_passage(rows[i].title, rows[i].heading, rows[i].text) for i in picked]
        paths = [rows[i].path for i in picked]
        resolved = resolve_model(settings.model, settings.models_dir)
        if args.rounds > 1 and precision_used in ("fp32", "bf16"):
            # The machine's speed drifts by minutes: each round's raw run follows its own
            # index run, and the median of the rounds' ratios is the figure.
            raw = SentenceTransformerEncoder(resolved, device="cpu", precision=precision_used)
            ratios = []
            for round_number in range(args.rounds):
                if round_number:
                    index.close()
                    index, report, seconds, embed_seconds = index_once(
                        args.paths, Path(tmp) / str(round_number)
                    )
                rate = raw_rate(raw, texts)[0]
                ratios.append(
                    (report.chunks / seconds / rate, report.chunks_embedded / embed_seconds / rate)
                )
                print(
                    f"round {round_number + 1}: raw encoder {precision_used} {rate:.1f} chunks/s;"
                    f" end to end / raw {ratios[-1][0]:.2f}, embed phase / raw {ratios[-1][1]:.2f}"
                )
            print(
                f"median of {args.rounds} rounds: end to end / raw {precision_used}"
                f" {np.median([r[0] for r in ratios]):.2f};"
                f" embed phase / raw {np.median([r[1] for r in ratios]):.2f}"
            )
        vectors = {}
        # Without native bf16 indexing runs in fp32, and emulated bf16 takes many minutes here.
        precisions = ("fp32", "bf16") if cpu_has_bf16() else ("fp32",)
        if len(precisions) == 1:
            print("bf16: not measured (no native bf16 on this CPU; indexing uses fp32)")
        for precision in precisions:
            raw = SentenceTransformerEncoder(resolved, device="cpu", precision=precision)
            rate, vectors[precision] = raw_rate(raw, texts)
            print(
                f"raw encoder (SentenceTransformer.encode) {precision}: {rate:.1f} chunks/s"
                f" on {len(texts)} chunks"
            )
            raw.encode_passages(["warm up"] * 8)
            started = time.perf_counter()
            ours = raw.encode_passages(texts)
            own_rate = len(texts) / (time.perf_counter() - started)
            print(
                f"  localsearch's encoder {precision}: {own_rate:.1f} chunks/s on the same chunks"
            )
            cosine = np.sum(ours * vectors[precision], axis=1)
            print(f"  its vectors against encode(): cosine min {cosine.min():.5f}")
            if precision == precision_used:
                print(
                    f"  end to end / raw {precision}: {report.chunks / seconds / rate:.2f};"
                    f" embed phase / raw: {report.chunks_embedded / embed_seconds / rate:.2f}"
                    + (" (the last round's index run)" if args.rounds > 1 else "")
                )
        if "bf16" in vectors:
            cosine = np.sum(vectors["fp32"] * vectors["bf16"], axis=1)
            print(f"bf16 vs fp32 cosine: min {cosine.min():.5f}, mean {cosine.mean():.5f}")

        if QUERIES.exists():
            with QUERIES.open() as handle:
                pairs = [
                    (r["query"], r["relevant_path_suffix"])
                    for r in csv.DictReader(handle, delimiter="\t")
                ]
            answer_rows = [r for r in rows if any(r.path.endswith(a) for _, a in pairs)]
            if not answer_rows:
                print("known-answer dense MRR@10: no answer file in these folders")
                index.close()
                return
            texts_q = texts + [format_passage(r.title, r.heading, r.text) for r in answer_rows]
            paths_q = paths + [r.path for r in answer_rows]
            for precision in precisions:
                raw = SentenceTransformerEncoder(resolved, device="cpu", precision=precision)
                chunk_vectors = raw.encode_passages(texts_q)
                query_vectors = raw.encode_queries([q for q, _ in pairs])
                score = mrr(query_vectors, chunk_vectors, paths_q, [a for _, a in pairs])
                print(
                    f"known-answer dense MRR@10 ({len(pairs)} queries, {len(texts_q)} chunks)"
                    f" {precision}: {score:.3f}"
                )
        index.close()


if __name__ == "__main__":
    main()
