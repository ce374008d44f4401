"""File names as the database keeps them: text for display and search, bytes when needed.

POSIX file names are bytes; Python hands those that are not valid UTF-8 around with lone
surrogates, which SQLite cannot store. Such a name is kept as readable text with the odd bytes
written `\\xe9` (what results, filters and JSON show) plus the exact bytes in a BLOB column, so
the file is opened at its real path. Valid names are stored as they are, with no bytes.
"""

from __future__ import annotations

import os


def stored_path(path: str) -> tuple[str, bytes | None]:
    """(text to store and show, the raw bytes or None when the text is the name itself)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        text = raw.decode("utf-8", "backslashreplace")
        return _unlike_a_real_file(text) if os.path.isabs(path) else text, raw
    return path, None


def _unlike_a_real_file(text: str) -> str:
    """`text`, unless a file is really named so (`bad\\xff.md`, backslash and all): that file
    is stored under its own name, so this one takes `bad\\xff (2).md`, or the next free."""
    if not os.path.lexists(text):
        return text
    stem, suffix = os.path.splitext(text)
    number = 2
    while os.path.lexists(candidate := f"{stem} ({number}){suffix}"):
        number += 1
    return candidate


def display_path(path: str) -> str:
    return stored_path(path)[0]


def os_path(text: str, raw: bytes | None) -> str:
    """The path to open: the stored bytes when there are any, else the text."""
    return os.fsdecode(raw) if raw is not None else text
