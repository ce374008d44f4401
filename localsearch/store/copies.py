"""The SQL behind collapsing copies (search/duplicates.py): documents' content hashes and paths.

Kept beside database.py rather than in it because only that one step of a search asks. The
content hash is the SHA-256 of the file's bytes (an archive member's or a mailbox message's
own bytes) followed by the extraction version, so equal hashes mean the same bytes read the
same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from localsearch.store.connection import in_batches
from localsearch.store.database import Store


def content_hashes(store: Store, document_ids: Sequence[int]) -> dict[int, str]:
    """{document_id: content hash} for those of `document_ids` that still exist."""
    return _column_of_documents(store, "content_hash", document_ids)


def document_paths(store: Store, document_ids: Sequence[int]) -> dict[int, str]:
    """{document_id: path as shown} for those of `document_ids` that still exist."""
    return _column_of_documents(store, "path", document_ids)


def _column_of_documents(store: Store, column: str, document_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part, marks in in_batches(document_ids):
        found.update(
            (int(r[0]), str(r[1]))
            for r in store.conn.execute(
                f"SELECT id, {column} FROM documents WHERE id IN ({marks})", part
            )
        )
    return found
