"""BM25 over chunk text, title, heading and path: English stemmed, Chinese and Japanese segmented.

A chunk with CJK characters also fills the `*_cjk` fields with its words as segmented by
localsearch/language (recorded per chunk in `language`), indexed by whitespace; a query with
CJK characters is segmented the same way and searches those fields too. A query without any
searches the stemmed fields alone, so English ranking is what it was.

The index records which SQLite `data_version` it reflects in state.json, written only after a
tantivy commit, with the position in the store's change log read with that version. A crash
between the two commits (or while several SQLite batches wait for one tantivy commit,
paced_commits.py) leaves it behind: it then catches up on the chunks logged since, or is
rebuilt whole from SQLite where the log cannot say (lexical/catch_up.py); a slow repair, never
a wrong answer. A rebuild writes a fresh index beside the old one and swaps it in, so a
rebuild that fails (a full disk) leaves the last good index searchable. Every tantivy failure
leaves as a LexicalIndexError: damaged files, a full or read-only disk.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import tantivy

from localsearch.errors import LexicalDiskFullError, LexicalIndexError
from localsearch.jsonfile import read_json_object, write_json_atomically
from localsearch.language import (
    ENGLISH,
    LANGUAGES,
    analysed_text,
    analysis_signature,
    cjk_terms,
    detect_language,
)
from localsearch.lexical.file_names import (
    NameTerms,
    file_name_terms,
    names_alone,
    query_name_terms,
)

# 3: the numbers and words of the file's own name, fields of their own (lexical/file_names.py).
SCHEMA_VERSION = 3
SEARCH_FIELDS = ["title", "heading", "body", "path"]
CJK_FIELDS = ["title_cjk", "heading_cjk", "body_cjk"]
# Title below body: a title repeats in every chunk of its document and, being short, scores
# high on one shared word. Measured on SciFact (hybrid nDCG@10, train/test): 1.0 0.719/0.711,
# 0.4 0.727/0.724; the known-answer queries on real documents rank the same.
FIELD_BOOSTS = {"title": 0.4, "heading": 1.0, "body": 1.0, "path": 0.5}
# A query's number found in a file's name, against a word in a chunk's body at 1.0. Chosen on
# twelve lookups by number in the docs corpus ("PEP 8", "go proposal 24543"; first in hybrid:
# 4 at 0, 9 at 2, 11 at 3 and at 5); the known-answer queries and SciFact's train split rank the
# same at 3 as without it (README "ranking levers").
NAME_NUMBER_BOOST = 3.0
CJK_FIELD_BOOSTS = {"title_cjk": 0.4, "heading_cjk": 1.0, "body_cjk": 1.0}
WRITER_HEAP_BYTES = 64_000_000

_LOCK_FILES = frozenset({".tantivy-meta.lock", ".tantivy-writer.lock"})

_PHRASE = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"\w+", re.UNICODE)


class LexicalChunk(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def document_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def path(self) -> str: ...


def _plain_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def build_query_text(query: str, words_of: Callable[[str], list[str]] = _plain_words) -> str:
    """A user query as plain terms and quoted phrases: no field syntax, operators or ranges.

    Tantivy's parser treats `a:b`, `AND`, brackets and `^` as syntax; users type them as words.
    `words_of` splits text into words (a segmenter for CJK queries).
    """
    parts = []
    for phrase in _PHRASE.findall(query):
        words = words_of(phrase)
        if len(words) > 1:
            parts.append('"' + " ".join(words) + '"')
    rest = _PHRASE.sub(" ", query)
    parts.extend(words_of(rest))
    phrase_words = {w for p in parts if p.startswith('"') for w in p.strip('"').split()}
    # Words of a phrase also count on their own, so a phrase narrows ranking without excluding.
    parts.extend(sorted(phrase_words - set(parts)))
    return " ".join(parts)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("chunk_id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("doc_id", indexed=True)
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("heading", tokenizer_name="en_stem")
    builder.add_text_field("body", tokenizer_name="en_stem")
    builder.add_text_field("path", tokenizer_name="default")
    builder.add_text_field("name_numbers", tokenizer_name="default")
    builder.add_text_field("name_words", tokenizer_name="default")
    for name in CJK_FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace")
    builder.add_text_field("language", tokenizer_name="raw", stored=True)
    return builder.build()


def _in_file_names(typed: NameTerms, schema: tantivy.Schema) -> tantivy.Query:
    """Files whose names hold a number of the query: a long one alone, a short one with
    another word of the query."""

    def any_of(field: str, terms: Iterable[str]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, field, t)) for t in terms]
        )

    a_word = any_of("name_words", typed.words) if typed.words else None
    clauses = []
    for number in typed.numbers:
        named = any_of("name_numbers", number)
        if not names_alone(number) and a_word is not None:
            named = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, named), (tantivy.Occur.Must, a_word)]
            )
        clauses.append((tantivy.Occur.Should, named))
    return tantivy.Query.boost_query(tantivy.Query.boolean_query(clauses), NAME_NUMBER_BOOST)


def _nfkc(text: str) -> str:
    """Full-width letters and digits ("ＧｉｔＨｕｂ", an IME's), ligatures and the like in
    their usual form, as the CJK fields have them."""
    return unicodedata.normalize("NFKC", text)


_PATH_SEPARATORS = re.compile(r"[\\/._\-]+")


# The same for every chunk of a file, asked for one after another.
@functools.lru_cache(maxsize=256)
def _path_words(path: str) -> str:
    return _PATH_SEPARATORS.sub(" ", path)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return "No space left on device" in str(exc) or "StorageFull" in str(exc)


def _failure(exc: BaseException, action: str) -> LexicalIndexError:
    """A tantivy or file error as the error the engine handles: full disk, or damage."""
    if _is_disk_full(exc):
        return LexicalDiskFullError(
            "the disk is full; the BM25 index keeps its last good state",
            "free some space; the next search or `localsearch index` brings it up to date",
        )
    first_line = (str(exc) or type(exc).__name__).splitlines()[0][:200]
    return LexicalIndexError(
        f"the BM25 index could not be {action}: {first_line}",
        "run `localsearch index` to rebuild it from the database",
    )


def _is_tantivy_panic(exc: BaseException) -> bool:
    # pyo3 turns a Rust panic (a truncated or scrambled segment) into a BaseException subclass.
    return type(exc).__name__ == "PanicException"


def _is_failure(exc: BaseException) -> bool:
    return isinstance(exc, Exception) or _is_tantivy_panic(exc)


class LexicalIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._index: tantivy.Index | None = None
        self._readonly_view: tempfile.TemporaryDirectory[str] | None = None
        self._state_stamp: tuple[int, int, int, int] | None = None
        self._state_read: dict[str, Any] | None = None

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    def synced_version(self) -> int | None:
        state = self._current_state()
        return None if state is None else int(state.get("version", -1))

    def synced_log_seq(self) -> int | None:
        """The change log position read with the version the index holds: everything logged
        after it may differ. None when it was not recorded (an older state.json) or the
        index must be rebuilt anyway."""
        state = self._current_state()
        seq = None if state is None else state.get("log_seq")
        return seq if isinstance(seq, int) else None

    def made_by_another_version(self) -> bool:
        """Whether another version of localsearch built these files (another BM25 schema or
        analyser): then they are not damaged but wait for a rebuild."""
        state = self._state()
        return state is not None and self._current_state() is None

    def made_by_a_newer_version(self) -> bool:
        """Whether a newer version of localsearch built these files (a later BM25 schema):
        an older process, left running across an upgrade, must not rebuild them in its own
        schema, or it and the newer one would rebuild them in turn after every change."""
        state = self._state()
        schema = None if state is None else state.get("schema")
        return isinstance(schema, int) and schema > SCHEMA_VERSION

    def _current_state(self) -> dict[str, Any] | None:
        """state.json's contents if this version of localsearch wrote the index."""
        state = self._state()
        if state is None or state.get("schema") != SCHEMA_VERSION:
            return None
        if state.get("analysis") != analysis_signature():
            return None  # another analyser built it: rebuild rather than mismatch words
        return state

    def _state(self) -> dict[str, Any] | None:
        """state.json's contents, read again only when the file is another (a search asks
        each time, and a stat costs a fraction of a read and parse)."""
        try:
            found = os.stat(self.state_path)
        except OSError:
            return None
        stamp = (found.st_ino, found.st_mtime_ns, found.st_ctime_ns, found.st_size)
        if stamp != self._state_stamp:
            self._state_read = read_json_object(self.state_path)
            self._state_stamp = stamp
        return self._state_read

    def _write_state(
        self, version: int, log_seq: int | None, directory: Path | None = None
    ) -> None:
        state: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "version": version,
            "analysis": analysis_signature(),
        }
        if log_seq is not None:
            state["log_seq"] = log_seq
        write_json_atomically((directory or self.directory) / "state.json", state)

    def mark_synced(self, version: int, log_seq: int | None) -> None:
        """Record that the committed index holds the data version `version`, the change log
        read up to `log_seq` with it (after a catch-up, or while in step with SQLite)."""
        try:
            self._write_state(version, log_seq)
        except OSError as exc:
            raise _failure(exc, "written") from None

    def _open(self) -> tantivy.Index:
        if self._index is None:
            if os.access(self.directory, os.W_OK):
                self._index = tantivy.Index(_schema(), path=str(self.directory), reuse=True)
            elif self.directory.is_dir():
                self._index = self._open_read_only()
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(_schema(), path=str(self.directory), reuse=True)
        return self._index

    def _open_read_only(self) -> tantivy.Index:
        """Tantivy takes lock files even to read: read a read-only index through a folder of
        links to its files, where the lock files can be made."""
        # tantivy's reader thread may still make a lock file in it while it is removed: a
        # folder of links left in the temporary folder is no reason to fail a search.
        self._readonly_view = tempfile.TemporaryDirectory(
            prefix="localsearch-bm25-", ignore_cleanup_errors=True
        )
        view = Path(self._readonly_view.name)
        for entry in self.directory.iterdir():
            if entry.name not in _LOCK_FILES:
                (view / entry.name).symlink_to(entry.resolve())
        return tantivy.Index.open(str(view))

    def close(self) -> None:
        self._index = None
        if self._readonly_view is not None:
            self._readonly_view.cleanup()
            self._readonly_view = None

    def exists(self) -> bool:
        return self.synced_version() is not None

    def document_count(self) -> int:
        """How many chunks the index holds; raises LexicalIndexError if it cannot be read."""
        try:
            index = self._open()
            index.reload()
            return int(index.searcher().num_docs)
        except BaseException as exc:
            if _is_failure(exc):
                self.close()
                raise _failure(exc, "read") from None
            raise

    @staticmethod
    def _document(chunk: LexicalChunk) -> tantivy.Document:
        name = file_name_terms(chunk.path)
        language = detect_language(chunk.text) if chunk.text else ENGLISH
        if language == ENGLISH:
            language = detect_language(f"{chunk.title} {chunk.heading}")
        document = tantivy.Document(
            chunk_id=chunk.id,
            doc_id=chunk.document_id,
            title=_nfkc(chunk.title),
            heading=_nfkc(chunk.heading),
            body=_nfkc(chunk.text),
            path=_path_words(chunk.path),
            name_numbers=" ".join(" ".join(n) for n in name.numbers),
            name_words=" ".join(name.words),
            language=language,
        )
        if language != ENGLISH:
            document.add_text("title_cjk", analysed_text(chunk.title, language))
            document.add_text("heading_cjk", analysed_text(chunk.heading, language))
            document.add_text("body_cjk", analysed_text(chunk.text, language))
        return document

    def rebuild(
        self,
        chunks: Iterable[LexicalChunk],
        version: int,
        on_progress: Callable[[int], None] | None = None,
        log_seq: int | None = None,
    ) -> int:
        """Write a fresh index from all chunks beside the current one, then swap it in;
        `chunks` are those of data version `version`, read with change log position `log_seq`.

        Returns how many chunks were indexed. If anything fails on the way, the new index is
        removed and the current one, good or not, stays where it was.
        """
        self.close()
        fresh = self.directory.with_name(self.directory.name + ".new")
        retired = self.directory.with_name(self.directory.name + ".old")
        for leftover in (fresh, retired):
            shutil.rmtree(leftover, ignore_errors=True)
        count = 0
        try:
            fresh.mkdir(parents=True)
            index = tantivy.Index(_schema(), path=str(fresh), reuse=False)
            writer = index.writer(WRITER_HEAP_BYTES, 1)
            for chunk in chunks:
                writer.add_document(self._document(chunk))
                count += 1
                if on_progress and count % 1000 == 0:
                    on_progress(1000)
            writer.commit()
            writer.wait_merging_threads()
            del writer, index
            self._write_state(version, log_seq, fresh)
            if self.directory.exists():
                os.replace(self.directory, retired)
            os.replace(fresh, self.directory)
        except BaseException as exc:
            shutil.rmtree(fresh, ignore_errors=True)
            if _is_failure(exc):
                raise _failure(exc, "written") from None
            raise
        shutil.rmtree(retired, ignore_errors=True)
        if on_progress:
            on_progress(count % 1000)
        return count

    def apply(
        self,
        removed_doc_ids: Sequence[int],
        added: Iterable[LexicalChunk],
        version: int,
        log_seq: int | None = None,
    ) -> None:
        """Replace the chunks of changed documents; `removed_doc_ids` covers changed ones too.
        The index then holds data version `version`, change log position `log_seq` (None: not
        known, so falling behind again means a rebuild)."""
        self._replace(
            "doc_id", removed_doc_ids, added, then=lambda: self._write_state(version, log_seq)
        )

    def replace_chunks(
        self,
        chunk_ids: Sequence[int],
        current: Iterable[LexicalChunk],
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Delete every chunk of `chunk_ids` and add `current`, those of them that exist now,
        in one commit; state.json is the caller's to write (mark_synced), once it has checked
        the result. A delete reaches only what was added before it, so a chunk id that is
        deleted and added again ends with its new row."""
        self._replace("chunk_id", chunk_ids, current, on_progress)

    def _replace(
        self,
        field: str,
        removed: Sequence[int],
        added: Iterable[LexicalChunk],
        on_progress: Callable[[int], None] | None = None,
        then: Callable[[], None] = lambda: None,
    ) -> None:
        """Delete the entries whose `field` is one of `removed`, add `added`, commit, then
        `then` (a failure there too leaves as a LexicalIndexError)."""
        count = 0
        try:
            index = self._open()
            writer = index.writer(WRITER_HEAP_BYTES, 1)
            for value in removed:
                writer.delete_documents_by_term(field, value)
            for chunk in added:
                writer.add_document(self._document(chunk))
                count += 1
                if on_progress and count % 1000 == 0:
                    on_progress(1000)
            writer.commit()
            writer.wait_merging_threads()
            del writer
            then()
        except BaseException as exc:
            if _is_failure(exc):
                self.close()
                raise _failure(exc, "written") from None
            raise
        if on_progress:
            on_progress(count % 1000)

    def language_counts(self) -> dict[str, int]:
        """How many chunks each analyser handled: {"en": …, "zh": …, "ja": …, "cjk": …}."""
        if not self.exists():
            return {}
        index = self._open()
        index.reload()
        searcher = index.searcher()
        schema = _schema()
        counts: dict[str, int] = {}
        for language in LANGUAGES:
            query = tantivy.Query.term_query(schema, "language", language)
            found = searcher.search(query, 1, count=True)
            counts[language] = int(found.count)  # type: ignore[attr-defined]
        return {language: n for language, n in counts.items() if n}

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk_id, bm25 score) best first; an empty or all-punctuation query finds nothing."""
        language = detect_language(query)
        if language == ENGLISH:
            text = build_query_text(_nfkc(query))
        else:
            text = build_query_text(query, lambda part: cjk_terms(part, language))
        # An English query searches the CJK fields too: a Latin word written into CJK text
        # ("GitHubで") is a word of those fields alone, one token with its kana for en_stem.
        fields, boosts = SEARCH_FIELDS + CJK_FIELDS, FIELD_BOOSTS | CJK_FIELD_BOOSTS
        return self.search_query_text(text, limit, fields, boosts, typed=query)

    def search_query_text(
        self,
        text: str,
        limit: int,
        fields: list[str] = SEARCH_FIELDS,
        boosts: dict[str, float] = FIELD_BOOSTS,
        typed: str = "",
    ) -> list[tuple[int, float]]:
        """Like `search`, for text already in query syntax (terms, phrases, `^` boosts);
        the numbers of `typed`, the query as the user typed it, are also looked up in file
        names (lexical/file_names.py).

        Raises LexicalIndexError when the index files cannot be read."""
        if not text or not self.directory.exists():
            return []
        try:
            index = self._open()
            index.reload()
            parsed, _errors = index.parse_query_lenient(
                text, default_field_names=list(fields), field_boosts=dict(boosts)
            )
            named = query_name_terms(typed) if typed else None
            if named is not None and named.numbers:
                parsed = tantivy.Query.boolean_query(
                    [
                        (tantivy.Occur.Should, parsed),
                        (tantivy.Occur.Should, _in_file_names(named, index.schema)),
                    ]
                )
            searcher = index.searcher()
            # tantivy allocates room for `limit` hits up front: a huge -k would abort the process.
            limit = min(limit, max(1, searcher.num_docs))
            hits = searcher.search(parsed, limit, count=False).hits
            if not hits:
                return []
            scores, addresses = zip(*hits, strict=True)
            # One call reads every hit's chunk id from the fast field; a stored-document fetch
            # per hit cost ~0.8 ms for 200 hits, and each fetch handed the GIL back and forth
            # with the query's encoding on the other thread.
            read_column = getattr(searcher, "fast_field_values", None)  # tantivy-py 0.26 on
            chunk_ids = read_column("chunk_id", list(addresses)) if read_column else [None]
            if None in chunk_ids:  # an older tantivy-py, or a segment without the column
                chunk_ids = [searcher.doc(address)["chunk_id"][0] for address in addresses]
            return list(zip(cast(list[int], chunk_ids), scores, strict=True))
        except BaseException as exc:
            if _is_failure(exc):
                self.close()
                raise _failure(exc, "read") from None
            raise
