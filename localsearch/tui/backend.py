"""The TUI's side of the engine: one SearchEngine, used from worker threads one call at a time.

The engine's SQLite connection is not thread-safe, and searches come from short-lived worker
threads, so every call goes through one lock. The model loads on a separate engine (its own
connection) so that BM25 searches keep answering while it warms; the encoder cache in
`load_encoder` hands the loaded model to the shared engine afterwards.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from localsearch.config import Settings
from localsearch.index import Index
from localsearch.index_status import IndexStatus
from localsearch.search.engine import Hit, SearchEngine, SearchResults
from localsearch.store import Store
from localsearch.store.database import ChunkRow

EngineFactory = Callable[[Settings], SearchEngine]


def default_engine_factory(settings: Settings) -> SearchEngine:
    return SearchEngine(settings)


@dataclass
class SearchOutcome:
    results: SearchResults
    contexts: dict[int, list[ChunkRow]]
    provisional: bool = False
    note: str = ""


class SearchBackend:
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self.engine_factory = engine_factory or default_engine_factory
        self.model_ready = threading.Event()
        self.model_failed: Exception | None = None
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._stale = False

    def has_index(self) -> bool:
        return self.settings.database_path.exists()

    def _engine_locked(self) -> SearchEngine:
        if self._stale and self._engine is not None:
            self._engine.close()
            self._engine = None
        self._stale = False
        if self._engine is None:
            self._engine = self.engine_factory(self.settings)
        return self._engine

    def search(
        self,
        query: str,
        *,
        k: int,
        mode: str,
        path_glob: str | None,
        doc_types: Sequence[str],
        since: str | None = None,
        context_chunks: int = 1,
        per_doc: int = 1,
        superseded: Callable[[], bool] = lambda: False,
        on_notice: Callable[[str], None] | None = None,
    ) -> SearchOutcome | None:
        """Search and fetch each hit's neighbouring chunks, so the preview needs no round trip.

        Until the model has loaded, a hybrid search answers from BM25 alone (marked provisional)
        and a dense one answers nothing, rather than waiting seconds for torch. Returns None
        when `superseded()` says a newer search made this one pointless while it waited.
        `on_notice` hears of a wait before it (BM25 rebuilt for a new version).
        """
        provisional, note = False, ""
        if mode != "bm25" and not self.model_ready.is_set():
            if self.model_failed is not None:
                note = "the model is not available: showing keyword (BM25) results"
            else:
                provisional = True
                note = "loading the model: keyword (BM25) results for now"
            if mode == "dense":
                return SearchOutcome(
                    SearchResults(query=query, mode=mode, fusion=self.settings.fusion),
                    {},
                    provisional,
                    note.replace(": keyword (BM25) results for now", "…"),
                )
            mode = "bm25"
        with self._lock:
            if superseded():
                return None
            engine = self._engine_locked()
            engine.notify = on_notice
            try:
                results = engine.search(
                    query,
                    k=k,
                    mode=mode,
                    path_glob=path_glob or None,
                    doc_types=doc_types,
                    per_doc=per_doc,
                    since=since,
                )
            finally:
                engine.notify = None
            contexts = {
                hit.chunk_id: engine.context(hit, context_chunks, context_chunks)
                for best in results.hits
                for hit in (best, *best.more)
            }
        return SearchOutcome(results, contexts, provisional, note)

    def all_more(
        self, hit: Hit, query: str, context_chunks: int = 1
    ) -> tuple[list[Hit], dict[int, list[ChunkRow]]]:
        """Every other matching chunk of `hit`'s document, with their neighbours."""
        with self._lock:
            engine = self._engine_locked()
            more = engine.all_more(hit, query)
            contexts = {
                other.chunk_id: engine.context(other, context_chunks, context_chunks)
                for other in more
            }
        return more, contexts

    def warm_up(self) -> str:
        """Load the active model (in a worker); returns its name."""
        engine = self.engine_factory(self.settings)
        try:
            engine.warm_up()
            space = engine.store.active_space()
            model = space.model if space else self.settings.model
        except Exception as exc:
            self.model_failed = exc
            raise
        finally:
            engine.close()
        self.model_failed = None
        self.model_ready.set()
        return model

    def reset(self) -> None:
        """After indexing or a model switch: the next search opens the engine afresh.

        Only marks it, so the UI thread never waits for a search that holds the lock.
        """
        self._stale = True

    def skipped_files(self) -> list[tuple[str, str]]:
        """Each file the index runs skipped, with the reason, by path."""
        if not self.has_index():
            return []
        store = Store(self.settings.database_path)
        try:
            return store.skipped()
        finally:
            store.close()

    def database_stamp(self) -> tuple[tuple[int, int], ...]:
        """The size and mtime of the database and its write-ahead log: it changes when any
        process commits, which is cheaper to look at (two stats) than the counts."""
        stamps = []
        for path in (self.settings.database_path, Path(f"{self.settings.database_path}-wal")):
            try:
                info = path.stat()
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((info.st_size, info.st_mtime_ns))
        return tuple(stamps)

    def status(self) -> IndexStatus | None:
        if not self.has_index():
            return None
        index = Index(self.settings)
        try:
            return index.status()
        finally:
            index.close()


def shorten_path(path: str, roots: Sequence[str]) -> str:
    """`path` relative to the deepest root holding it, led by the root's folder name."""
    best = ""
    for root in roots:
        prefix = root.rstrip("/\\")
        if (path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "\\")) and (
            len(prefix) > len(best)
        ):
            best = prefix
    if not best:
        return path
    name = re.split(r"[/\\]", best)[-1] or best
    rest = path[len(best) :].lstrip("/\\")
    return f"{name}/{rest}" if rest else name
