"""Open a file to read only if it is still a regular file, and never block doing it.

The walk checks file types, but a file can be swapped for a named pipe or a device before it
is read; a plain open() of a FIFO waits forever for a writer. Opening with O_NONBLOCK returns
at once whatever the path now is, and fstat on the open descriptor says what it really is.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows: no FIFOs to block on
    fcntl = None  # type: ignore[assignment]


class NotRegularFileError(OSError):
    """The path is (now) a pipe, socket, device or folder rather than a regular file."""


def open_regular_file(path: Path) -> BinaryIO:
    """A binary handle on `path`; raises NotRegularFileError for anything but a regular file."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file: {path}")
        if fcntl is not None:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~nonblocking)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path) -> bytes:
    with open_regular_file(path) as handle:
        return handle.read()


def os_error_reason(exc: OSError) -> str:
    """Why a file could not be read, in the words the skipped list shows."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "deleted while indexing"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, NotRegularFileError):
        return "not a regular file"
    return f"cannot read file: {exc.strerror or type(exc).__name__}"
