"""What indexing a big mailbox costs: generate an .mbox of the given size (Google Takeout's
are gigabytes), index it, and print messages per second and the process's peak memory, then
the time of re-indexes: with nothing changed, after messages were appended (twice: a mailbox
read from where it ended is taken up again), and after a message near the end was expunged
(the file rewritten, which is read in full).

Text and BM25 only unless --embed (which loads the configured model and embeds every chunk).
Nothing is kept: the mailbox and the index home live in a temporary folder.

Figures, --mb 200 (210 MB, 9,180 messages), 2 shared cores, 2026-12-04:
  before (read in full on any change), load 2.9-5.2: index 68.9 s; unchanged 0.1 s;
    100 appended 6.6 s
  after (a mailbox that only grew is read from its last message), load 8.8-9.1: index 78.7 s;
    unchanged 0.1 s; 100 appended 2.1 s, 100 more 1.7 s; 50th message from the end expunged
    7.2 s (read in full; the 52 messages after it are renumbered, so re-extracted)
  What an append still costs is the new messages' extraction and chunking and re-chunking the
  mailbox's own document (a list of up to 10,000 names), not reading the mailbox.

Usage: python3 benchmarks/mailbox_speed.py [--mb 300] [--embed] [--max-file-mb 20]
       [--photo-every 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import mmap
import os
import random
import resource
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from localsearch.config import load_settings
from localsearch.index import Index

WORDS = (
    "tide harbour ferry invoice meeting kiln report schedule budget ticket flight hotel"
    " garden sourdough quarterly review contract draft photo family dinner weekend train"
    " delivery receipt password reset newsletter offer concert museum lighthouse"
).split()


def message_bytes(number: int, rng: random.Random, photo_every: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"person{rng.randrange(500)}@example.org"
    message["To"] = "me@example.org"
    message["Date"] = "Tue, 05 Mar 2024 09:30:00 +0000"
    message["Subject"] = " ".join(rng.choices(WORDS, k=4)) + f" {number}"
    paragraphs = [
        " ".join(rng.choices(WORDS, k=rng.randrange(20, 120))) + "."
        for _ in range(rng.randrange(1, 8))
    ]
    message.set_content("\n\n".join(paragraphs) + "\nFrom the desk of nobody.\n")
    if number % 20 == 0:  # now and then an attachment, as real mail has
        message.add_attachment(
            "\n".join(rng.choices(WORDS, k=200)).encode(),
            maintype="text",
            subtype="plain",
            filename=f"notes-{number}.txt",
        )
    if photo_every and number % photo_every == 0:  # most of a real mailbox's bytes
        message.add_attachment(
            rng.randbytes(150_000), maintype="image", subtype="jpeg", filename="photo.jpg"
        )
    data = message.as_bytes().replace(b"\r\n", b"\n")
    return data.replace(b"\nFrom ", b"\n>From ")  # as mail programs quote it


def write_mailbox(
    path: Path, megabytes: float, start: int = 1, seed: int = 0, photo_every: int = 10
) -> int:
    """Append messages to `path` until it has grown by `megabytes`; how many were written."""
    rng = random.Random(seed)
    goal = megabytes * 1024 * 1024
    written = count = 0
    with path.open("ab") as out:
        while written < goal:
            data = (
                b"From x@example.org Tue Mar  5 09:30:00 2024\n"
                + message_bytes(start + count, rng, photo_every)
                + b"\n"
            )
            out.write(data)
            written += len(data)
            count += 1
    return count


def expunge_message(path: Path, from_end: int) -> None:
    """Rewrite the mailbox without its `from_end`th message counted from the end (2 or more),
    as a mail program compacts it: a new file written beside it, renamed over it."""
    rewritten = path.with_suffix(".new")
    with path.open("rb") as old:
        with mmap.mmap(old.fileno(), 0, access=mmap.ACCESS_READ) as data:  # only its end read
            start = size = len(data)
            for _ in range(from_end):
                start = data.rfind(b"\nFrom ", 0, start - 1) + 1
            end = data.find(b"\nFrom ", start) + 1
        with rewritten.open("wb") as new:  # read, not mapped: the copy is not this process's
            for first, last in ((0, start), (end, size)):
                old.seek(first)
                for offset in range(first, last, 1 << 20):
                    new.write(old.read(min(1 << 20, last - offset)))
    os.replace(rewritten, path)


def brief(report: object) -> str:
    counts = ("added", "updated", "removed", "unchanged", "chunks")
    return ", ".join(f"{name} {getattr(report, name):,}" for name in counts)


def anonymous_rss_mb() -> float:
    """Resident memory of the process's own (RssAnon), not counting the files it maps (the
    BM25 segments, the database), which the system can drop at any time."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """The process's own resident memory every half second, to tell a plateau from growth."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append(anonymous_rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def quarters(self) -> str:
        """Resident MB at a quarter, half, three quarters and the end of the run."""
        n = len(self.samples)
        if n == 0:
            return "no samples"
        return " / ".join(f"{self.samples[min(n - 1, n * q // 4)]:.0f}" for q in (1, 2, 3, 4))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed_update(index: Index, paths: list[Path] | None = None) -> tuple[float, object]:
    started = time.perf_counter()
    report = index.update(paths)
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=300, help="mailbox size in MB")
    parser.add_argument("--embed", action="store_true", help="embed the chunks too")
    parser.add_argument("--max-file-mb", type=float, default=20)
    parser.add_argument(
        "--photo-every", type=int, default=10, help="a 150 KB photo in every Nth message"
    )
    args = parser.parse_args()
    if not args.embed:
        Index.embed_pending = lambda *a, **k: None  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory(prefix="mailbox-speed-") as scratch:
        docs = Path(scratch) / "docs"
        docs.mkdir()
        mailbox = docs / "All mail Including Spam and Trash.mbox"
        started = time.perf_counter()
        messages = write_mailbox(mailbox, args.mb, photo_every=args.photo_every)
        size = mailbox.stat().st_size
        print(
            f"generated {size / 1e6:.0f} MB, {messages:,} messages"
            f" in {time.perf_counter() - started:.1f}s"
        )
        home = Path(scratch) / "home"
        settings = dataclasses.replace(load_settings(home), max_file_mb=args.max_file_mb)
        index = Index(settings)
        before = peak_rss_mb()
        with RssSampler() as rss:
            seconds, report = timed_update(index, [docs])
        skipped = len(report.skipped)  # type: ignore[attr-defined]
        report.skipped = []  # type: ignore[attr-defined]
        print(
            f"index:    {seconds:.1f}s, {messages / seconds:,.0f} messages/s,"
            f" {size / 1e6 / seconds:.1f} MB/s; peak RSS {peak_rss_mb():.0f} MB"
            f" ({before:.0f} MB before indexing; RssAnon at 1/4, 1/2, 3/4, end:"
            f" {rss.quarters()} MB);"
            f" {skipped:,} skipped; {report}"
        )
        seconds, report = timed_update(index)
        print(f"unchanged: {seconds:.1f}s; {report}")
        appended = write_mailbox(
            mailbox, args.mb / 100, start=messages + 1, seed=1, photo_every=args.photo_every
        )
        seconds, report = timed_update(index)
        print(f"appended {appended:,}: {seconds:.1f}s; {brief(report)}")
        appended = write_mailbox(
            mailbox,
            args.mb / 100,
            start=messages + appended + 1,
            seed=2,
            photo_every=args.photo_every,
        )
        seconds, report = timed_update(index)
        print(f"appended {appended:,} more: {seconds:.1f}s; {brief(report)}")
        seconds, report = timed_update(index)
        print(f"unchanged: {seconds:.1f}s; {brief(report)}")
        expunge_message(mailbox, 50)
        seconds, report = timed_update(index)
        print(f"50th message from the end expunged: {seconds:.1f}s; {brief(report)}")
        print(f"peak RSS over the whole run: {peak_rss_mb():.0f} MB; load {os.getloadavg()}")
        index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
