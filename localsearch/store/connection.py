"""Opening SQLite with sqlite-vec loaded.

apsw rather than the stdlib sqlite3: many Python builds (pyenv, macOS system Python) ship a
sqlite3 module that cannot load extensions, and apsw wheels bundle a SQLite that can.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import apsw
import sqlite_vec

BUSY_TIMEOUT_MS = 30_000
IN_BATCH = 500  # values per `IN (...)`: well under SQLite's limit on parameters

Value = TypeVar("Value")


def in_batches(values: Sequence[Value]) -> Iterator[tuple[list[Value], str]]:
    """`values` in slices for an `IN (...)` clause, each with its placeholders ("?,?,?")."""
    for start in range(0, len(values), IN_BATCH):
        part = list(values[start : start + IN_BATCH])
        yield part, ",".join("?" * len(part))


def open_connection(path: Path | str, *, readonly: bool = False) -> apsw.Connection:
    flags = (
        apsw.SQLITE_OPEN_READONLY
        if readonly
        else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    )
    try:
        conn = apsw.Connection(str(path), flags=flags)
        if readonly:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except apsw.CantOpenError:
        if not readonly:
            raise
        # A WAL database in a folder we cannot write: SQLite cannot make its -shm file, so read
        # the file as it is. Nothing can be writing it (no one could make the -wal file either).
        conn = apsw.Connection(
            f"file:{quote(str(path))}?immutable=1",
            flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
        )
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.enable_load_extension(False)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    if not readonly:
        # WAL lets searches read the last committed state while an index run writes.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
