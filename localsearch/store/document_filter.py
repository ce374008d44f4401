"""Search's --path, --type and --since filters: their WHERE clause over the documents table as
`d`, and their words as the CLI spells them, for messages about them.

Apart from the queries that use it (vector_reads.knn_filtered, Store.documents_matching)
because the search engine builds it once per search and hands the same clause to each of them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

# The document's path below its root, from its '/' (a root that is a file: its name).
_BELOW_ROOT = (
    "CASE WHEN d.path = r.path"
    " THEN '/' || replace(d.path, rtrim(d.path, replace(d.path, '/', '')), '')"
    " ELSE substr(d.path, length(r.path) + 1) END"
)
# Matched from any name down (`notes*`, `src/*.py`), or as a folder (`src`).
_INSIDE_ROOT = f"{_BELOW_ROOT} GLOB '*/' || ? OR {_BELOW_ROOT} GLOB '*/' || ? || '/*'"


def path_filter_sql(
    path_glob: str | None, doc_types: Sequence[str], modified_since: float | None = None
) -> tuple[str, list[object]]:
    """A WHERE clause over documents `d` for the --path, --type and --since filters
    (`modified_since`: a Unix time, from search/since.py)."""
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
