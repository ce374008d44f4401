"""`index` end to end with a GPU-like encoder: embedding after the text phase against embedding
beside it (localsearch/embed_alongside.py), on any machine.

    python benchmarks/embed_alongside.py FOLDER... [--per-chunk-us 200] [--extract-workers N]
        [--rounds 1]

The encoder is benchmarks/embed_backlog.py's stand-in: random vectors after a fixed wall time
per chunk with the CPU left idle, as a GPU leaves it. 200 us a chunk is the H200's embed phase
on the docs corpus (5,044 chunks/s, benchmarks/gpu_index.py, 2026-12-04). What it leaves out:
the real encoder's tokenizer thread, about 80 us of one core per chunk there (on a 16-core box,
a core of its own). Each way indexes the folders into a fresh home:
- "in turn": the text phase, then the embed phase (as on a CPU; `device = "cpu"` here);
- "alongside": chunks committed by the text phase are encoded while later files are read.
Printed: seconds end to end, when the text phase ended, how many chunks were encoded beside
it, and chunks/s end to end against the stand-in's own rate (issue 16 asks 0.95 of the raw
encoder's). The load average is printed first: the text phase is CPU-bound, the encoder not.

2026-12-05, the 2-core dev machine (Xeon, AMX), docs corpus (1,314 files, 36,024 chunks), two
extraction workers, 200 us a chunk, two rounds each, load 1.2-1.6:
    in turn:    20.9-22.1 s end to end (text phase 13.0-14.2 s, then 7.8 s embedding),
                1,630-1,727 chunks/s, 0.33-0.35 of the stand-in's 5,000
    alongside:  15.3-15.4 s, every chunk encoded beside the text phase, which ends the run:
                2,344-2,360 chunks/s, 0.47
On two cores the text phase is the floor; on the H200's 16 (15 extraction workers) it is
unmeasured since extraction moved to worker processes: `benchmarks/gpu_index.py` there.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embed_backlog import StandInGpu  # noqa: E402  (this folder is on sys.path)

from localsearch.config import load_settings  # noqa: E402
from localsearch.index import Index  # noqa: E402
from localsearch.progress import ProgressEvent  # noqa: E402

WAYS = (("in turn", "cpu"), ("alongside", "auto"))


def index_once(
    folders: list[Path], device: str, per_chunk_us: float, workers: int | None
) -> tuple[float, float, int, int]:
    """(seconds end to end, seconds to the end of the text phase, chunks, chunks encoded
    by the embed phase after it)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(load_settings(Path(tmp) / "home"), device=device)
        if workers is not None:
            settings = dataclasses.replace(settings, extract_workers=workers)
        encoder = StandInGpu(per_chunk_us)
        index = Index(settings, encoder_factory=lambda reference: encoder)
        started = time.perf_counter()
        text_ended: list[float] = []
        after: list[int] = []

        def progress(event: ProgressEvent) -> None:
            if event.stage in ("model", "embed") and not text_ended:
                text_ended.append(time.perf_counter() - started)
            if event.stage == "embed" and event.total:
                after[:] = [event.total]

        try:
            report = index.update(folders, progress=progress)
        finally:
            index.close()
        seconds = time.perf_counter() - started
        return seconds, text_ended[0] if text_ended else seconds, report.chunks, sum(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--per-chunk-us", type=float, default=200.0)
    parser.add_argument("--extract-workers", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    raw_rate = 1e6 / args.per_chunk_us
    print(f"stand-in encoder: {args.per_chunk_us:g} us a chunk ({raw_rate:,.0f} chunks/s)")
    for round_ in range(1, args.rounds + 1):
        for label, device in WAYS:
            load = Path("/proc/loadavg").read_text().split()[0]
            seconds, text, chunks, after = index_once(
                args.folders, device, args.per_chunk_us, args.extract_workers
            )
            rate = chunks / seconds
            print(
                f"round {round_}, {label} (load {load}): {chunks:,} chunks in {seconds:.1f} s,"
                f" text phase ended at {text:.1f} s, {chunks - after:,} encoded beside it;"
                f" {rate:,.0f} chunks/s, {rate / raw_rate:.2f} of the encoder's",
                flush=True,
            )


if __name__ == "__main__":
    main()
