"""`localsearch eval` as a library function: index a BEIR corpus, run its judged queries in every
mode, and measure quality and latency.

The corpus goes into a home of its own; a marker file records what built it (corpus, model,
chunking), so a second run with the same settings reuses the index and a different one rebuilds.
A run of BM25 modes alone embeds nothing; a later run that searches by meaning embeds the chunks
it finds without a vector, counted in the index rather than read from the marker.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localsearch.config import Settings, load_settings
from localsearch.errors import DatasetError, UsageError
from localsearch.evaluate.beir import BeirDataset, CorpusRecord, load_dataset
from localsearch.evaluate.metrics import evaluate_rankings, percentile
from localsearch.ingest.sources import sha256_file
from localsearch.jsonfile import read_json_object, write_json_atomically
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress

MARKER_NAME = "eval.json"
MARKER_FORMAT = 1
DEFAULT_MODES = ("bm25", "dense", "hybrid")
KNOWN_MODES = ("bm25", "dense", "hybrid", "hybrid-rrf", "hybrid-weighted", "hybrid-zscore")
DEPTH = 100  # Recall@100 needs a hundred documents per query


@dataclass
class ModeResult:
    mode: str
    fusion: str | None
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    p50_ms: float
    p95_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "fusion": self.fusion,
        }


@dataclass(frozen=True)
class IndexBuild:
    reused: bool  # an earlier run indexed the corpus
    embedded: int = 0  # chunks of a reused index embedded now (it was built for BM25 alone)


@dataclass
class EvalReport:
    dataset: str
    split: str
    model: str
    home: str
    documents: int
    chunks: int
    queries: int
    index_reused: bool
    index_seconds: float
    chunks_embedded: int = 0  # into a reused index that lacked their vectors
    modes: dict[str, ModeResult] = field(default_factory=dict)
    missing_relevant: list[str] = field(default_factory=list)  # judged, but not in the corpus

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "modes"}
        data["index_seconds"] = round(self.index_seconds, 1)
        data["modes"] = {name: result.to_dict() for name, result in self.modes.items()}
        return data


def parse_modes(modes: Sequence[str]) -> list[str]:
    """Validate mode names; "hybrid" uses the configured fusion, "hybrid-rrf" names one."""
    chosen = list(dict.fromkeys(m.strip() for m in modes if m.strip()))
    unknown = [m for m in chosen if m not in KNOWN_MODES]
    if unknown:
        raise UsageError(f"unknown mode {unknown[0]!r}; choose from {', '.join(KNOWN_MODES)}")
    if not chosen:
        raise UsageError("no modes to evaluate")
    return chosen


def _split_mode(name: str) -> tuple[str, str | None]:
    mode, _, fusion = name.partition("-")
    return mode, fusion or None


def document_path(corpus_path: Path, doc_id: str) -> str:
    """The path a corpus record is stored under; the `_id` is everything after the first '#'."""
    return f"{corpus_path}#{doc_id}"


def _record_source(corpus_path: Path, record: CorpusRecord) -> Any:
    from localsearch.ingest.sources import SourceDocument
    from localsearch.ingest.types import ExtractedDocument, Section

    body = f"{record.title}\n{record.text}".encode("utf-8", "surrogatepass")
    return SourceDocument(
        path=document_path(corpus_path, record.id),
        size=len(body),
        mtime_ns=0,
        content_hash=lambda: hashlib.sha256(body).hexdigest(),
        extract=lambda: ExtractedDocument(record.title, "txt", [Section(record.text)]),
    )


def _marker(dataset: BeirDataset, settings: Settings) -> dict[str, Any]:
    from localsearch.catalog import resolve_model
    from localsearch.embed.encoder import model_fingerprint

    corpus = dataset.corpus_path.resolve()
    stat = corpus.stat()
    resolved = resolve_model(settings.model, settings.models_dir)
    return {
        "format": MARKER_FORMAT,
        "corpus": str(corpus),
        "corpus_size": stat.st_size,
        "corpus_mtime_ns": stat.st_mtime_ns,
        "model": settings.model,
        "model_fingerprint": model_fingerprint(resolved.location),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
    }


def _same_build(found: dict[str, Any], wanted: dict[str, Any], corpus: Path) -> bool:
    """Whether a home's marker describes the build `wanted`. A corpus whose time changed but
    whose bytes did not (copied, restored from a backup, checked out again) still matches:
    its hash is read only then, so an unchanged corpus costs a stat, not a read."""
    kept = {k: v for k, v in found.items() if k not in ("complete", "corpus_sha256", "vectors")}
    if kept == wanted:
        return True
    timeless = {k: v for k, v in wanted.items() if k != "corpus_mtime_ns"}
    if {k: v for k, v in kept.items() if k != "corpus_mtime_ns"} != timeless:
        return False
    return found.get("corpus_sha256") == sha256_file(corpus.resolve())


def _see_models(home: Path, models: Path) -> None:
    """Link `home`'s models folder to the user's, so that `model` may name a model pulled or
    adapted there: the index lives in a home of its own, which had none ("unknown model" for
    a model `localsearch models` listed). A models folder of the home's own is left alone."""
    link = home / "models"
    if link.is_symlink():
        link.unlink()
    elif link.exists() or home.resolve() == models.parent.resolve():
        return
    home.mkdir(parents=True, exist_ok=True)
    link.symlink_to(models.absolute(), target_is_directory=True)


def _clear_index(settings: Settings) -> None:
    for path in settings.home.glob("localsearch.db*"):
        path.unlink()
    shutil.rmtree(settings.lexical_dir, ignore_errors=True)
    (settings.home / MARKER_NAME).unlink(missing_ok=True)


def build_index(
    dataset: BeirDataset,
    settings: Settings,
    progress: ProgressCallback = ignore_progress,
    *,
    vectors: bool = True,
) -> IndexBuild:
    """Index the corpus into settings.home unless a matching one is there.
    `vectors=False`: the text alone (BM25), whose chunks a later call with vectors embeds."""
    from localsearch.index import Index

    home = settings.home
    wanted = _marker(dataset, settings)
    found = read_json_object(home / MARKER_NAME)
    same = found is not None and _same_build(found, wanted, dataset.corpus_path)
    # A marker left beside no database (deleted by hand) describes nothing to reuse.
    has_database = settings.database_path.exists()
    if same and found is not None and found.get("complete") and has_database:
        embedded = _embed_missing(settings, progress) if vectors else 0
        # The corpus's new time, and no "vectors": false once they are embedded.
        updated = {k: v for k, v in found.items() if not (vectors and k == "vectors")}
        updated.update(wanted)
        if updated != found:
            with suppress(OSError):  # a read-only home is read as it is; its hash is read again
                write_json_atomically(home / MARKER_NAME, updated)
        return IndexBuild(reused=True, embedded=embedded)
    if found is None and has_database:
        raise UsageError(
            f"{home} holds an index that `localsearch eval` did not build",
            "give `--home` an empty or new folder",
        )
    if found is not None and not same:
        _clear_index(settings)
    _refuse_unfindable_judgements(dataset)  # before an index that can take an hour
    home.mkdir(parents=True, exist_ok=True)
    # Written before indexing so that an interrupted build is resumed, not mistaken for foreign.
    corpus_path = dataset.corpus_path.resolve()
    wanted["corpus_sha256"] = sha256_file(corpus_path)
    write_json_atomically(home / MARKER_NAME, {**wanted, "complete": False})
    with corpus_path.open("rb") as lines:
        total = sum(1 for line in lines if line.strip())
    records: Iterator[CorpusRecord] = dataset.corpus()
    index = Index(settings)
    try:
        index.index_documents(
            str(corpus_path),
            (_record_source(corpus_path, r) for r in records),
            total=total,
            progress=progress,
            embed=vectors,
        )
    finally:
        index.close()
    # "vectors": false is for the eye and for older versions, whose marker lacks it: they
    # rebuild such a home rather than search vectors it does not have.
    text_only = {} if vectors else {"vectors": False}
    write_json_atomically(home / MARKER_NAME, {**wanted, "complete": True, **text_only})
    return IndexBuild(reused=False)


def _embed_missing(settings: Settings, progress: ProgressCallback) -> int:
    """Embed the chunks of a reused index that have no vector (one built for BM25 alone, or
    whose embedding was interrupted); how many. Asked of the index itself, so that a
    read-only home with every vector is only read."""
    from localsearch.embed_backlog import dense_coverage
    from localsearch.index import Index, IndexReport
    from localsearch.store import Store

    store = Store(settings.database_path, create=False)
    try:
        if dense_coverage(store).complete and store.active_space() is not None:
            return 0
    finally:
        store.close()
    index = Index(settings)
    report = IndexReport()
    try:
        with index.writer_lock(purpose="eval"):
            index.embed_pending(None, False, report, progress)
    finally:
        index.close()
    return report.chunks_embedded


def _relevant_ids(dataset: BeirDataset) -> list[str]:
    return sorted(
        {doc for judged in dataset.qrels.values() for doc, score in judged.items() if score > 0}
    )


def _unfindable(dataset: BeirDataset, relevant: Sequence[str]) -> DatasetError:
    return DatasetError(
        f"none of the {len(relevant):,} documents judged relevant in"
        f" qrels/{dataset.split}.tsv is in {dataset.corpus_path.name}"
        f" (such as {relevant[0]!r})"
    )


def _refuse_unfindable_judgements(dataset: BeirDataset) -> None:
    """Qrels that name none of the corpus's documents (another dataset's, or ids written
    differently) would score 0 in every mode; said from the corpus's ids, not after indexing."""
    relevant = _relevant_ids(dataset)
    wanted = set(relevant)
    if not any(record.id in wanted for record in dataset.corpus()):
        raise _unfindable(dataset, relevant)


def _relevant_documents_missing(engine: Any, dataset: BeirDataset) -> list[str]:
    """The documents judged relevant that the corpus lacks, which no mode can find; refuses a
    dataset whose relevant documents are none of the corpus's: every score would be 0."""
    relevant = _relevant_ids(dataset)
    prefix = f"{dataset.corpus_path.resolve()}#"
    missing = [doc for doc in relevant if engine.store.document_id(prefix + doc) is None]
    if len(missing) == len(relevant):
        raise _unfindable(dataset, relevant)
    return missing


def run_queries(
    engine: Any,
    dataset: BeirDataset,
    mode_name: str,
    corpus_path: Path,
    depth: int = DEPTH,
    progress: ProgressCallback = ignore_progress,
) -> tuple[dict[str, list[str]], list[float]]:
    """Rankings of corpus `_id`s per query, and each query's latency in milliseconds."""
    mode, fusion = _split_mode(mode_name)
    prefix = f"{corpus_path}#"
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    total = len(dataset.queries)
    for done, (query_id, text) in enumerate(dataset.queries.items(), start=1):
        started = time.perf_counter()
        results = engine.search(text, k=depth, mode=mode, fusion=fusion, snippets=False)
        latencies.append((time.perf_counter() - started) * 1000)
        rankings[query_id] = [
            hit.path[len(prefix) :] for hit in results.hits if hit.path.startswith(prefix)
        ]
        progress(ProgressEvent(f"search {mode_name}", done, total))
    return rankings, latencies


def evaluate(
    dataset_dir: Path | str,
    *,
    split: str = "test",
    home: Path | str | None = None,
    model: str | None = None,
    modes: Sequence[str] = DEFAULT_MODES,
    depth: int = DEPTH,
    progress: ProgressCallback = ignore_progress,
    models_from: Path | str | None = None,
    **overrides: Any,
) -> EvalReport:
    """Index the dataset's corpus (or reuse the index in `home`), then measure every mode.

    Without `home` the index lives in a temporary folder that is removed afterwards.
    `models_from`: the models folder of the user's data home, whose pulled and adapted models
    `model` may name.
    `overrides` are Settings (fusion, rrf_k, weights, candidates, chunk_tokens...).
    """
    from localsearch.search.engine import SearchEngine

    chosen = parse_modes(modes)
    if depth < 10:
        raise UsageError("-k must be at least 10 for nDCG@10 and MRR@10")
    dataset = load_dataset(dataset_dir, split)
    temporary = home is None
    if home is not None:
        home_path = Path(home)
    else:
        home_path = Path(tempfile.mkdtemp(prefix="localsearch-eval-"))
    try:
        if models_from is not None:
            _see_models(home_path, Path(models_from))
        # Judgements are per corpus id: a copy shown as "also at" would count as a miss.
        overrides.setdefault("collapse_duplicates", False)
        settings = load_settings(home_path, model=model, **overrides)
        if model is not None:  # a folder that is no model fails now, not after the text phase
            from localsearch.catalog import model_reference

            model_reference(model, settings.models_dir)
        started = time.monotonic()
        vectors = any(_split_mode(m)[0] != "bm25" for m in chosen)
        built = build_index(dataset, settings, progress, vectors=vectors)
        index_seconds = time.monotonic() - started
        engine = SearchEngine(settings)
        try:
            missing = _relevant_documents_missing(engine, dataset)
            if vectors:
                engine.warm_up()
            report = EvalReport(
                dataset=dataset.name,
                split=split,
                model=settings.model,
                home="" if temporary else str(home_path),
                documents=engine.store.count("documents"),
                chunks=engine.store.count("chunks"),
                queries=len(dataset.queries),
                index_reused=built.reused,
                index_seconds=index_seconds,
                chunks_embedded=built.embedded,
                missing_relevant=missing,
            )
            corpus_path = dataset.corpus_path.resolve()
            for name in chosen:
                rankings, latencies = run_queries(
                    engine, dataset, name, corpus_path, depth, progress
                )
                scores = evaluate_rankings(dataset.qrels, rankings)
                mode, fusion = _split_mode(name)
                report.modes[name] = ModeResult(
                    mode=mode,
                    fusion=(fusion or settings.fusion) if mode == "hybrid" else None,
                    ndcg_at_10=scores["ndcg@10"],
                    recall_at_100=scores["recall@100"],
                    mrr_at_10=scores["mrr@10"],
                    p50_ms=percentile(latencies, 0.5),
                    p95_ms=percentile(latencies, 0.95),
                )
        finally:
            engine.close()
        return report
    finally:
        if temporary:
            shutil.rmtree(home_path, ignore_errors=True)
