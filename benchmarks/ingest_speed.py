"""Walk, extract and chunk every file under the given folders; print counts and timings.

Usage: python3 benchmarks/ingest_speed.py PATH [PATH ...]

A sanity pass as much as a benchmark: any exception other than ExtractionError is a bug, and
is printed with its file; the exit status is 1 if there was one.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

from localsearch.ingest.chunk import chunk_document
from localsearch.ingest.extract import ExtractionError, extract_file
from localsearch.ingest.tokens import load_token_counter
from localsearch.ingest.types import SkippedFile
from localsearch.ingest.walk import walk_roots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--max-tokens", type=int, default=250)
    parser.add_argument("--overlap-tokens", type=int, default=40)
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip recounting every chunk's tokens (not included in the timings anyway)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    cpu_started = time.process_time()
    count_tokens = load_token_counter()
    skipped: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    seconds: defaultdict[str, float] = defaultdict(float)
    files = chunks = chunk_tokens = over_limit = 0
    bugs = 0
    slowest: list[tuple[float, Path]] = []
    walk_started = time.perf_counter()
    found = list(walk_roots(args.paths))
    seconds["walk"] = time.perf_counter() - walk_started
    for item in found:
        if isinstance(item, SkippedFile):
            skipped[item.reason] += 1
            continue
        files += 1
        file_started = time.perf_counter()
        try:
            document = extract_file(item.path)
        except ExtractionError as exc:
            failed[str(exc)] += 1
            continue
        except Exception:  # a bug: extract_file must only raise ExtractionError
            bugs += 1
            print(f"BUG extracting {item.path}:\n{traceback.format_exc()}")
            continue
        extracted = time.perf_counter()
        seconds["extract"] += extracted - file_started
        try:
            document_chunks = chunk_document(
                document, count_tokens, args.max_tokens, args.overlap_tokens
            )
        except Exception:
            bugs += 1
            print(f"BUG chunking {item.path}:\n{traceback.format_exc()}")
            continue
        seconds["chunk"] += time.perf_counter() - extracted
        slowest.append((time.perf_counter() - file_started, item.path))
        by_type[document.doc_type] += 1
        chunks += len(document_chunks)
        if args.verify:
            verify_started = time.perf_counter()
            counts = count_tokens.count_batch([chunk.text for chunk in document_chunks])
            chunk_tokens += sum(counts)
            over_limit += sum(count > args.max_tokens for count in counts)
            seconds["verify"] += time.perf_counter() - verify_started
    total = time.perf_counter() - started - seconds["verify"]
    cpu = time.process_time() - cpu_started

    print(f"files found:      {files}")
    print(f"  by type:        {dict(sorted(by_type.items()))}")
    print(f"skipped by walk:  {sum(skipped.values())}  {dict(skipped.most_common())}")
    print(f"not extracted:    {sum(failed.values())}  {dict(failed.most_common())}")
    print(f"chunks:           {chunks}")
    if args.verify:
        print(
            f"  tokens:         mean {chunk_tokens / max(chunks, 1):.0f},"
            f" {over_limit} chunks over {args.max_tokens}"
        )
    print(
        f"seconds:          {total:.2f} total; walk {seconds['walk']:.2f}, extract"
        f" {seconds['extract']:.2f}, chunk {seconds['chunk']:.2f}"
        f" (checking chunk sizes afterwards: {seconds['verify']:.2f}, not counted)"
    )
    print(f"cpu seconds:      {cpu:.2f}, checking included")
    for duration, path in sorted(slowest, reverse=True)[:5]:
        print(f"  slow: {duration:.2f}s {path}")
    print(f"unexpected exceptions: {bugs}")
    return 1 if bugs else 0


if __name__ == "__main__":
    raise SystemExit(main())
