"""The Index: brings folders into the store, embeds what changed, keeps BM25 in step.

Text comes first: documents and chunks are committed in batches, each one SQLite transaction;
the lexical index takes the first at once, so BM25 answers while the rest is still being read,
and the others every few seconds and at the end (lexical/paced_commits.py). Chunks that no
stored vector fits then form the embed backlog (embed_backlog.py), embedded and committed in
batches after the text. Kill the process anywhere and searches see the last committed batch
(BM25 once the next search or run has caught it up from SQLite's change log,
lexical/catch_up.py); the next run picks up the rest, text or vectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from localsearch.config import Settings
from localsearch.embed.encoder import Encoder, format_passage
from localsearch.embed_alongside import EmbeddingAlongside, embedding_alongside
from localsearch.embed_backlog import embed_backlog, embed_hash
from localsearch.errors import (
    LocalSearchError,
    ModelError,
    ModelMismatchError,
    NoIndexError,
    UsageError,
)
from localsearch.index_report import IndexReport
from localsearch.index_roots import checked_roots, known_roots, normalised, register_roots
from localsearch.index_status import IndexStatus, read_status
from localsearch.ingest.chunk import MAX_DOCUMENT_CHARS, limit_and_chunk
from localsearch.ingest.regular_file import os_error_reason
from localsearch.ingest.sources import (
    Expansion,
    SourceDocument,
    containers_of,
    sha256_bytes,
    stored_members,
)
from localsearch.ingest.types import (
    EXTRACTION_VERSION,
    Chunk,
    ExtractedDocument,
    FoundFile,
    SkippedFile,
)
from localsearch.language.model_choice import model_for_new_index
from localsearch.lexical import LexicalIndex
from localsearch.lexical.catch_up import LexicalSync, bring_up_to_date, lexical_intact
from localsearch.lexical.paced_commits import PacedLexicalCommits
from localsearch.lock import WriterLock
from localsearch.progress import CountedOn, ProgressCallback, ProgressEvent, ignore_progress
from localsearch.source_queue import FinishedContainer, SourceQueue
from localsearch.store import DocumentRow, EmbeddingSpace, Store
from localsearch.store.mailbox_ends import mailbox_end, set_mailbox_end
from localsearch.store.paths import display_path
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.ingest.mailbox_end import MailboxEnd
    from localsearch.ingest.read_workers import ChunkedDocument, ReadJob

MB = 1024 * 1024
BATCH_CHUNKS = 256  # chunks per commit: small enough that an interruption loses little
BATCH_DOCUMENTS = 200


# Stored after each document's content hash: a file read by an older extraction is read again.
EXTRACTED_BY = f"+x{EXTRACTION_VERSION}"


@dataclass
class _Pending:
    source: SourceDocument
    content_hash: str
    document: ExtractedDocument
    chunks: list[Chunk]
    existing_id: int | None
    mailbox: bool = False  # then mailbox_end is where its read ended (None: forget it)
    mailbox_end: MailboxEnd | None = None


def _unchanged_on_disk(old: DocumentRow | None, size: int, mtime_ns: int) -> bool:
    """Whether a stored document (or None) is a file's text as this extraction reads it and
    the file's size and time are as stored: then it is not read again."""
    return (
        old is not None
        and old.content_hash.endswith(EXTRACTED_BY)
        and old.size == size
        and old.mtime_ns == mtime_ns
    )


class Index:
    """A home's index. Not thread-safe: one Index per thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        encoder_factory: Callable[[str], Encoder] | None = None,
    ) -> None:
        self.settings = settings
        self._encoder_factory = encoder_factory
        self._encoders: dict[str, Encoder] = {}
        self._store: Store | None = None
        self.lexical = LexicalIndex(settings.lexical_dir)
        self._token_counter: Callable[[str], int] | None = None
        self.lexical_repaired: str | None = None

    # -- shared pieces ------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.database_path)
        return self._store

    def close(self) -> None:
        self.lexical.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def encoder(self, reference: str) -> Encoder:
        if reference not in self._encoders:
            if self._encoder_factory is not None:
                self._encoders[reference] = self._encoder_factory(reference)
            else:
                from localsearch.embed.sentence_transformer import load_encoder

                self._encoders[reference] = load_encoder(
                    reference,
                    self.settings.models_dir,
                    device=self.settings.device,
                    precision=self.settings.precision,
                    batch_size=self.settings.embed_batch_size,
                )
        return self._encoders[reference]

    def writer_lock(self, wait_seconds: float = 0.0, purpose: str = "index") -> WriterLock:
        return WriterLock(self.settings.lock_path, wait_seconds=wait_seconds, purpose=purpose)

    @property
    def token_counter(self) -> Callable[[str], int]:
        if self._token_counter is None:
            from localsearch.ingest.tokens import load_token_counter

            self._token_counter = load_token_counter()
        return self._token_counter

    # -- spaces -------------------------------------------------------------------------------

    def existing_space(self, model: str | None, reembed: bool) -> EmbeddingSpace | None:
        """The space this run's vectors go into if it exists already, checked against the
        model's name and files without loading the model (the text is indexed before it)."""
        active, wanted = self._active_and_wanted(model, reembed)
        if active and not reembed:
            if wanted != active.model:
                raise ModelMismatchError(
                    f"the index was built with {active.model!r}, not {wanted!r}",
                    f"run `localsearch index --reembed --model {wanted}` to switch",
                )
            if self.encoder(active.model).fingerprint != active.fingerprint:
                raise ModelMismatchError(
                    f"the files of model {active.model!r} changed since the index was built",
                    "run `localsearch index --reembed`",
                )
            return active
        fingerprint = self.encoder(wanted).fingerprint
        for space in self.store.spaces():
            # A re-embed that was interrupted left a partial space: carry on filling it.
            if (
                (active is None or space.id != active.id)
                and space.model == wanted
                and space.fingerprint == fingerprint
            ):
                return space
        return None

    def space_for_writing(
        self, model: str | None, reembed: bool, *, activate_first: bool = True
    ) -> tuple[EmbeddingSpace, Encoder]:
        """The space new vectors go into; with reembed, a fresh one, made active at the end.
        A first index's is active at once, unless not `activate_first` (embed_alongside.py)."""
        space = self.existing_space(model, reembed)
        if space is not None:
            encoder = self.encoder(space.model)
            if encoder.dimension != space.dimension:
                raise ModelMismatchError(
                    f"the files of model {space.model!r} changed since the index was built",
                    "run `localsearch index --reembed`",
                )
            return space, encoder
        active, wanted = self._active_and_wanted(model, reembed)
        encoder = self.encoder(wanted)
        with self.store.transaction():
            space = self.store.create_space(
                wanted, encoder.location, encoder.dimension, encoder.fingerprint
            )
            if active is None and activate_first:
                self.store.activate_space(space)
        return space, encoder

    def model_to_embed_with(self, model: str | None, reembed: bool) -> str:
        """The model new vectors are for (see _active_and_wanted)."""
        return self._active_and_wanted(model, reembed)[1]

    def _active_and_wanted(
        self, model: str | None, reembed: bool
    ) -> tuple[EmbeddingSpace | None, str]:
        """The active space, and the model vectors are for: the one asked for, else the
        active space's (unless a re-embed follows a model setting), else the configured one."""
        active = self.store.active_space()
        if model:
            return active, model
        if active is None or (reembed and "model" in self.settings.chosen):
            return active, self.settings.model
        return active, active.model

    def _ignored_model_setting(self) -> str | None:
        """A warning when the model setting names another model than the index keeps."""
        active = self.store.active_space()
        configured = self.settings.model
        if active is None or "model" not in self.settings.chosen or configured == active.model:
            return None
        return (
            f"the model setting names {configured!r}, but this index was built with"
            f" {active.model!r} and keeps it: run `localsearch index --reembed` to switch"
        )

    # -- lexical ------------------------------------------------------------------------------

    def sync_lexical(
        self,
        progress: ProgressCallback = ignore_progress,
        *,
        force: bool = False,
        announce: Callable[[str], None] | None = None,
    ) -> LexicalSync:
        """Bring the BM25 index up to SQLite if it is missing, behind or damaged: from the
        change log where it can, else whole (always with `force`), lexical/catch_up.py. A
        damaged index is noted in `lexical_repaired`; `announce` hears of a rebuild that a new
        version of localsearch needs before it starts."""
        done = bring_up_to_date(self.lexical, self.store, progress, force=force, announce=announce)
        if done is LexicalSync.REPAIRED:
            self.lexical_repaired = "the BM25 index was damaged; rebuilt it from the database"
        return done

    def lexical_intact(self) -> bool:
        """Whether the BM25 files open and hold one entry per stored chunk."""
        return lexical_intact(self.lexical, self.store)

    # -- indexing -----------------------------------------------------------------------------

    def update(
        self,
        paths: Sequence[Path] | None = None,
        *,
        model: str | None = None,
        reembed: bool = False,
        progress: ProgressCallback = ignore_progress,
        wait_seconds: float = 0.0,
    ) -> IndexReport:
        """Index new folders and bring known ones up to date."""
        started = time.monotonic()
        roots = checked_roots(paths or [])
        if self.settings.device not in ("auto", "cpu"):
            from localsearch.embed.sentence_transformer import pick_device

            pick_device(self.settings.device)  # before the text phase, not after it
        with self.writer_lock(wait_seconds):
            report = IndexReport()
            root_rows = register_roots(self.store, roots) if roots else known_roots(self.store)
            if not root_rows:
                raise NoIndexError("no folders are indexed yet", "run `localsearch index PATH`")
            self.sync_lexical(progress)
            if self.lexical_repaired:
                report.warnings.append(self.lexical_repaired)
            unusable_model: ModelError | None = None
            try:
                reusable = self.existing_space(model, reembed)
            except ModelError as exc:
                if model is not None or isinstance(exc, ModelMismatchError):
                    raise
                # The model's folder is gone: the text needs none, so index it, then say so.
                reusable, unusable_model = None, exc
            if model is None and not reembed and (ignored := self._ignored_model_setting()):
                report.warnings.append(ignored)
            files = CountedOn(progress, "files")  # one bar for the run, not one per folder
            with embedding_alongside(self, model, reembed, reusable) as alongside:
                for root_id, root in root_rows:
                    if not root.exists():
                        report.warnings.append(f"{root} is missing; its documents were kept")
                        continue
                    report.merge(
                        self._update_root(root_id, root, reusable, files, alongside.after_commit)
                    )
                    files.next_run()
            alongside.count_into(report)
            if model is None:
                model = self.model_for_first_vectors(report)
            alongside.settle(model or self.settings.model)
            if unusable_model is not None:
                raise ModelError(
                    f"{unusable_model.message}; the files' text is indexed (BM25 finds it), and"
                    " their vectors wait for the model",
                    unusable_model.hint,
                )
            self.embed_pending(model, reembed, report, progress)
            if report.read_again:
                report.notices.append(
                    f"Read {plural(report.read_again, 'unchanged file')} again: this version of"
                    f" localsearch extracts text differently (extraction {EXTRACTION_VERSION})."
                )
            report.seconds = time.monotonic() - started
            return report

    def model_for_first_vectors(self, report: IndexReport) -> str | None:
        """For an index with no vectors yet, the multilingual model where it is mostly Chinese
        or Japanese and no setting names a model (said in the report); else None, the setting."""
        if self.store.active_space() is not None:
            return None
        choice = model_for_new_index(self.settings, self.lexical)
        if choice is None:
            return None
        report.notices.append(choice.reason)
        return choice.model

    def embed_pending(
        self, model: str | None, reembed: bool, report: IndexReport, progress: ProgressCallback
    ) -> None:
        """Embed the backlog the text phase left (and, with reembed, every chunk): the model
        loads only when there is something to embed or no space exists yet."""
        active = self.store.active_space()
        if active and not reembed and not self.store.chunks_missing_vectors(active, 1):
            return
        # Loading torch and the model takes seconds on a first run: say so rather than 0%.
        progress(ProgressEvent("model", 0, None, "loading the embedding model"))
        space, encoder = self.space_for_writing(model, reembed)
        progress(ProgressEvent("model", 1, 1, encoder.name))
        self.fill_space(space, encoder, report, progress)

    def index_documents(
        self,
        root: str,
        sources: Iterable[SourceDocument],
        *,
        total: int | None = None,
        progress: ProgressCallback = ignore_progress,
        remove_missing: bool = True,
        embed: bool = True,
    ) -> IndexReport:
        """Index documents that are not files on disk (a BEIR corpus, say) under a named root.
        `embed=False` leaves every chunk in the embed backlog, for a caller that searches by
        BM25 alone (eval --modes bm25) and may embed later (embed_pending)."""
        started = time.monotonic()
        with self.writer_lock():
            with self.store.transaction():
                root_id = self.store.add_root(root)
            self.sync_lexical(progress)
            reusable = self.existing_space(None, False)
            with (
                self._paced_lexical() as lexical,
                (
                    embedding_alongside(self, None, False, reusable)
                    if embed
                    else EmbeddingAlongside()
                ) as alongside,
            ):
                report = self._ingest(
                    root_id,
                    sources,
                    reusable,
                    progress,
                    lexical,
                    total=total,
                    remove_missing=remove_missing,
                    after_commit=alongside.after_commit,
                )
            alongside.count_into(report)
            if embed:
                alongside.settle(self.settings.model)
                self.embed_pending(None, False, report, progress)
            report.seconds = time.monotonic() - started
            return report

    def _update_root(
        self,
        root_id: int,
        root: Path,
        reusable: EmbeddingSpace | None,
        progress: ProgressCallback,
        after_commit: Callable[[], None] = lambda: None,
    ) -> IndexReport:
        from localsearch.ingest.extract import ExtractionError, extract_file
        from localsearch.ingest.read_workers import ChunkOptions, ReadJob, files_read
        from localsearch.ingest.walk import walk_roots

        found: list[FoundFile] = []
        skipped: list[SkippedFile] = []
        # The home may lie inside an indexed folder: its database and models are not documents.
        for item in walk_roots([root], self.settings.max_file_bytes, [self.settings.home]):
            if isinstance(item, SkippedFile):
                skipped.append(item)
            else:
                found.append(item)
            if (len(found) + len(skipped)) % 500 == 0:
                progress(ProgressEvent("scan", len(found), None, str(root)))
        progress(ProgressEvent("scan", len(found), len(found), str(root)))

        def extract(path: Path) -> ExtractedDocument:
            try:
                return extract_file(path)
            except ExtractionError:
                raise
            except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the run
                raise ExtractionError(f"extraction failed: {type(exc).__name__}") from exc

        stored = self.store.documents_under(root_id)

        def job_for(item: FoundFile) -> ReadJob | None:
            old = stored.get(display_path(str(item.path)))
            if _unchanged_on_disk(old, item.size, item.mtime_ns):
                return None
            return ReadJob(item.path, old.content_hash if old else None, EXTRACTED_BY)

        with (
            files_read(
                found,
                job_for,
                extract,
                self.settings.max_file_bytes,
                self._limit_and_chunk,
                self.settings.extract_workers,
                ChunkOptions(self.settings.chunk_tokens, self.settings.chunk_overlap),
            ) as (sources, chunked),
            self._paced_lexical() as lexical,
        ):
            report = self._ingest(
                root_id,
                sources,
                reusable,
                progress,
                lexical,
                total=len(found),
                skipped=skipped,
                extraction_error=ExtractionError,
                stored=stored,
                chunked=chunked,
                after_commit=after_commit,
            )
        with self.store.transaction():
            self.store.mark_root_indexed(root_id)
        return report

    def _ingest(
        self,
        root_id: int,
        sources: Iterable[SourceDocument],
        reusable: EmbeddingSpace | None,
        progress: ProgressCallback,
        lexical: PacedLexicalCommits,
        *,
        total: int | None,
        skipped: Sequence[SkippedFile] = (),
        extraction_error: type[Exception] = LocalSearchError,
        remove_missing: bool = True,
        stored: dict[str, DocumentRow] | None = None,
        chunked: ChunkedDocument | None = None,
        after_commit: Callable[[], None] = lambda: None,
    ) -> IndexReport:
        """Commit `sources`' text batch by batch, calling `after_commit` after each."""
        store = self.store
        report = IndexReport()
        if stored is None:
            stored = store.documents_under(root_id)
        chunked = chunked or self._limit_and_chunk
        seen: set[str] = set()
        pending: list[_Pending] = []
        touched: list[tuple[int, int, int]] = []
        new_skips: list[tuple[str, str]] = [(str(s.path), s.reason) for s in skipped]
        report.skipped.extend((display_path(path), reason) for path, reason in new_skips)
        done = 0

        def flush() -> None:
            if pending or touched or new_skips:
                self._write_batch(root_id, pending, touched, new_skips, reusable, report, lexical)
                after_commit()
            pending.clear()
            touched.clear()
            new_skips.clear()

        def pend(
            source: SourceDocument,
            content_hash: str,
            raw_hash: str,
            document: ExtractedDocument,
            old: DocumentRow | None,
            expansion: Expansion | None = None,
        ) -> None:
            chars, chunks = chunked(document)
            if chars > MAX_DOCUMENT_CHARS:
                report.warnings.append(
                    f"{source.path}: only its first {MAX_DOCUMENT_CHARS:,} characters are indexed"
                )
            if old is not None and old.content_hash == raw_hash:  # read by an older extraction
                report.read_again += 1
            item = _Pending(source, content_hash, document, chunks, old.id if old else None)
            if expansion is not None and expansion.end is not None:
                item.mailbox, item.mailbox_end = True, expansion.end()
            pending.append(item)
            if (
                sum(len(p.chunks) for p in pending) >= BATCH_CHUNKS
                or len(pending) >= BATCH_DOCUMENTS
            ):
                flush()

        def skip(path: str, key: str, exc: BaseException) -> None:
            reason = (
                os_error_reason(exc) if isinstance(exc, OSError) else str(exc) or type(exc).__name__
            )
            new_skips.append((path, reason))
            report.skipped.append((key, reason))
            seen.discard(key)

        # A container's members come before it (source_queue.py); those of an unchanged one
        # stay as stored.
        members_of = stored_members(stored)
        unchanged_containers: set[str] = set()  # and plain files: their members were not read
        kept_in_part: list[Callable[[str], bool]] = []  # grown mailboxes' messages not read
        with SourceQueue(sources, (extraction_error, OSError)) as queue:
            for item in queue:
                if isinstance(item, FinishedContainer):
                    source, expansion = item.source, item.expansion
                    key = display_path(source.path)
                    if expansion.count is None and queue.counting:  # a mailbox's total, known
                        progress(ProgressEvent("files", done, total, source.path))
                    new_skips.extend(expansion.skipped)
                    report.skipped.extend((display_path(p), r) for p, r in expansion.skipped)
                    try:
                        if item.error is not None:
                            raise item.error
                        document = expansion.document()
                    except (extraction_error, OSError) as exc:
                        skip(source.path, key, exc)
                        seen.update(members_of.get(key, ()))  # the part not read stays as it was
                        continue
                    pend(source, item.content_hash, item.raw_hash, document, item.stored, expansion)
                    continue
                source = item
                key = display_path(source.path)  # how the store names it
                seen.add(key)
                done += 1
                if total is not None:
                    total = max(total, done)  # a mailbox's messages are counted as they come
                progress(
                    ProgressEvent("files", done, total if queue.counting else None, source.path)
                )
                if (reading := queue.reading()) is not None:
                    path, read, size = reading  # a mailbox's messages: its megabytes read
                    progress(ProgressEvent("mailbox", read // MB, max(1, size // MB), path))
                old = stored.get(key)
                if _unchanged_on_disk(old, source.size, source.mtime_ns):
                    report.unchanged += 1
                    seen.update(members_of.get(key, ()))
                    unchanged_containers.add(key)
                    continue
                try:
                    grown = self._grown_mailbox(source, old)
                    if grown is not None:
                        expansion, raw_hash = grown
                        assert expansion.kept is not None
                        seen.update(p for p in members_of.get(key, ()) if expansion.kept(p))
                        kept_in_part.append(expansion.kept)
                        content_hash = raw_hash + EXTRACTED_BY
                        queue.open(
                            FinishedContainer(source, expansion, content_hash, raw_hash, old)
                        )
                        continue
                    raw_hash = source.content_hash()
                    content_hash = raw_hash + EXTRACTED_BY
                    if old and old.content_hash == content_hash:
                        touched.append((old.id, source.size, source.mtime_ns))
                        report.unchanged += 1
                        seen.update(members_of.get(key, ()))
                        unchanged_containers.add(key)
                        continue
                    if source.expand is not None:
                        if old is not None and source.resume is not None:
                            # A whole read renumbers what it reads: the end no longer holds.
                            with store.transaction():
                                set_mailbox_end(store, old.id, None)
                        expansion = source.expand()
                        if total is not None and expansion.count is not None:
                            total += expansion.count
                        queue.open(
                            FinishedContainer(source, expansion, content_hash, raw_hash, old)
                        )
                        continue
                    document = source.extract()
                except (extraction_error, OSError) as exc:
                    skip(source.path, key, exc)
                    continue
                pend(source, content_hash, raw_hash, document, old)
            flush()
        if remove_missing:
            # Skip records of files this run did not skip again (fixed, or gone) are stale.
            still_skipped = {path for path, _ in report.skipped}
            stale = {
                path
                for path in store.skipped_under(root_id) - still_skipped
                if unchanged_containers.isdisjoint(containers_of(path))
                and not any(kept(path) for kept in kept_in_part)
            }
            if stale:
                with store.transaction():
                    for path in stale:
                        store.clear_skipped(path)
            gone = [row.id for path, row in stored.items() if path not in seen]
            if gone:
                with store.transaction():
                    store.delete_documents(gone, store.spaces())
                    version, log_seq = store.bump_data_version(), store.change_log_seq()
                lexical.add(gone, [], version, log_seq)
                report.removed += len(gone)
        return report

    def _paced_lexical(self) -> PacedLexicalCommits:
        """BM25's commits for one text phase, the last when its `with` ends, by Ctrl-C too:
        otherwise BM25 would stay behind until the next search or run caught it up."""
        return PacedLexicalCommits(self.lexical, self.store.chunks_by_id, self.sync_lexical)

    def _grown_mailbox(
        self, source: SourceDocument, old: DocumentRow | None
    ) -> tuple[Expansion, str] | None:
        """(the mailbox opened where its last read ended, a raw hash for its record) when it
        grew and the bytes before that end are as they were; None to read it all."""
        if (
            source.resume is None
            or old is None
            or source.size <= old.size
            or not old.content_hash.endswith(EXTRACTED_BY)  # its messages need reading again
        ):
            return None
        end = mailbox_end(self.store, old.id)
        expansion = source.resume(end) if end is not None else None
        if expansion is None:
            return None
        # Not a hash of the file, which was not read in full: a later change that is no growth
        # never matches it, and is read in full.
        raw_hash = sha256_bytes(f"{old.content_hash} grown to {source.size}".encode())
        return expansion, raw_hash

    def _limit_and_chunk(self, document: ExtractedDocument) -> tuple[int, list[Chunk]]:
        """(the document's characters, its chunks), cut first to MAX_DOCUMENT_CHARS."""
        settings = self.settings
        return limit_and_chunk(
            document, self.token_counter, settings.chunk_tokens, settings.chunk_overlap
        )

    def _write_batch(
        self,
        root_id: int,
        pending: Sequence[_Pending],
        touched: Sequence[tuple[int, int, int]],
        new_skips: Sequence[tuple[str, str]],
        reusable: EmbeddingSpace | None,
        report: IndexReport,
        lexical: PacedLexicalCommits,
    ) -> None:
        """Commit a batch of text and hand its changes to `lexical`. Passages whose exact text
        has a vector in `reusable` keep it (a changed file's unchanged sections); the rest join
        the embed backlog. The other models' spaces (rollback targets) keep theirs too."""
        store = self.store
        hashes = [
            [embed_hash(format_passage(p.document.title, c.heading, c.text)) for c in p.chunks]
            for p in pending
        ]
        changed_doc_ids: list[int] = []
        added_chunk_ids: list[int] = []
        spaces = store.spaces()
        every_hash = sum(hashes, [])
        known = [(space, store.vectors_by_embed_hash(space, every_hash)) for space in spaces]
        with store.transaction():
            for item, doc_hashes in zip(pending, hashes, strict=True):
                doc_id = store.upsert_document(
                    root_id=root_id,
                    path=item.source.path,
                    size=item.source.size,
                    mtime_ns=item.source.mtime_ns,
                    content_hash=item.content_hash,
                    doc_type=item.document.doc_type,
                    title=item.document.title,
                )
                if item.existing_id is not None:
                    store.delete_chunks_of(doc_id, spaces)
                    report.updated += 1
                else:
                    report.added += 1
                chunk_ids = store.insert_chunks(doc_id, item.chunks, doc_hashes)
                for space, vectors in known:
                    kept = {
                        c: vectors[h]
                        for c, h in zip(chunk_ids, doc_hashes, strict=True)
                        if h in vectors
                    }
                    if kept:
                        store.insert_vectors(space, list(kept), np.stack(list(kept.values())))
                        if reusable is not None and space.id == reusable.id:
                            report.chunks_reused += len(kept)
                if item.mailbox:
                    set_mailbox_end(store, doc_id, item.mailbox_end)
                store.clear_skipped(item.source.path)
                changed_doc_ids.append(doc_id)
                added_chunk_ids.extend(chunk_ids)
                report.chunks += len(chunk_ids)
            for doc_id, size, mtime_ns in touched:
                store.touch_document(doc_id, size, mtime_ns)
            for path, reason in new_skips:
                store.record_skipped(root_id, path, reason)
                old_id = store.document_id(path)
                if old_id is not None:
                    store.delete_documents([old_id], spaces)
                    changed_doc_ids.append(old_id)
            version = store.bump_data_version() if changed_doc_ids else store.data_version()
            log_seq = store.change_log_seq()  # with the version: BM25 records both
        if changed_doc_ids:
            lexical.add(changed_doc_ids, added_chunk_ids, version, log_seq)

    def fill_space(
        self,
        space: EmbeddingSpace,
        encoder: Encoder,
        report: IndexReport,
        progress: ProgressCallback = ignore_progress,
        *,
        activate: bool = True,
    ) -> None:
        """Embed every chunk the space lacks (the backlog, or all of them in a re-embed), then
        make it the active space.

        Each batch commits on its own, so an interrupted run resumes where it stopped while
        the previous space keeps serving searches.
        """
        store = self.store
        active = store.active_space()
        filling_active = active is not None and active.id == space.id
        done = embed_backlog(
            store, space, encoder, progress, stage="embed" if filling_active else "reembed"
        )
        report.chunks_embedded += done.embedded
        report.chunks_reused += done.reused
        active = store.active_space()
        if activate and active is not None and active.model != space.model:
            # Another model (`index --reembed --model`): a switch like `models use`, which
            # `models rollback` can undo.
            from localsearch.adapt.models import activate_model_space, history_switched_to

            activate_model_space(store, space, history_switched_to(store, space.model))
        elif activate and (active is None or active.id != space.id):
            with store.transaction():
                store.activate_space(space)
                if active is not None:  # the same model's outdated vectors
                    store.drop_space(active)

    # -- roots and status ---------------------------------------------------------------------

    def remove_root(self, path: Path, wait_seconds: float = 0.0) -> int:
        target = str(normalised(path))
        with self.writer_lock(wait_seconds, purpose="roots --remove"):
            match = [rid for rid, p, _ in self.store.roots() if p == target]
            if not match:
                raise UsageError(f"not an indexed folder: {target}")
            with self.store.transaction():
                removed = self.store.remove_root(match[0], self.store.spaces())
                version = self.store.bump_data_version()
            self.sync_lexical()
            assert self.lexical.synced_version() == version
            return removed

    def status(self) -> IndexStatus:
        return read_status(self)
