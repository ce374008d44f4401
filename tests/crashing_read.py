"""A worker's read that dies, as a parser's segfault would, on files named crash*, or never
ends, as a parser caught in a loop, on files named loop*: importable by name so that a spawned
worker process can run it (tests/test_read_workers.py)."""

from __future__ import annotations

import os
import signal

from localsearch.ingest.read_workers import read_file


def read_or_crash(job, chunk):  # type: ignore[no-untyped-def]
    if job.path.name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return read_file(job, chunk)


def read_or_loop(job, chunk):  # type: ignore[no-untyped-def]
    while job.path.name.startswith("loop"):
        pass
    return read_file(job, chunk)
