"""The data folder is private: the index holds the text of private files.

Folders 0700 and files 0600, whatever the umask. A home made by an older version (0755 with
0644 files) is tightened the first time it is opened for writing: the home itself and what
localsearch keeps in it, never anything else found there (a home may be a folder of the
user's own files). Reusable for anything else kept in the home, such as a server socket:
`make_private_file` after creating it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# What localsearch writes in a home (config.py, server/protocol.py, evaluate/runner.py).
OWN_NAMES = frozenset(
    {"lexical", "models", "index.lock", "config.toml", "eval.json"}
    | {f"server.{suffix}" for suffix in ("sock", "lock", "log", "starting")}
)
OWN_PREFIX = "localsearch.db"  # the database and its -wal and -shm files


def make_private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) if needed and make it 0700; tighten localsearch's
    own files in it when it was open to others."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        os.chmod(folder, FOLDER_MODE)
        for entry in os.scandir(folder):
            if entry.name in OWN_NAMES or entry.name.startswith(OWN_PREFIX):
                tighten(Path(entry.path))


def make_private_file(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, FILE_MODE)


def tighten(path: Path) -> None:
    """`path` 0600 if a file; if a folder, it and every folder under it 0700 and every file
    0600 (links are left alone)."""
    if path.is_symlink():
        return
    if not path.is_dir():
        os.chmod(path, FILE_MODE)
        return
    os.chmod(path, FOLDER_MODE)
    for current, folders, files in os.walk(path):
        for name in folders:
            inner = os.path.join(current, name)
            if not os.path.islink(inner):
                os.chmod(inner, FOLDER_MODE)
        for name in files:
            inner = os.path.join(current, name)
            if not os.path.islink(inner):
                os.chmod(inner, FILE_MODE)
