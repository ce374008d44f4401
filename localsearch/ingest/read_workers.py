"""Files read, extracted and chunked in worker processes, handed back in walk order.

Chunking (the tokenizer) and extraction are most of an index run's text phase, and they are
pure: a file's bytes in, its text and chunks out. Worker processes do them side by side while
the indexing process keeps every write to SQLite and BM25, in the same order and batches as
when it reads the files itself, so an interruption or a kill leaves what it always did.

A module of its own so that index.py only asks "which files need reading" and gets sources
back. Workers are started afresh, not forked: the indexing process may have torch's threads
running. Each worker holds one file at a time, so a worker that dies (a parser's segfault, the
OOM killer) names the file that killed it; that file is skipped with a reason and a new
worker takes its place. So does a file that keeps its worker busy past READ_CPU_LIMIT_SECONDS,
a parser caught in a loop: the kernel ends the worker (SIGXCPU), where in the indexing process
itself nothing could stop it.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import IO

from localsearch.cpu_budget import cpu_quota, threads_within, usable_cpus
from localsearch.ingest.extract import ExtractionError
from localsearch.ingest.pdf_process import limit_cpu_from_now, read_frame, write_frame
from localsearch.ingest.sources import SourceDocument, file_source, sha256_bytes
from localsearch.ingest.types import Chunk, ExtractedDocument, FoundFile

# A worker takes about 0.3 s of a core to start, the time it takes to read ~16 average files:
# with the worker count left to the machine, one starts per this many files to read.
FILES_PER_WORKER = 16
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
# Files read ahead of the one being written, per worker: enough that no worker waits for the
# writer, few enough that the texts waiting stay small.
AHEAD_PER_WORKER = 4
# CPU seconds for one file's reading, extraction and chunking (a PDF's pdfium has its own
# child and limit, pdf_process.py): the largest files take seconds.
READ_CPU_LIMIT_SECONDS = 120


def worker_count(
    setting: int,
    files_to_read: int,
    cpus: Callable[[], set[int]] = usable_cpus,
    quota: Callable[[], float | None] = cpu_quota,
) -> int:
    """How many worker processes read `files_to_read` files; 1 means none, read in-process.

    `setting` (extract_workers) 0 leaves it to the machine: a core for each worker but one,
    which the indexing process keeps for its writes (on two cores, no workers)."""
    if os.name == "nt":  # waiting on several pipes at once (connection.wait) is POSIX's
        return 1
    if setting > 0:
        return max(1, min(setting, files_to_read))
    cores = len(cpus())
    cores = threads_within(quota(), cores, round_up=False) or cores
    workers = min(cores - 1, math.ceil(files_to_read / FILES_PER_WORKER))
    return workers if workers >= 2 else 1


@dataclass(frozen=True)
class ReadJob:
    """One file for a worker, and the content hash its stored text has (if any): a file whose
    bytes hash to that is not extracted again."""

    path: Path
    stored_hash: str | None
    hash_suffix: str  # what the index appends to a raw hash (its extraction version)


@dataclass
class ReadOutcome:
    """A worker's answer: the file's raw hash, and its text and chunks unless the stored text
    is already this; or the reason it is skipped, as the in-process path words it."""

    raw_hash: str | None = None
    document: ExtractedDocument | None = None
    chunks: list[Chunk] = field(default_factory=list)
    chars: int = 0  # the document's characters before limit_document cut it
    failure: str | None = None


@dataclass(frozen=True)
class ChunkOptions:
    max_tokens: int
    overlap_tokens: int


# A document -> (its characters before limit_document cut it, its chunks).
ChunkedDocument = Callable[[ExtractedDocument], tuple[int, list[Chunk]]]


def read_file(job: ReadJob, chunk: ChunkedDocument) -> ReadOutcome:
    """What the index does with a file it reads: hash, extract, limit, chunk."""
    from localsearch.ingest.extract import extract_file
    from localsearch.ingest.regular_file import os_error_reason, read_regular_file

    try:
        raw_hash = sha256_bytes(read_regular_file(job.path))
    except OSError as exc:
        return ReadOutcome(failure=os_error_reason(exc))
    if job.stored_hash == raw_hash + job.hash_suffix:
        return ReadOutcome(raw_hash=raw_hash)
    try:
        document = extract_file(job.path)
    except ExtractionError as exc:
        return ReadOutcome(raw_hash, failure=str(exc) or type(exc).__name__)
    except OSError as exc:
        return ReadOutcome(raw_hash, failure=os_error_reason(exc))
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the run
        return ReadOutcome(raw_hash, failure=f"extraction failed: {type(exc).__name__}")
    chars, chunks = chunk(document)
    return ReadOutcome(raw_hash, document, chunks, chars)


ReadFunction = Callable[[ReadJob, ChunkedDocument], ReadOutcome]


def serve() -> None:
    """A worker: read the jobs the indexing process sends on stdin until it closes it (a
    kill -9 of that process included) or sends None; each outcome goes back on stdout."""
    from localsearch.ingest.chunk import limit_and_chunk
    from localsearch.ingest.tokens import load_token_counter

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the indexing process's to handle
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's stray print must not land in the middle of a reply
    requests = sys.stdin.buffer
    # The indexing process's import path, so that its `read` (a test's, say) imports here.
    path = read_frame(requests)
    if path is None:  # the indexing process has gone already
        return
    sys.path[:] = path  # before `read` is unpickled: it may live on that path only
    setup = read_frame(requests)
    if setup is None:
        return
    read, options, cpu_limit_seconds = setup
    count_tokens = load_token_counter()

    def chunk(document: ExtractedDocument) -> tuple[int, list[Chunk]]:
        return limit_and_chunk(document, count_tokens, options.max_tokens, options.overlap_tokens)

    try:
        while (job := read_frame(requests)) is not None:
            limit_cpu_from_now(cpu_limit_seconds)
            write_frame(replies, read(job, chunk))
    except OSError:  # the indexing process has gone
        pass


def crash_reason(returncode: int) -> str:
    if -returncode == getattr(signal, "SIGXCPU", None):
        return f"too slow to extract: still busy after {READ_CPU_LIMIT_SECONDS} s of CPU"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"extraction crashed ({name})"
    return f"extraction stopped (exit status {returncode})"


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    key: int | None = None  # the job in hand

    @property
    def replies(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def requests(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin


class ReadWorkers:
    """Worker processes that run `read` on jobs; outcomes are collected by key, in any order.

    Workers are started as `python -c` children, as pdf_process.py starts its own: unlike
    multiprocessing's spawn, that never runs the caller's main script again, so a script that
    indexes needs no `if __name__ == "__main__"` guard. Each is in a session of its own: a
    Ctrl-C at the terminal goes to the indexing process only, which stops them."""

    def __init__(self, count: int, options: ChunkOptions, read: ReadFunction = read_file) -> None:
        self._options = options
        self._read = read
        self._waiting: deque[tuple[int, ReadJob]] = deque()
        self._outcomes: dict[int, ReadOutcome] = {}
        self._workers: list[_Worker] = []
        try:
            for _ in range(count):
                self._workers.append(self._start())
        except BaseException:
            self.close(wait=False)
            raise

    def _start(self) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p
        )
        # One tokenizer thread a worker: the workers are the parallelism.
        env["TOKENIZERS_PARALLELISM"] = "false"
        process = subprocess.Popen(
            [sys.executable, "-c", "from localsearch.ingest.read_workers import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        worker = _Worker(process)
        write_frame(worker.requests, sys.path)
        write_frame(worker.requests, (self._read, self._options, READ_CPU_LIMIT_SECONDS))
        return worker

    def submit(self, key: int, job: ReadJob) -> None:
        self._waiting.append((key, job))
        self._hand_out()

    def outcome(self, key: int) -> ReadOutcome:
        """The outcome of job `key`, waiting for it if need be."""
        while key not in self._outcomes:
            self._collect()
        return self._outcomes.pop(key)

    def _hand_out(self) -> None:
        for index, worker in enumerate(self._workers):
            if not self._waiting:
                return
            if worker.key is not None:
                continue
            key, job = self._waiting.popleft()
            try:
                write_frame(worker.requests, job)
            except OSError:  # it died between jobs: a new one takes the job
                self._waiting.appendleft((key, job))
                self._workers[index] = self._replace(worker)
                continue
            worker.key = key

    def _collect(self) -> None:
        busy = [w for w in self._workers if w.key is not None]
        if not busy:
            raise RuntimeError("waiting for a job no worker holds")
        ready = set(wait([w.replies.fileno() for w in busy]))
        for worker in busy:
            if worker.replies.fileno() not in ready:
                continue
            key = worker.key
            assert key is not None
            worker.key = None
            try:
                reply = read_frame(worker.replies)
            except OSError:
                reply = None
            if reply is None:  # it died on this job: the file that killed it
                self._outcomes[key] = ReadOutcome(failure=crash_reason(worker.process.wait()))
                self._workers[self._workers.index(worker)] = self._replace(worker)
            else:
                self._outcomes[key] = reply
        self._hand_out()

    def _replace(self, worker: _Worker) -> _Worker:
        self._stop(worker, kill=True)
        return self._start()

    def close(self, wait: bool = True) -> None:
        """Stop the workers: when done with the job in hand (`wait`), or at once."""
        for worker in self._workers:
            self._stop(worker, kill=not wait)
        self._workers.clear()

    @staticmethod
    def _stop(worker: _Worker, kill: bool) -> None:
        if kill:
            worker.process.kill()
        for stream in (worker.process.stdin, worker.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:  # a request it never read
                    pass
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


class ReadAhead:
    """Sources for found files whose reading (hash, text, chunks) is done by workers, a few
    files ahead of the one the index asks for. Containers, and files `stored_hash` says are
    unchanged, are left to the in-process path."""

    def __init__(
        self,
        workers: ReadWorkers,
        found: Sequence[FoundFile],
        jobs: Sequence[ReadJob | None],
        extract: Callable[[Path], ExtractedDocument],
        max_member_bytes: int,
        ahead: int,
    ) -> None:
        """`jobs`: what a worker is to do with each found file, or None for one the index
        will not read (unchanged on disk)."""
        from localsearch.ingest.containers import is_container

        self._workers = workers
        self._found = found
        self._jobs = jobs
        self._extract = extract
        self._max_member_bytes = max_member_bytes
        self._ahead = ahead
        self._is_container = is_container
        self._submitted = 0
        self._by_worker: set[int] = set()
        self._outcomes: dict[int, ReadOutcome] = {}
        # id(document) -> (document, its characters before cutting, its chunks)
        self._chunked: dict[int, tuple[ExtractedDocument, int, list[Chunk]]] = {}

    def sources(self) -> Iterator[SourceDocument]:
        for position, found in enumerate(self._found):
            self._submit_until(position + self._ahead)
            if position in self._by_worker:
                self._by_worker.discard(position)
                yield self._worker_source(position, found)
            else:
                yield file_source(found, self._extract, self._max_member_bytes)

    def chunked(
        self, document: ExtractedDocument, chunk_here: ChunkedDocument
    ) -> tuple[int, list[Chunk]]:
        """(characters before cutting, chunks) as a worker made them, or `chunk_here`'s."""
        made = self._chunked.pop(id(document), None)
        if made is None:
            return chunk_here(document)
        return made[1], made[2]

    def _submit_until(self, end: int) -> None:
        while self._submitted < min(end, len(self._found)):
            position, found = self._submitted, self._found[self._submitted]
            self._submitted += 1
            job = self._jobs[position]
            if job is None or self._is_container(found.path):
                continue
            self._workers.submit(position, job)
            self._by_worker.add(position)

    def _worker_source(self, position: int, found: FoundFile) -> SourceDocument:
        def outcome() -> ReadOutcome:
            if position not in self._outcomes:
                self._outcomes[position] = self._workers.outcome(position)
            return self._outcomes[position]

        def content_hash() -> str:
            read = outcome()
            if read.document is None and read.failure is None:  # its stored text is this
                del self._outcomes[position]
            if read.raw_hash is None:
                raise ExtractionError(read.failure)
            return read.raw_hash

        def extract() -> ExtractedDocument:
            read = self._outcomes.pop(position, None) or self._workers.outcome(position)
            if read.document is None:
                raise ExtractionError(read.failure or "not read")
            self._chunked[id(read.document)] = (read.document, read.chars, read.chunks)
            return read.document

        return SourceDocument(
            path=str(found.path),
            size=found.size,
            mtime_ns=found.mtime_ns,
            content_hash=content_hash,
            extract=extract,
        )


@contextmanager
def files_read(
    found: Sequence[FoundFile],
    job_for: Callable[[FoundFile], ReadJob | None],
    extract: Callable[[Path], ExtractedDocument],
    max_member_bytes: int,
    chunk_here: ChunkedDocument,
    workers_setting: int,
    options: ChunkOptions,
) -> Iterator[tuple[Iterable[SourceDocument], ChunkedDocument]]:
    """(sources for `found`, how to get a document's characters and chunks): read by workers
    where worker_count says so, else in this process as they are asked for. Leaving the block
    stops the workers; on an error or Ctrl-C at once."""
    jobs = [job_for(f) for f in found]
    count = worker_count(workers_setting, sum(1 for job in jobs if job is not None))
    if count == 1:
        yield (file_source(f, extract, max_member_bytes) for f in found), chunk_here
        return
    workers = ReadWorkers(count, options, read_file)
    try:
        ahead = ReadAhead(
            workers,
            found,
            jobs,
            extract,
            max_member_bytes,
            ahead=count * AHEAD_PER_WORKER,
        )
        yield ahead.sources(), lambda document: ahead.chunked(document, chunk_here)
    except BaseException:
        workers.close(wait=False)
        raise
    workers.close()
