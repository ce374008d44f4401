"""Search's --path, --type and --since filters: their WHERE clause over the documents table as
`d`, and their words as the CLI spells them, for messages about them.

Apart from the queries that use it (Store.knn_filtered, Store.documents_matching) because the
search engine builds it once per search and hands the same clause to each of them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import datetime

from localsearch.errors import UsageError

# The document's path below its root, from its '/' (a root that is a file: its name).
_BELOW_ROOT = (
    "CASE WHEN d.path = r.path"
    " THEN '/' || replace(d.path, rtrim(d.path, replace(d.path, '/', '')), '')"
    " ELSE substr(d.path, length(r.path) + 1) END"
)
# Matched from any name down (`notes*`, `src/*.py`), or as a folder (`src`).
_INSIDE_ROOT = f"{_BELOW_ROOT} GLOB '*/' || ? OR {_BELOW_ROOT} GLOB '*/' || ? || '/*'"
# An age back from now, as --since takes it: "12h", "3d", "2w", "6m", "1y".
_AGE = re.compile(r"(\d+)\s*([hdwmy])", re.IGNORECASE)
_AGE_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def path_filter_sql(
    path_glob: str | None, doc_types: Sequence[str], modified_since: float | None = None
) -> tuple[str, list[object]]:
    """A WHERE clause over documents `d` for the --path, --type and --since filters
    (`modified_since`: a Unix time, from since_time)."""
    clauses: list[str] = []
    params: list[object] = []
    if modified_since is not None:
        clauses.append("d.mtime_ns >= ?")
        nanoseconds = int(modified_since * 1_000_000_000)
        params.append(min(max(nanoseconds, -(2**63)), 2**63 - 1))  # SQLite's integers
    if path_glob:
        if path_glob.startswith(("/", "*")):
            clauses.append("(d.path GLOB ? OR d.path GLOB ?)")
            params += [path_glob, path_glob.rstrip("/") + "/*"]
        else:
            # Relative: from a name at any depth inside the document's root (itself a file's
            # name when the root is that file), never mid-name nor in the folders above.
            pattern = path_glob.rstrip("/")
            clauses.append(
                f"EXISTS (SELECT 1 FROM roots r WHERE r.id = d.root_id AND ({_INSIDE_ROOT}))"
            )
            params += [pattern, pattern]
    if doc_types:
        parts = []
        for doc_type in doc_types:
            ext = doc_type.lower().lstrip(".")
            parts.append("(d.doc_type = ? OR lower(d.path) GLOB ?)")
            params += [ext, f"*.{ext}"]
        clauses.append("(" + " OR ".join(parts) + ")")
    return " AND ".join(clauses) or "1", params


def filter_words(path_glob: str | None, doc_types: Sequence[str], since: str | None = None) -> str:
    """The filters as the CLI spells them, for messages: `--path 'docs/*' --type md`."""
    words = [f"--path {shlex.quote(path_glob)}"] if path_glob else []
    words += [f"--type {shlex.quote(t)}" for t in doc_types]
    return " ".join(words + ([f"--since {shlex.quote(since)}"] if since else []))


def since_time(since: str, now: float) -> float:
    """The Unix time a --since value names: an age back from `now` ("12h", "3d", "2w", "6m",
    "1y"; a month is 30 days) or a date or time in ISO form, local time ("2026-11-01")."""
    text = since.strip()
    age = _AGE.fullmatch(text)
    if age is not None:
        return now - int(age.group(1)) * _AGE_UNIT_SECONDS[age.group(2).lower()]
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"--since {since!r} is neither a date nor an age",
            "give a date (2026-11-01) or an age back from now (12h, 3d, 2w, 6m, 1y)",
        ) from None
