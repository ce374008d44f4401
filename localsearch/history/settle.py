"""For faces that search as the user types: log the search the user settled on, not each prefix.

The face calls `showing` whenever new results are on screen, `settle` when they have stayed
there long enough (its own timer), and `act` when the user opens or marks a result, which
settles the search first. Results replaced before they settled are never logged. A separate
module so that any such face (the TUI today) shares the rule, and it is tested without one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from localsearch.history.log import SearchHistory

SETTLE_SECONDS = 2.0  # results on screen this long count as a search the user made


@dataclass(frozen=True)
class ShownSearch:
    query: str
    mode: str
    chunk_ids: tuple[int, ...]
    path_glob: str | None = None
    doc_types: tuple[str, ...] = ()


class SettledSearchLog:
    """`history` returns the log, or None while there is no database to hold it."""

    def __init__(self, history: Callable[[], SearchHistory | None], source: str) -> None:
        self._history = history
        self.source = source
        self.pending: ShownSearch | None = None
        self.search_id: int | None = None  # the pending search's id once it is logged

    def showing(
        self,
        query: str,
        mode: str,
        chunk_ids: Sequence[int],
        path_glob: str | None = None,
        doc_types: Sequence[str] = (),
    ) -> None:
        """New results are on screen; the same results again (a re-run) change nothing."""
        shown = ShownSearch(query.strip(), mode, tuple(chunk_ids), path_glob, tuple(doc_types))
        if shown == self.pending:
            return
        self.pending, self.search_id = shown, None

    def clear(self) -> None:
        """Nothing is on screen any more (the query was erased)."""
        self.pending, self.search_id = None, None

    def settle(self) -> int | None:
        """Log what is on screen, once; returns its id (None when not recorded)."""
        if self.pending is None or self.search_id is not None or not self.pending.query:
            return self.search_id
        history = self._history()
        if history is None:
            return None
        pending = self.pending
        self.search_id = history.record_search(
            pending.query,
            pending.mode,
            pending.chunk_ids,
            self.source,
            path_glob=pending.path_glob,
            doc_types=pending.doc_types,
        )
        return self.search_id

    def act(self, chunk_id: int, action: str) -> bool:
        """Record an open or a mark on a shown result; False when nothing was recorded
        (recording is off)."""
        search_id = self.settle()
        history = self._history()
        if search_id is None or history is None:
            return False
        history.record_action(search_id, chunk_id, action)
        return True
