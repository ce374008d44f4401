"""Where the server listens and how a request and its reply look on the wire.

One JSON object per line each way, one request per connection; before its reply, the server
may send notices ({"notice": line}, a wait explained) to a client that asked ("notices": true).
Standard library only: the client side of `localsearch search` imports this module and little
else.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
SOCKET_NAME = "server.sock"
LOCK_NAME = "server.lock"
LOG_NAME = "server.log"
# Written when `search` starts a server in the background, removed once it listens (or exits):
# `serve --stop` just after such a search waits for it rather than miss it.
STARTING_NAME = "server.starting"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Settings a client sends with each search, so that its config and environment decide the
# ranking rather than whatever the server read when it started.
SEARCH_SETTINGS = (
    "fusion",
    "rrf_k",
    "bm25_weight",
    "dense_weight",
    "candidates",
    "bm25_function_weight",
    "bm25_proximity_boost",
    "bm25_proximity_slop",
    "chunk_decay",
    "neighbour_smoothing",
    "opening_share",
    "collapse_duplicates",
)
# AF_UNIX paths are limited to about 108 bytes; longer ones are reached through a directory fd.
_MAX_SOCKET_PATH = 100


def socket_path(home: Path) -> Path:
    return home / SOCKET_NAME


def lock_path(home: Path) -> Path:
    return home / LOCK_NAME


def starting_path(home: Path) -> Path:
    return home / STARTING_NAME


@contextmanager
def short_address(path: Path) -> Iterator[str]:
    """An address for bind/connect: the path itself, or /proc/self/fd/N/name when too long."""
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH or not os.path.isdir("/proc/self/fd"):
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


@functools.cache
def code_stamp() -> str:
    """This process's localsearch code: its source files' names, sizes and times. A server
    answers with its own, and a search from other code (an upgrade, an edit) stops it rather
    than take its answers (client.ask)."""
    return code_stamp_now()


def code_stamp_now() -> str:
    """code_stamp() of the files as they are now (~2 ms)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = []
    for folder, folders, names in os.walk(package):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                files.append(f"{folder[len(package) :]}/{name} {info.st_size} {info.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()[:16]


def search_settings(settings: Any) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SEARCH_SETTINGS}


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"


def read_message(conn: socket.socket) -> dict[str, Any] | None:
    """One newline-terminated JSON object, or None if the peer closed before finishing it."""
    return MessageReader(conn).next()


class MessageReader:
    """The JSON objects a connection brings, one a line, in turn (notices, then a reply)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self._rest = b""  # what came after the last line read

    def next(self) -> dict[str, Any] | None:
        """The next object, or None if the peer closed before finishing it or sent no object."""
        parts, size = [self._rest], len(self._rest)
        while b"\n" not in parts[-1]:
            data = self.conn.recv(65536)
            if not data:
                return None
            parts.append(data)
            size += len(data)
            if size > MAX_MESSAGE_BYTES:
                return None
        line, _, self._rest = b"".join(parts).partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None
