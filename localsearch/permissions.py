"""The data folder is private: the index holds the text of private files.

Folders 0700 and files 0600, whatever the umask. A home made by an older version (0755 with
0644 files) is tightened the first time it is opened for writing. Reusable for anything else
kept in the home, such as a server socket: `make_private_file` after creating it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def make_private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) if needed and make it 0700; tighten what is in it
    when it was open to others."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        os.chmod(folder, FOLDER_MODE)
        tighten_tree(folder)


def make_private_file(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, FILE_MODE)


def tighten_tree(folder: Path) -> None:
    """Every folder under `folder` 0700 and every file 0600 (links are left alone)."""
    for current, folders, files in os.walk(folder):
        for name in folders:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                os.chmod(path, FOLDER_MODE)
        for name in files:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
