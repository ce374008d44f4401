"""One writer per home: `index`, `adapt` and root changes take an exclusive file lock.

An OS lock (flock) is released by the kernel when the process dies, so kill -9 never leaves a
stale lock behind.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from types import TracebackType

from localsearch.errors import IndexBusyError, ReadOnlyDataError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    def __init__(self, path: Path, *, wait_seconds: float = 0.0, purpose: str = "index") -> None:
        self.path = path
        self.wait_seconds = wait_seconds
        self.purpose = purpose
        self._handle: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open_lock_file(self.path)
        deadline = time.monotonic() + self.wait_seconds
        while fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(handle)
                    os.close(handle)
                    raise IndexBusyError(
                        f"another localsearch process is writing to this index ({holder})",
                        "wait for it to finish, or pass --wait",
                    ) from None
                time.sleep(0.2)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{self.purpose}, pid {os.getpid()}".encode(), 0)
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing drops the flock
            self._handle = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def current_writer(path: Path) -> str | None:
    """Who holds the writer lock now ("index, pid 123"), or None when no process does."""
    if fcntl is None:
        return None
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(handle)
    finally:
        os.close(handle)  # also drops the shared lock this took
    return None


def _holder(handle: int) -> str:
    """What the lock's holder wrote into the file ("index, pid 123")."""
    return os.pread(handle, 200, 0).decode(errors="replace").strip() or "unknown"


def open_lock_file(path: Path) -> int:
    """A lock file in the data folder, opened for writing. Every writer (and the server) takes
    one first: it is where a read-only folder is found, and said so."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise ReadOnlyDataError.of(path.parent) from None
