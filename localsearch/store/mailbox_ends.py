"""The SQL of mailbox ends: where the last read of each mailbox stopped (ingest/mailbox_end.py).

Kept beside database.py rather than in it because only mailboxes have one. A row goes with
its mailbox's document (deleted with it) and is written in the same transaction as that
document's record, after all the messages it covers. Functions take a Store and run inside
the caller's transaction.
"""

from __future__ import annotations

import json

from localsearch.ingest.mailbox_end import MailboxEnd
from localsearch.store.database import Store


def mailbox_end(store: Store, document_id: int) -> MailboxEnd | None:
    row = store.conn.execute(
        "SELECT last_offset, last_number, sampled_starts, sampled_hash, max_message_bytes,"
        " max_entries, listed, unlisted FROM mailbox_ends WHERE document_id = ?",
        (document_id,),
    ).fetchone()
    if row is None:
        return None
    offset, number, starts, sampled, max_bytes, max_entries, listed, unlisted = row
    return MailboxEnd(
        int(offset),
        int(number),
        tuple(json.loads(starts)),
        str(sampled),
        int(max_bytes),
        int(max_entries),
        tuple(json.loads(listed)),
        int(unlisted),
    )


def set_mailbox_end(store: Store, document_id: int, end: MailboxEnd | None) -> None:
    """Record where a read of the mailbox ended; None forgets it (the next read is whole)."""
    if end is None:
        store.conn.execute("DELETE FROM mailbox_ends WHERE document_id = ?", (document_id,))
        return
    store.conn.execute(
        "INSERT OR REPLACE INTO mailbox_ends(document_id, last_offset, last_number,"
        " sampled_starts, sampled_hash, max_message_bytes, max_entries, listed, unlisted)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            document_id,
            end.last_offset,
            end.last_number,
            json.dumps(end.sampled_starts),
            end.sampled_hash,
            end.max_message_bytes,
            end.max_entries,
            json.dumps(end.listed),
            end.unlisted,
        ),
    )
