"""Indexing speed: files/s and chunks/s end to end, against the raw encoder on the same text.

Also checks the bf16 fast path: cosine to fp32 and dense retrieval of known-answer queries in
both precisions, so the speed-up is shown not to cost quality.

    python benchmarks/index_speed.py ../shared/corpora/opensource-docs [--sample 1000]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from localsearch.catalog import resolve_model
from localsearch.config import load_settings
from localsearch.embed.encoder import format_passage
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder, cpu_has_bf16
from localsearch.index import Index

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=1000, help="chunks for the raw-encoder run")
    parser.add_argument("--home", type=Path, help="reuse this home instead of a temp dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(args.home or Path(tmp) / "home")
        index = Index(settings)
        encoder = index.encoder(settings.model)
        encoder.encode_passages(["warm up"])  # load the model outside the timing
        started = time.perf_counter()
        report = index.update(args.paths)
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

        rows = list(index.store.iter_chunks())
        rng = np.random.default_rng(0)
        picked = sorted(rng.choice(len(rows), size=min(args.sample, len(rows)), replace=False))
        texts = [format_passage(rows[i].title, rows[i].heading, rows[i].text) for i in picked]
        paths = [rows[i].path for i in picked]
        resolved = resolve_model(settings.model, settings.models_dir)
        vectors = {}
        for precision in ("fp32", "bf16"):
            raw = SentenceTransformerEncoder(resolved, device="cpu", precision=precision)
            raw.encode_passages(["warm up"])
            started = time.perf_counter()
            vectors[precision] = raw.encode_passages(texts)
            rate = len(texts) / (time.perf_counter() - started)
            print(f"raw encoder {precision}: {rate:.1f} chunks/s on {len(texts)} chunks")
        cosine = np.sum(vectors["fp32"] * vectors["bf16"], axis=1)
        print(f"bf16 vs fp32 cosine: min {cosine.min():.5f}, mean {cosine.mean():.5f}")

        if QUERIES.exists():
            with QUERIES.open() as handle:
                pairs = [
                    (r["query"], r["relevant_path_suffix"])
                    for r in csv.DictReader(handle, delimiter="\t")
                ]
            answer_rows = [r for r in rows if any(r.path.endswith(a) for _, a in pairs)]
            texts_q = texts + [format_passage(r.title, r.heading, r.text) for r in answer_rows]
            paths_q = paths + [r.path for r in answer_rows]
            for precision in ("fp32", "bf16"):
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
