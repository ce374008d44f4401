"""A SearchEngine kept for a process's whole life (the server, the MCP server) that follows
index runs: each use checks the data version and reopens the BM25 reader when it moved, since
a rebuild replaces the tantivy folder under an open reader. The engine itself brings its
in-memory vectors up to date after a change and loads a new model when the active one changes."""

from __future__ import annotations

from collections.abc import Callable

from localsearch.config import Settings, require_index
from localsearch.errors import NoIndexError
from localsearch.lexical import LexicalIndex
from localsearch.search.engine import SearchEngine, SearchResults
from localsearch.store import Store


class LiveEngine:
    def __init__(
        self,
        settings: Settings,
        engine_factory: Callable[[Settings], SearchEngine] = SearchEngine,
    ) -> None:
        self.settings = settings
        self.engine_factory = engine_factory
        self._engine: SearchEngine | None = None
        self._seen_version: int | None = None
        self._warm_once_embedded = False

    def current(self) -> SearchEngine:
        try:
            require_index(self.settings)
        except NoIndexError:
            self.close()
            raise
        if self._engine is None:
            self._engine = self.engine_factory(self.settings)
            self._seen_version = self._engine.store.data_version()
        version = self._engine.store.data_version()
        if version != self._seen_version:
            self._engine.lexical = LexicalIndex(self.settings.lexical_dir)
            self._seen_version = version
        # One query a search, only while the index has no vectors at all.
        if self._warm_once_embedded and self._engine.store.active_space() is not None:
            self._warm_once_embedded = False
            self._engine.warm_up()
        return self._engine

    def record(self, results: SearchResults, source: str) -> int | None:
        """Log a search in the user's history (history/); a failure to log never fails it."""
        return record_search(self.current().store, results, source)

    def forget(self, search_id: int) -> None:
        forget_search(self.current().store, search_id)

    def warm_up(self) -> None:
        """Load the model and the vectors now. An index with no vectors yet (its first run
        stopped before the model loaded, or still reading files) has no model to load: BM25
        answers, and the engine warms up once a model's first vectors are committed."""
        engine = self.current()
        if engine.store.active_space() is None:
            self._warm_once_embedded = True
            return
        engine.warm_up()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def record_search(store: Store, results: SearchResults, source: str) -> int | None:
    """The logged search's id, for the actions that follow (`search --open N`, feedback)."""
    from localsearch.history import SearchHistory

    try:
        return SearchHistory(store).record_search(
            results.query,
            results.mode,
            [hit.chunk_id for hit in results.hits],
            source,
            path_glob=results.path_glob,
            doc_types=results.doc_types,
        )
    except Exception:  # noqa: BLE001 - e.g. the database busy: the search itself succeeded
        return None


def forget_search(store: Store, search_id: int) -> None:
    """Take a logged search out of the history again: its results never reached the user (a
    Ctrl-C before they were printed), and the history lists what a user was shown."""
    from localsearch.history import SearchHistory

    try:
        SearchHistory(store).delete([search_id])
    except Exception:  # noqa: BLE001 - e.g. the database busy: as a search it failed to log
        pass
