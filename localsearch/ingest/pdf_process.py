"""PDF extraction in a child process with a cap on its memory.

pdfium parses a page's whole content stream into objects before it gives any text back, and
nothing says how big that is beforehand: a 200 KB file whose compressed stream draws three
million one-letter runs takes 1.5 GB. In a child whose address space is capped, such a page
ends the child (pdfium aborts when an allocation fails) instead of the indexer, and the file is
skipped as "too large to extract". A crash in pdfium on a broken file stays in the child too,
and so does a file that would keep it busy for good: each file gets a budget of CPU time, past
which the kernel ends the child (SIGXCPU) and the file is skipped as "too slow to extract".

One child serves every PDF of the process, one at a time (pdfium is not thread-safe anyway),
and is started again after it dies.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from localsearch.ingest.extract import ExtractionError
from localsearch.ingest.types import ExtractedDocument

# Address space of the whole child, Python and pdfium included (about 40 MB of it at rest).
PDF_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
# CPU seconds for one file: pdfium reads a 1,000-page book in a few; a file that holds it for
# minutes is a loop in the parser, and would hold up the whole index run.
PDF_CPU_LIMIT_SECONDS = 120

_FRAME_HEADER = struct.Struct("<Q")
# Under the cap pdfium aborts when an allocation fails; the kernel's OOM killer kills.
_OUT_OF_MEMORY_SIGNALS = {
    getattr(signal, name) for name in ("SIGABRT", "SIGKILL") if hasattr(signal, name)
}
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


class PdfExtractorProcess:
    """A child process that extracts PDFs, started on first use and after each death."""

    def __init__(
        self,
        memory_limit_bytes: int = PDF_MEMORY_LIMIT_BYTES,
        cpu_limit_seconds: int = PDF_CPU_LIMIT_SECONDS,
    ) -> None:
        self.memory_limit_bytes = memory_limit_bytes
        self.cpu_limit_seconds = cpu_limit_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def extract(self, path: Path) -> ExtractedDocument:
        """What extract_pdf(path) gives, or ExtractionError; never more memory than the cap."""
        with self._lock:
            process = self._running()
            assert process.stdin is not None and process.stdout is not None
            try:
                write_frame(process.stdin, path)
                reply = read_frame(process.stdout)
            except BrokenPipeError:
                reply = None
            except BaseException:
                # Interrupted mid-request (Ctrl-C): the child's answer would come out of turn.
                self._stop(process, kill=True)
                raise
            if reply is None:
                self._process = None
                raise ExtractionError(self._death_reason(process.wait()))
        kind, payload = reply
        if kind == "ok":
            return payload  # type: ignore[no-any-return]
        raise ExtractionError(payload)

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._stop(self._process)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p
        )
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from localsearch.ingest.pdf_process import serve; serve()",
                str(self.memory_limit_bytes),
                str(self.cpu_limit_seconds),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # pdfium's "out of memory" is ours to say, once
            env=env,
        )
        return self._process

    def _stop(self, process: subprocess.Popen[bytes], kill: bool = False) -> None:
        """End the child: at once, or when it has finished the file in hand (stdin closed)."""
        self._process = None
        if kill:
            process.kill()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _death_reason(self, returncode: int) -> str:
        if -returncode == getattr(signal, "SIGXCPU", None):
            return (
                f"too slow to extract: the PDF reader was still busy after"
                f" {self.cpu_limit_seconds} s of CPU"
            )
        if -returncode in _OUT_OF_MEMORY_SIGNALS:
            megabytes = self.memory_limit_bytes // (1024 * 1024)
            return f"too large to extract: needs more than {megabytes} MB of memory"
        if returncode < 0:
            return f"PDF reader crashed ({signal.Signals(-returncode).name})"
        return f"PDF reader stopped (exit status {returncode})"


_shared: PdfExtractorProcess | None = None
_shared_lock = threading.Lock()


def extract_pdf_in_child(path: Path) -> ExtractedDocument:
    """extract_pdf(path), run in the process-wide capped child."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PdfExtractorProcess()
            atexit.register(_shared.close)
        extractor = _shared
    return extractor.extract(path)


def write_frame(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next value, or None at end of stream (the other side has gone)."""
    header = stream.read(_FRAME_HEADER.size)
    if len(header) < _FRAME_HEADER.size:
        return None
    (size,) = _FRAME_HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def serve() -> None:
    """The child: cap memory, then answer one path at a time until stdin closes."""
    from localsearch.ingest.extract_pdf import extract_pdf
    from localsearch.ingest.regular_file import os_error_reason

    _cap_address_space(int(sys.argv[1]))
    cpu_limit_seconds = int(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's stray print must not land in the middle of a reply
    requests = sys.stdin.buffer
    while (path := read_frame(requests)) is not None:
        limit_cpu_from_now(cpu_limit_seconds)
        reply: tuple[str, object]
        try:
            reply = ("ok", extract_pdf(path))
        except ExtractionError as exc:
            reply = ("error", str(exc))
        except OSError as exc:
            reply = ("error", os_error_reason(exc))
        except MemoryError:
            megabytes = int(sys.argv[1]) // (1024 * 1024)
            reply = ("error", f"too large to extract: needs more than {megabytes} MB of memory")
        except RecursionError:
            reply = ("error", "pdf file too deeply nested")
        except Exception as exc:  # noqa: BLE001 - the parent must only ever see a reason
            reply = ("error", f"unreadable pdf file ({type(exc).__name__})")
        write_frame(replies, reply)


def limit_cpu_from_now(seconds: int) -> None:
    """Have the kernel end this process (SIGXCPU) once it has used `seconds` more CPU time:
    a parser stuck in C never returns to Python, so no timer in Python could stop it."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1  # the limit counts whole seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    limit = used + seconds
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
    except (ValueError, OSError):
        pass


def _cap_address_space(limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits; extraction runs uncapped there
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS refuses some address-space limits; run uncapped
        pass
