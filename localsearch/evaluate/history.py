"""`localsearch eval --history`: score models on the user's own logged searches.

A logged search counts when the user opened a result or marked one "this is it" (and did not
later mark it "not this"); its query is run again through the engine and scored by where the
documents of those results come: MRR@10 and Hit@10. The same query logged twice counts once,
with the union of what was opened. Each model is searched with its own vectors; a query-side
model that has none yet uses the vectors of the model whose passages it shares (its card's
`base`). A model with no vectors in this index is reported as such, not scored. Queries an adapted
model was trained on (its card lists them) are left out, and how many is said: on them it
would be scored on what it learnt by heart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from localsearch.config import Settings, require_index
from localsearch.embed.encoder import Encoder
from localsearch.errors import LocalSearchError, NoIndexError
from localsearch.history import LoggedSearch, SearchHistory
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.search.engine import SearchEngine
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.adapt_queries import model_history

MODES = ("bm25", "dense", "hybrid")
CUTOFF = 10


@dataclass(frozen=True)
class JudgedQuery:
    query: str
    documents: frozenset[int]  # the documents of the results the user wanted
    path_glob: str | None = None  # replayed with the filters it was searched with
    doc_types: tuple[str, ...] = ()


@dataclass
class ModelScores:
    model: str
    active: bool
    vectors: str  # "own" | "shared with MODEL" | "none"
    note: str = ""
    modes: dict[str, tuple[float, float]] = field(default_factory=dict)  # mode: (MRR@10, Hit@10)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "active": self.active,
            "vectors": self.vectors,
            "note": self.note,
            "modes": {
                mode: {"mrr@10": round(mrr, 4), "hit@10": round(hit, 4)}
                for mode, (mrr, hit) in self.modes.items()
            },
        }


@dataclass
class HistoryReport:
    searches: int  # logged searches with an opened or marked result
    queries: int  # distinct queries among them that are scored
    models: list[ModelScores] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # model: queries it trained on

    def to_dict(self) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "queries": self.queries,
            "left_out": self.left_out,
            "models": [m.to_dict() for m in self.models],
        }


def judged_queries(searches: Sequence[LoggedSearch], store: Store) -> tuple[list[JudgedQuery], int]:
    """One per distinct query and filters that has a result the user wanted, oldest first; and
    how many logged searches had one."""
    owners = _owners(store, [c for s in searches for c in (*s.opened, *s.relevant)])
    wanted: dict[tuple[str, str | None, tuple[str, ...]], set[int]] = {}
    texts: dict[tuple[str, str | None, tuple[str, ...]], str] = {}
    used = 0
    for search in reversed(searches):  # oldest first
        rejected = set(search.not_relevant)
        chunks = [c for c in (*search.opened, *search.relevant) if c not in rejected]
        documents = {owners[c] for c in chunks if c in owners}
        if documents:
            used += 1
            key = (search.query.strip().lower(), search.path_glob, search.doc_types)
            texts.setdefault(key, search.query)
            wanted.setdefault(key, set()).update(documents)
    return [
        JudgedQuery(texts[key], frozenset(docs), key[1], key[2]) for key, docs in wanted.items()
    ], used


def score(engine: SearchEngine, queries: Sequence[JudgedQuery], mode: str) -> tuple[float, float]:
    """(MRR@10, Hit@10) of `queries` in `mode`."""
    reciprocal, hits = 0.0, 0
    for judged in queries:
        results = engine.search(
            judged.query,
            k=CUTOFF,
            mode=mode,
            path_glob=judged.path_glob,
            doc_types=judged.doc_types,
            snippets=False,
        )
        for rank, hit in enumerate(results.hits, start=1):
            if hit.document_id in judged.documents:
                reciprocal += 1.0 / rank
                hits += 1
                break
    count = max(len(queries), 1)
    return reciprocal / count, hits / count


class ModelSearchEngine(SearchEngine):
    """A SearchEngine whose dense side uses a given encoder and space instead of the active."""

    def __init__(self, settings: Settings, encoder: Encoder, space: EmbeddingSpace) -> None:
        super().__init__(settings)
        self._fixed = (encoder, space)

    def _current_encoder(self) -> tuple[Encoder, EmbeddingSpace]:
        # The one every dense search asks (encoder() asks it too): overriding encoder() alone
        # left searches on the active model, and both rows of `eval --history` the same.
        return self._fixed


def evaluate_history(
    settings: Settings,
    *,
    other_model: str | None = None,
    load_encoder: Callable[[str], Encoder] | None = None,
    progress: ProgressCallback = ignore_progress,
) -> HistoryReport:
    """Scores of the active model and of `other_model` (default: the previously active one)."""
    require_index(settings)
    load = load_encoder or _default_loader(settings)
    store = Store(settings.database_path)
    try:
        queries, used = judged_queries(SearchHistory(store).searches(), store)
        if not queries:
            raise LocalSearchError(
                "no logged search has a result you opened or marked",
                "search, open what you were looking for (or `localsearch feedback N --good`),"
                " then run this again",
            )
        active = store.active_space()
        if active is None:
            raise NoIndexError("the index has no vectors yet", "run `localsearch index PATH`")
        explicit = other_model is not None
        if other_model is not None:
            from localsearch.catalog import model_reference, resolve_model

            # As `models use` keeps it: "./mine" is the folder's absolute path in the index,
            # whose vectors it would otherwise not find; a folder that is no model is refused.
            other_model = model_reference(other_model, settings.models_dir)
            resolve_model(other_model, settings.models_dir)  # a clear error for a typo
        else:
            earlier = [m for m in model_history(store) if m != active.model]
            if not earlier:  # after a rollback: the model rolled back from keeps its vectors
                spaces = sorted(store.spaces(), key=lambda s: s.id)
                earlier = [s.model for s in spaces if s.model != active.model]
            other_model = earlier[-1] if earlier else None
        plans: list[tuple[str, bool, EmbeddingSpace | None, str]] = [
            (active.model, True, active, "own")
        ]
        if other_model is not None and other_model != active.model:
            space, vectors = _space_for(store, settings, other_model)
            plans.append((other_model, False, space, vectors))
    finally:
        store.close()
    queries, left_out = _untrained(queries, [model for model, *_ in plans], settings)
    if not queries:
        raise LocalSearchError(
            f"every query you opened a result for trained {', '.join(left_out)}",
            "search more, then run this again: a model scored on what it trained on flatters it",
        )
    report = HistoryReport(searches=used, queries=len(queries), left_out=left_out)

    total = len(plans) * len(MODES) * len(queries)
    done = 0
    for model, is_active, space, vectors in plans:
        scores = ModelScores(model, is_active, vectors)
        report.models.append(scores)
        if space is None:
            scores.note = f"{model} has no vectors in this index: only BM25 is scored"
        encoder: Encoder | None = None
        try:
            encoder = load(model) if space is not None else None
        except LocalSearchError as exc:
            if explicit and not is_active:
                raise
            scores.note, space = f"cannot load {model}: {exc.message}", None
        if encoder is not None and space is not None and encoder.dimension != space.dimension:
            scores.note, space = f"{model} does not match the vectors it would use", None
        engine: SearchEngine = (
            ModelSearchEngine(settings, encoder, space)
            if encoder is not None and space is not None
            else SearchEngine(settings)
        )
        try:
            if isinstance(engine, ModelSearchEngine):
                engine.warm_up()  # dense search in memory rather than a scan per query
            for mode in MODES:
                if mode != "bm25" and (encoder is None or space is None):
                    continue
                scores.modes[mode] = score(engine, queries, mode)
                done += len(queries)
                progress(ProgressEvent("history", done, total))
        finally:
            engine.close()
    return report


def _untrained(
    queries: Sequence[JudgedQuery], models: Sequence[str], settings: Settings
) -> tuple[list[JudgedQuery], dict[str, int]]:
    """The queries that none of `models` was trained on, and how many each was trained on."""
    from localsearch.adapt.from_history import query_digest
    from localsearch.adapt.models import adapted_root, read_card, trained_query_digests

    trained: dict[str, set[str]] = {}
    for model in models:
        card = read_card(adapted_root(settings.models_dir) / model) or {}
        trained[model] = set(trained_query_digests(card))
    left_out: dict[str, int] = {}
    kept = []
    for query in queries:
        key = query_digest(query.query)
        by = [model for model, texts in trained.items() if key in texts]
        for model in by:
            left_out[model] = left_out.get(model, 0) + 1
        if not by:
            kept.append(query)
    return kept, left_out


def _space_for(store: Store, settings: Settings, model: str) -> tuple[EmbeddingSpace | None, str]:
    own = [s for s in store.spaces() if s.model == model]
    if own:
        return max(own, key=store.count_vectors), "own"
    from localsearch.adapt.models import adapted_root, read_card

    card = read_card(adapted_root(settings.models_dir) / model) or {}
    base = card.get("base")
    if card.get("query_side") and base:
        shared = [s for s in store.spaces() if s.model == base]
        if shared:
            return max(shared, key=store.count_vectors), f"shared with {base}"
    return None, "none"


def _default_loader(settings: Settings) -> Callable[[str], Encoder]:
    def load(model: str) -> Encoder:
        from localsearch.embed.sentence_transformer import load_encoder

        return load_encoder(
            model, settings.models_dir, device=settings.device, precision=settings.precision
        )

    return load


def _owners(store: Store, chunk_ids: Sequence[int]) -> dict[int, int]:
    return {cid: row.document_id for cid, row in store.chunks_by_id(list(chunk_ids)).items()}
