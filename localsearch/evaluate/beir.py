"""Reading a BEIR-format dataset folder: corpus.jsonl, queries.jsonl and qrels/<split>.tsv.

Malformed input raises DatasetError naming the file and line, so a user with a hand-made
dataset knows exactly what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localsearch.config import expand_user
from localsearch.errors import DatasetError


@dataclass(frozen=True)
class CorpusRecord:
    id: str
    title: str
    text: str


@dataclass
class BeirDataset:
    """A dataset folder with one split's judged queries; the corpus is read on demand."""

    root: Path
    split: str
    queries: dict[str, str]  # only the queries that have judgements in this split
    qrels: dict[str, dict[str, int]]  # query id -> {document id: relevance}

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def corpus_path(self) -> Path:
        return self.root / "corpus.jsonl"

    def corpus(self) -> Iterator[CorpusRecord]:
        return read_corpus(self.corpus_path)


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8-sig")  # a byte-order mark, as Windows tools write
    except FileNotFoundError:
        raise DatasetError(
            f"{path} is missing", "a BEIR folder has corpus.jsonl, queries.jsonl and qrels/"
        ) from None
    with handle:
        line_number = 0
        try:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{line_number}: invalid JSON ({exc.msg})") from None
                except RecursionError:
                    raise DatasetError(
                        f"{path}:{line_number}: invalid JSON (nested too deeply)"
                    ) from None
                if not isinstance(record, dict):
                    raise DatasetError(f"{path}:{line_number}: expected a JSON object")
                yield line_number, record
        except UnicodeDecodeError:
            raise DatasetError(f"{path}:{line_number + 1}: not valid UTF-8") from None


def _field(record: dict[str, Any], name: str, path: Path, line: int, required: bool) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise DatasetError(f"{path}:{line}: missing {name!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DatasetError(f"{path}:{line}: {name!r} must be a string")
    return str(value)


def read_corpus(path: Path) -> Iterator[CorpusRecord]:
    """Corpus records in file order; `_id` and `text` are required, `title` may be absent."""
    seen: set[str] = set()
    for line, record in _json_lines(path):
        doc_id = _field(record, "_id", path, line, required=True)
        if doc_id in seen:
            raise DatasetError(f"{path}:{line}: duplicate _id {doc_id!r}")
        seen.add(doc_id)
        yield CorpusRecord(
            id=doc_id,
            title=_field(record, "title", path, line, required=False),
            text=_field(record, "text", path, line, required=True),
        )


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, record in _json_lines(path):
        query_id = _field(record, "_id", path, line, required=True)
        if query_id in queries:
            raise DatasetError(f"{path}:{line}: duplicate _id {query_id!r}")
        queries[query_id] = _field(record, "text", path, line, required=True)
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """`query-id<TAB>corpus-id<TAB>score` rows after an optional header."""
    if path.is_dir():
        raise DatasetError(f"{path} is a folder, not a file")
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.tsv"))
        hint = f"splits here: {', '.join(available)}" if available else "expected qrels/test.tsv"
        raise DatasetError(f"{path} is missing", hint)
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not valid UTF-8") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if number == 1 and parts[0].strip().lower() in {"query-id", "query_id", "qid"}:
            continue
        if len(parts) != 3:
            raise DatasetError(
                f"{path}:{number}: expected 3 tab-separated columns"
                f" (query-id, corpus-id, score), found {len(parts)}"
            )
        query_id, doc_id, score = (p.strip() for p in parts)
        try:
            relevance = int(float(score))
        except (ValueError, OverflowError):  # "very", "nan", "inf"
            raise DatasetError(f"{path}:{number}: score {score!r} is not a number") from None
        qrels.setdefault(query_id, {})[doc_id] = relevance
    if not qrels:
        raise DatasetError(f"{path} has no judgements")
    return qrels


def load_dataset(root: Path | str, split: str = "test") -> BeirDataset:
    """Check the folder's layout and read the split's queries and judgements."""
    root = expand_user(root).absolute()  # "." has a name to show
    if root.exists() and not root.is_dir():
        raise DatasetError(f"not a folder: {root}", "a BEIR dataset is a folder")
    if not root.is_dir():
        raise DatasetError(f"no such dataset folder: {root}")
    corpus_path = root / "corpus.jsonl"
    if not corpus_path.is_file():
        raise DatasetError(
            f"{corpus_path} is missing", "a BEIR folder has corpus.jsonl, queries.jsonl and qrels/"
        )
    qrels = read_qrels(root / "qrels" / f"{split}.tsv")
    all_queries = read_queries(root / "queries.jsonl")
    missing = sorted(q for q in qrels if q not in all_queries)
    if missing:
        raise DatasetError(
            f"{root / 'qrels' / f'{split}.tsv'}: query id {missing[0]!r} is not in queries.jsonl"
            + (f" ({len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    queries = {q: all_queries[q] for q in qrels}
    qrels_path = root / "qrels" / f"{split}.tsv"
    blank = sorted(q for q, text in queries.items() if not text.strip())
    if blank:  # every score would be 0 rather than an error, as `search ""` is
        raise DatasetError(
            f"{root / 'queries.jsonl'}: query {blank[0]!r} has no text"
            + (f" ({len(blank) - 1} more)" if len(blank) > 1 else "")
        )
    if not any(score > 0 for judged in qrels.values() for score in judged.values()):
        raise DatasetError(f"{qrels_path}: no judgement marks a document relevant (score > 0)")
    if not _has_a_line(corpus_path):
        raise DatasetError(f"{corpus_path} has no documents")
    return BeirDataset(root=root, split=split, queries=queries, qrels=qrels)


def _has_a_line(path: Path) -> bool:
    with path.open("rb") as handle:
        return any(line.strip() for line in handle)
