"""The search engine: BM25 and dense candidates, fused per document, with snippets.

Holds its connection, lexical reader and encoder for its whole life, so a long-lived caller
(the TUI, eval) pays for loading once; a BM25-only search never imports torch. Such a caller
also calls `warm_up()`, which loads the vectors into memory (search/vectors.py) so dense search
no longer scans sqlite-vec's table on every query; a one-shot search uses sqlite-vec directly.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localsearch.catalog import catalogued_entry, is_multilingual
from localsearch.config import Settings, require_index
from localsearch.embed.encoder import Encoder
from localsearch.embed_backlog import DenseCoverage, dense_coverage
from localsearch.errors import (
    IndexBusyError,
    LexicalDiskFullError,
    LexicalIndexError,
    ModelError,
    ModelMismatchError,
    NoIndexError,
    ReadOnlyDataError,
    UsageError,
)
from localsearch.language import has_cjk
from localsearch.language.scripts import ENGLISH, detect_language
from localsearch.lexical import LexicalIndex
from localsearch.lexical.catch_up import NEWER_VERSION
from localsearch.search.aggregate import dense_documents, documents_from_chunks, shown_chunk
from localsearch.search.calibrate import WEAK_COSINE, is_weak_match
from localsearch.search.duplicates import attach_copies, collapse_copies
from localsearch.search.fusion import fuse_hybrid, ranks_of
from localsearch.search.hits import Hit, SearchResults
from localsearch.search.language_weights import dense_weight_for
from localsearch.search.modes import FUSIONS, MODES
from localsearch.search.neighbours import neighbour_vectors, smooth_scores
from localsearch.search.query_terms import bm25_query_text
from localsearch.search.query_threads import QueryThreads, encode_query
from localsearch.search.since import since_time
from localsearch.search.snippet import Snippet, make_snippet
from localsearch.search.vector_sync import load_vector_index, refresh_vector_index
from localsearch.search.vectors import VectorIndex
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.database import ChunkRow
from localsearch.store.document_filter import filter_words, path_filter_sql
from localsearch.store.paths import display_path
from localsearch.store.vector_reads import knn, knn_filtered

CHUNKS_PER_DOCUMENT = 2  # chunks fetched per document wanted, on each side
KNN_MAX_K = 4096  # the most sqlite-vec's vec0 KNN query returns


class SearchEngine:
    def __init__(
        self, settings: Settings, *, encoder_factory: Callable[[str], Encoder] | None = None
    ) -> None:
        require_index(settings)
        self.settings = settings
        # Searching needs no write access: Store reads a folder it cannot write as it is.
        self.store = Store(settings.database_path)
        self.lexical = LexicalIndex(settings.lexical_dir)
        self._encoder_factory = encoder_factory
        self._encoder: Encoder | None = None
        self._encoder_space: int | None = None
        self._vectors: VectorIndex | None = None
        self._coverage: DenseCoverage | None = None
        self._space: EmbeddingSpace | None = None
        # What is kept above is read again only after the database changed: _look_for_changes()
        # moves the generation on, and each kept thing records the generation it was read at.
        self._change_key: tuple[int, int] | None = None
        self._generation = 0
        self._space_generation = self._coverage_generation = self._vectors_generation = -1
        self._data_version_generation, self._data_version_read = -1, 0
        self.keep_vectors = False  # set by warm_up(): long-lived callers search in memory
        self._bm25_worker: ThreadPoolExecutor | None = None
        self._query_threads = QueryThreads()
        # Hears one line before a wait nothing else explains (BM25 rebuilt for a new version).
        self.notify: Callable[[str], None] | None = None

    def close(self) -> None:
        if self._bm25_worker is not None:
            self._bm25_worker.shutdown(wait=True)
            self._bm25_worker = None
        self.lexical.close()
        self.store.close()

    def ensure_lexical(self) -> str | None:
        """Repair a missing or stale BM25 index unless a writer is busy; else use what is there.

        Returns a line for the user when the repair could not run and results may miss the
        latest changes (a full or read-only disk), else None."""
        self._look_for_changes()
        return self._bring_lexical_up_to_date()

    def _bring_lexical_up_to_date(self) -> str | None:
        """ensure_lexical() after this search's look for changes."""
        if self.lexical.synced_version() == self._data_version():
            return None
        if self.lexical.made_by_a_newer_version():
            return None  # a search says why it shows no BM25 results
        problem = self._repair_lexical(force=False)
        if problem is None:
            return None
        return f"the BM25 index is behind the database and could not be updated now ({problem})"

    def _repair_lexical(self, *, force: bool) -> str | None:
        """Rebuild BM25 from SQLite under the writer lock; None when done (or a writer is
        busy and will), else why it could not be done."""
        from localsearch.index import Index

        self.lexical.close()
        index = Index(self.settings)
        try:
            with index.writer_lock(purpose="lexical repair"):
                index.sync_lexical(force=force, announce=self.notify)
        except IndexBusyError:
            return None
        except LexicalDiskFullError:
            return "the disk is full"
        except LexicalIndexError as exc:
            return exc.message
        except ReadOnlyDataError:
            return "the data folder is read-only"
        except OSError as exc:
            return "the data folder is read-only" if _read_only(exc) else str(exc)
        finally:
            index.close()
        return None

    def _start_bm25(
        self, query: str, limit: int, warnings: list[str], beside_dense: bool
    ) -> Callable[[], tuple[dict[int, float] | None, float]]:
        """Start the BM25 search; the callable returned gives its candidates (None if BM25 is
        unavailable) and the milliseconds it took.

        Beside a dense search the tantivy search runs on a worker thread while this one
        encodes the query (or, where the encoding takes two threads, searches the vectors):
        tantivy lets go of the GIL, so on two cores the BM25 time (~13 ms of CPU at 1M chunks)
        hides behind the dense side. Only tantivy runs there; SQLite, which
        this engine's connection must not use from two threads at once, stays on this one."""
        if self.lexical.made_by_a_newer_version():  # this process outlived an upgrade
            warnings.append(f"{NEWER_VERSION}; showing dense results only")
            return lambda: (None, 0.0)
        stale = self._bring_lexical_up_to_date()
        if stale:
            warnings.append(stale + "; showing its last good state")

        def timed_bm25() -> tuple[list[tuple[int, float]], float]:
            started = time.perf_counter()
            found = self._bm25(query, limit)
            return found, (time.perf_counter() - started) * 1000

        running = self._worker().submit(timed_bm25) if beside_dense else None

        def finish() -> tuple[dict[int, float] | None, float]:
            try:
                found, ms = running.result() if running else timed_bm25()
            except LexicalIndexError:
                started = time.perf_counter()
                repaired = self._repaired_candidates(query, limit, warnings)
                return repaired, (time.perf_counter() - started) * 1000
            return dict(found), ms

        return finish

    def _lexical_candidates(
        self, query: str, limit: int, warnings: list[str]
    ) -> dict[int, float] | None:
        """BM25 candidates alone, as a search finds them (for benchmarks/)."""
        return self._start_bm25(query, limit, warnings, beside_dense=False)()[0]

    def _wait_for_worker(self) -> None:
        if self._bm25_worker is not None:
            self._bm25_worker.submit(lambda: None).result()  # one thread: all before it are done

    def _worker(self) -> ThreadPoolExecutor:
        if self._bm25_worker is None:
            self._bm25_worker = ThreadPoolExecutor(1, thread_name_prefix="localsearch-bm25")
        return self._bm25_worker

    def _repaired_candidates(
        self, query: str, limit: int, warnings: list[str]
    ) -> dict[int, float] | None:
        """BM25 candidates after a failed search: the index is rebuilt once, and if that cannot
        be done the search goes on without BM25 (None) and says so."""
        problem = self._repair_lexical(force=True)
        if problem is None:
            try:
                found = dict(self._bm25(query, limit))
            except LexicalIndexError as exc:
                problem = exc.message
            else:
                warnings.append("the BM25 index was damaged; rebuilt it from the database")
                return found
        if self.lexical.made_by_another_version():  # an upgrade, with another run writing
            warnings.append(
                "the BM25 index is from another version of localsearch and is rebuilt once"
                " the process writing to the index lets go; showing dense results only"
            )
        else:
            warnings.append(
                f"the BM25 index is damaged and could not be rebuilt now ({problem});"
                " showing dense results only"
            )
        return None

    def _look_for_changes(self) -> None:
        """Note whether the database may have changed since the last look (one read of no
        table); what this engine keeps (the active space, the dense coverage, the in-memory
        vectors) is read again only after a change. A search looks once, before BM25's thread
        starts, so that its reads do not wait on that thread for the GIL."""
        key = self.store.change_key()
        if key != self._change_key:
            self._change_key = key
            self._generation += 1

    def _data_version(self) -> int:
        if self._data_version_generation != self._generation:
            self._data_version_read = self.store.data_version()
            self._data_version_generation = self._generation
        return self._data_version_read

    def _active_space(self) -> EmbeddingSpace | None:
        if self._space_generation != self._generation:
            self._space = self.store.active_space()
            self._space_generation = self._generation
        return self._space

    def encoder(self) -> tuple[Encoder, Any]:
        self._look_for_changes()
        return self._current_encoder()

    def _current_encoder(self) -> tuple[Encoder, EmbeddingSpace]:
        space = self._active_space()
        if space is None:
            raise NoIndexError("the index has no vectors yet", "run `localsearch index PATH` first")
        if self._encoder is None or self._encoder_space != space.id:
            if self._encoder_factory is not None:
                encoder = self._encoder_factory(space.model)
            else:
                from localsearch.embed.sentence_transformer import load_encoder

                encoder = load_encoder(
                    space.model,
                    self.settings.models_dir,
                    device=self.settings.device,
                    precision=self.settings.precision,
                )
            if encoder.dimension != space.dimension:
                raise ModelMismatchError(
                    f"model {space.model!r} gives {encoder.dimension}-d vectors but the index has"
                    f" {space.dimension}-d",
                    "run `localsearch index --reembed`",
                )
            # The fingerprint reads 64 KB a file: cheap enough to check before every search
            # session, and it catches weights changed in place, whose vectors would be noise.
            if encoder.fingerprint != space.fingerprint:
                raise ModelMismatchError(
                    f"the files of model {space.model!r} changed since the index was built",
                    "run `localsearch index --reembed`",
                )
            self._encoder, self._encoder_space = encoder, space.id
        return self._encoder, space

    def warm_up(self) -> None:
        """Load the model and the vectors now rather than on the first query.

        For callers that keep the engine (the TUI calls this in a worker, eval before its
        queries): from here on dense search runs in memory, and each search first reads what
        changed in the index since (search/vector_sync.py).
        """
        encoder, space = self.encoder()
        encoder.encode_queries(["warm up"])
        self.keep_vectors = True
        self._vectors_for(space)

    def _vectors_for(self, space: EmbeddingSpace) -> VectorIndex | None:
        """The in-memory vectors of `space`, up to date as of the last look for changes; None
        unless kept in memory."""
        if not self.keep_vectors:
            return None
        if self._vectors is not None and self._vectors_generation == self._generation:
            return self._vectors  # nothing changed since they were last brought up to date
        if self._vectors is None or not refresh_vector_index(self.store, space, self._vectors):
            self._vectors = None  # free the old copy before loading the new one
            self._vectors = load_vector_index(self.store, space)
        self._vectors_generation = self._generation
        return self._vectors

    def dense_coverage(self) -> DenseCoverage:
        """How much of the index dense search can see; counted again only after a change."""
        self._look_for_changes()
        return self._current_coverage()

    def _current_coverage(self) -> DenseCoverage:
        if self._coverage is None or self._coverage_generation != self._generation:
            self._coverage = dense_coverage(self.store, self._active_space())
            self._coverage_generation = self._generation
        return self._coverage

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
        path_glob: str | None = None,
        doc_types: Sequence[str] = (),
        fusion: str | None = None,
        snippets: bool = True,
        per_doc: int = 1,
        since: str | None = None,
    ) -> SearchResults:
        """The `k` best documents for `query`, each shown through its best chunk.

        Each side ranks chunks, a document scores as its best chunk, and hybrid mode fuses the
        two document rankings. `snippets=False` leaves Hit.snippet empty, for callers that only
        need the ranking (eval asks for 100 documents a query and would spend most of its time
        on snippets nobody reads). `per_doc` > 1 adds up to that many chunks of each document
        in Hit.more (search/per_document.py). `since` keeps files modified since a date or
        within an age ("7d"; search/since.py). Copies of a file are one hit, their paths in
        Hit.also_at, unless the setting collapse_duplicates is off (search/duplicates.py).
        """
        if mode not in MODES:
            raise UsageError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        fusion = fusion or self.settings.fusion
        if fusion not in FUSIONS:
            raise UsageError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
        if k < 1:
            raise UsageError("-k must be at least 1")
        if per_doc < 1:
            raise UsageError("--per-doc must be at least 1")
        modified_since = since_time(since, time.time()) if since is not None else None
        if k > self.settings.candidates:
            # No search returns more documents than there are; past that, k only sizes buffers
            # (a k of 2**31 made tantivy abort the process, and SQLite takes 64-bit limits).
            k = max(1, min(k, self.store.count("documents")))
        started = time.perf_counter()
        # Bytes that are not UTF-8 (a terminal in another encoding) arrive as lone surrogates:
        # the query reads them as U+FFFD; a --path glob matches names stored the same way.
        query = os.fsencode(query).decode("utf-8", "replace") if _has_surrogates(query) else query
        path_glob = display_path(path_glob) if path_glob else path_glob

        def blank() -> SearchResults:
            return SearchResults(
                query=query,
                mode=mode,
                fusion=fusion,
                path_glob=path_glob,
                doc_types=tuple(doc_types),
                since=since,
            )

        if not query.strip():
            return blank()
        self._look_for_changes()
        where, params = path_filter_sql(path_glob, doc_types, modified_since)
        depth = max(self.settings.candidates, k)
        while True:
            results = blank()
            if self._search_at(results, k, depth, where, params, snippets, per_doc, started):
                return results
            depth *= 2

    def _search_at(
        self,
        results: SearchResults,
        k: int,
        depth: int,
        where: str,
        params: list[object],
        snippets: bool,
        per_doc: int,
        started: float,
    ) -> bool:
        """search() with `depth` documents asked of each side, into `results`; False when
        collapsing copies left fewer than `k` documents and a deeper search may find more."""
        query, mode, fusion = results.query, results.mode, results.fusion
        filtered = where != "1"
        # Documents have several chunks: ask each side for more chunks than documents wanted.
        chunk_depth = depth * CHUNKS_PER_DOCUMENT

        bm25_chunks: dict[int, float] = {}
        dense_chunks: dict[int, float] = {}
        parts = results.parts_ms
        finish_bm25: Callable[[], tuple[dict[int, float] | None, float]] | None = None
        # A filter may reject most of what BM25 finds, so look deeper before filtering.
        limit = chunk_depth * (5 if filtered else 1)

        def start_bm25() -> None:
            nonlocal finish_bm25
            finish_bm25 = self._start_bm25(
                query, limit, results.warnings, beside_dense=mode == "hybrid"
            )

        threads = self._query_threads.count(bm25_beside=mode == "hybrid") if mode != "bm25" else 1
        # One thread encoding leaves a core for BM25 beside it; two take both, and BM25 then
        # starts once the query is encoded, beside the vector search.
        after_encoding = start_bm25 if mode == "hybrid" and threads > 1 else None
        if mode in ("hybrid", "bm25") and after_encoding is None:
            start_bm25()
        try:
            if mode in ("hybrid", "dense"):
                dense_chunks = self._dense_side(
                    query, mode, chunk_depth, where, params, results, threads, after_encoding
                )
            if after_encoding is not None and finish_bm25 is None:
                start_bm25()  # nothing was encoded (no vectors yet)
        except BaseException:
            self._wait_for_worker()  # it reads the lexical index, which the caller may close
            raise
        if finish_bm25 is not None:
            # BM25's own time: in hybrid mode it overlaps the encoding or the vector search.
            found, parts["bm25"] = finish_bm25()
            if found is None and mode == "bm25":
                mode = "dense"  # BM25 is unavailable: answer from the vectors rather than not
                dense_chunks = self._dense_side(
                    query, mode, chunk_depth, where, params, results, threads
                )
            bm25_chunks = found or {}
        fusion_started = time.perf_counter()

        # A dense search in memory has just checked that its vectors are current.
        in_memory = self._vectors if dense_chunks and self.keep_vectors else None
        owners = self._owners(bm25_chunks.keys() | dense_chunks.keys(), in_memory)
        if filtered:
            allowed = self.store.documents_matching(where, params, among=list(set(owners.values())))
            owners = {cid: doc for cid, doc in owners.items() if doc in allowed}
        decay = self.settings.chunk_decay
        bm25_docs = documents_from_chunks(bm25_chunks, owners, depth, decay)
        dense_docs = dense_documents(
            dense_chunks,
            owners,
            depth,
            decay,
            self.settings.opening_share,
            # The in-memory rows know their openings; asking SQLite costs 0.3-0.6 ms a search.
            self.store.opening_chunks
            if in_memory is None
            else lambda _: in_memory.openings_among(dense_chunks),
        )
        results.weak_match = self._weak_match(query, mode, bool(bm25_docs), dense_chunks)
        bm25_scores = {doc: score for doc, (score, _) in bm25_docs.items()}
        dense_scores = {doc: score for doc, (score, _) in dense_docs.items()}

        dense_weight = self.settings.dense_weight
        if mode == "hybrid":
            dense_weight = dense_weight_for(
                query,
                dense_weight,
                # Asked only where it matters: it reads the catalogue (~0.2 ms).
                has_cjk(query) and self._multilingual_model(),
            )
        if mode == "bm25":
            fused = bm25_scores
        elif mode == "dense":
            fused = dense_scores
        else:
            fused = fuse_hybrid(
                bm25_scores,
                dense_scores,
                fusion=fusion,
                rrf_k=self.settings.rrf_k,
                bm25_weight=self.settings.bm25_weight,
                dense_weight=dense_weight,
            )
        added: dict[int, float] = {}
        alpha = self.settings.neighbour_smoothing
        # Not for CJK queries: the bundled model reads them as noise, and they lost (README).
        if mode == "hybrid" and alpha > 0 and dense_chunks and not has_cjk(query):
            space = self._active_space()
            vectors = neighbour_vectors(fused, bm25_docs, dense_docs, self.store, space, in_memory)
            fused, added = smooth_scores(fused, vectors, alpha)
        ranked = sorted(fused, key=lambda d: -fused[d])
        collapsed = None
        if self.settings.collapse_duplicates:
            collapsed = collapse_copies(ranked, k, self.store)
        best = ranked[:k] if collapsed is None else collapsed.best
        cut_short = len(bm25_chunks) >= limit or len(dense_chunks) >= chunk_depth
        cut_short = cut_short or max(len(bm25_docs), len(dense_docs)) >= depth
        if collapsed is not None and len(best) < min(k, len(ranked)) and cut_short:
            return False  # copies took places of the k, and more candidates wait deeper
        snippets_started = time.perf_counter()
        parts["fusion"] = (snippets_started - fusion_started) * 1000
        shown = {doc_id: shown_chunk(doc_id, bm25_docs, dense_docs) for doc_id in best}
        rows = self.store.chunks_by_id(list(shown.values()))
        bm25_ranks, dense_ranks = ranks_of(bm25_scores), ranks_of(dense_scores)
        for doc_id, chunk_id in shown.items():
            chunk = rows.get(chunk_id)
            if chunk is None:  # deleted by an index run since the candidates were found
                continue
            results.hits.append(
                Hit(
                    path=chunk.path,
                    title=chunk.title,
                    doc_type=chunk.doc_type,
                    score=fused[doc_id],
                    chunk_id=chunk.id,
                    document_id=doc_id,
                    heading=chunk.heading,
                    page=chunk.page,
                    start_line=chunk.start_line,
                    end_line=chunk.end_line,
                    text=chunk.text,
                    snippet=make_snippet(chunk.text, query, doc_type=chunk.doc_type)
                    if snippets
                    else Snippet(""),
                    bm25_rank=bm25_ranks.get(doc_id),
                    bm25_score=bm25_scores.get(doc_id),
                    dense_rank=dense_ranks.get(doc_id),
                    dense_score=dense_scores.get(doc_id),
                    neighbours=added.get(doc_id),
                    raw_path=chunk.raw_path,
                )
            )
        if per_doc > 1:
            from localsearch.search.per_document import attach_more_chunks

            def rank_chunks(bm25: Any, dense: Any) -> dict[int, float]:
                if mode != "hybrid":
                    return dict(bm25 if mode == "bm25" else dense)
                return fuse_hybrid(
                    bm25,
                    dense,
                    fusion=fusion,
                    rrf_k=self.settings.rrf_k,
                    bm25_weight=self.settings.bm25_weight,
                    dense_weight=dense_weight,  # a file's places rank as its documents did
                )

            attach_more_chunks(
                self.store,
                results.hits,
                owners,
                bm25_chunks,
                dense_chunks,
                rank_chunks,
                per_doc,
                lambda text, doc_type: (
                    make_snippet(text, query, doc_type=doc_type) if snippets else Snippet("")
                ),
            )
        if collapsed is not None and collapsed.copies:
            attach_copies(self.store, results.hits, collapsed.copies)
        if filtered and not results.hits:
            self._say_if_no_file_passes(where, params, results)
        finished = time.perf_counter()
        parts["snippets"] = (finished - snippets_started) * 1000
        if mode == "hybrid":
            self._query_threads.record(threads, parts)
        results.elapsed_ms = (finished - started) * 1000
        return True

    def _say_if_no_file_passes(
        self, where: str, params: list[object], results: SearchResults
    ) -> None:
        """A mistyped --path or --type finds nothing: say so, rather than only "No results"."""
        if self.store.any_document_matching(where, params):
            return
        words = filter_words(results.path_glob, results.doc_types, results.since)
        warning = f"no indexed file matches {words}"
        if results.doc_types:
            warning += f" (indexed types: {', '.join(self.store.document_types())})"
        results.warnings.append(warning)

    def _dense_side(
        self,
        query: str,
        mode: str,
        chunk_depth: int,
        where: str,
        params: list[object],
        results: SearchResults,
        threads: int,
        after_encoding: Callable[[], None] | None = None,
    ) -> dict[int, float]:
        """Dense candidates, and a warning while some chunks still wait for their vectors."""
        coverage = self._current_coverage()
        if not coverage.complete:
            # Text is indexed before it is embedded: say what dense search cannot see yet.
            results.dense = coverage
            rest = "found by BM25 alone" if mode == "hybrid" else "not searched"
            results.warnings.append(
                f"{coverage.describe()}; chunks without a vector are {rest} until"
                " `localsearch index` finishes"
            )
        if not coverage.embedded:
            return {}
        try:
            return self._dense_candidates(
                query, chunk_depth, where, params, results.parts_ms, threads, after_encoding
            )
        except ModelError as exc:
            if mode != "hybrid":
                raise
            # A moved model folder still leaves the words to search by.
            results.warnings.append(
                str(ModelError(f"{exc.message}: results are BM25 alone", exc.hint))
            )
            return {}

    def _bm25(self, query: str, limit: int) -> list[tuple[int, float]]:
        weight = self.settings.bm25_function_weight
        boost, slop = self.settings.bm25_proximity_boost, self.settings.bm25_proximity_slop
        if (weight >= 1.0 and boost <= 0.0) or detect_language(query) != ENGLISH:
            return self.lexical.search(query, limit)
        return self.lexical.search_query_text(
            bm25_query_text(query, weight, boost, slop), limit, typed=query
        )

    def _weak_match(
        self, query: str, mode: str, words_matched: bool, dense_chunks: dict[int, float]
    ) -> bool:
        best_cosine = max(dense_chunks.values()) if dense_chunks else None
        weak_cosine = self._weak_cosine()
        if mode != "bm25" and not is_weak_match("dense", False, best_cosine, weak_cosine):
            return False  # close in meaning, whichever words matched
        if words_matched and mode != "dense":
            # Function words alone ("what is qwxzv") are no match: ask again without them.
            content = bm25_query_text(query, function_weight=0.0)
            if detect_language(query) == ENGLISH and content != bm25_query_text(query):
                try:
                    words_matched = bool(self.lexical.search_query_text(content, 1))
                except LexicalIndexError:
                    pass  # BM25 is unavailable (said in the warnings): keep what was found
        return is_weak_match(mode, words_matched, best_cosine, weak_cosine)

    def _weak_cosine(self) -> float:
        space = self._active_space()
        entry = catalogued_entry(space.model, self.settings.models_dir) if space else None
        return entry.weak_cosine if entry and entry.weak_cosine is not None else WEAK_COSINE

    def _multilingual_model(self) -> bool:
        space = self._active_space()
        return space is not None and is_multilingual(space.model, self.settings.models_dir)

    def _owners(
        self, chunk_ids: Iterable[int], in_memory: VectorIndex | None = None
    ) -> dict[int, int]:
        """{chunk_id: document_id}; chunks deleted since they were found are left out.

        Chunks the in-memory vectors hold are answered from them (at 1M chunks the query
        costs ~6 ms a search); the rest, such as chunks still without a vector, from SQLite."""
        ids = list(chunk_ids)
        owners: dict[int, int] = {}
        if in_memory is not None:
            owners = in_memory.owners(ids)
            ids = [chunk_id for chunk_id in ids if chunk_id not in owners]
        owners.update(self.store.documents_of_chunks(ids))
        return owners

    def _dense_candidates(
        self,
        query: str,
        count: int,
        where: str,
        params: list[object],
        parts: dict[str, float] | None = None,
        threads: int = 1,
        after_encoding: Callable[[], None] | None = None,
    ) -> dict[int, float]:
        """{chunk_id: cosine similarity} of the `count` chunks nearest the query, encoded on
        up to `threads` torch threads (`after_encoding` is called between the encoding and
        the search); the time spent encoding and searching goes into `parts`."""
        encoder, space = self._current_encoder()
        encode_started = time.perf_counter()
        vector = encode_query(encoder, query, once=not self.keep_vectors, threads=threads)
        if after_encoding is not None:
            after_encoding()
        search_started = time.perf_counter()
        found = self._nearest(space, vector, count, where, params)
        if parts is not None:
            parts["encode"] = (search_started - encode_started) * 1000
            parts["vectors"] = (time.perf_counter() - search_started) * 1000
        return found

    def _nearest(
        self, space: EmbeddingSpace, vector: Any, count: int, where: str, params: list[object]
    ) -> dict[int, float]:
        vectors = self._vectors_for(space)
        if vectors is not None:
            mask = None
            if where != "1":
                allowed = self.store.documents_matching(where, params)
                mask = vectors.mask_for_documents(list(allowed))
            return dict(vectors.search(vector, count, mask))
        if where != "1" or count > KNN_MAX_K:
            # sqlite-vec's KNN stops at k = 4096; past that an exact scan has no limit.
            pairs = knn_filtered(self.store, space, vector, count, where, params)
        else:
            pairs = knn(self.store, space, vector, count)
        return {chunk_id: 1.0 - distance for chunk_id, distance in pairs}

    def all_more(self, hit: Hit, query: str) -> list[Hit]:
        """Every other matching chunk of `hit`'s document, best first: `search(per_doc=N)`
        shows the first N-1 in `hit.more`; this shows them all ("n more in this file")."""
        from localsearch.search.per_document import chunk_hits

        rows = self.store.chunks_by_id([chunk_id for chunk_id, _ in hit.more_ranked])
        return chunk_hits(
            rows,
            hit,
            hit.more_ranked,
            lambda text, doc_type: make_snippet(text, query, doc_type=doc_type),
        )

    def context(self, hit: Hit, before: int = 1, after: int = 1) -> list[ChunkRow]:
        """The hit's chunk with its neighbours, for a preview."""
        rows = self.store.chunks_by_id([hit.chunk_id])
        if hit.chunk_id not in rows:
            return []
        return self.store.neighbours(rows[hit.chunk_id], before, after)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_only(exc: OSError) -> bool:
    return exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
