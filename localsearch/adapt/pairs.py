"""`--pairs FILE`: training rows the user supplies, (query, positive[, negative]).

Accepted formats, chosen by content rather than by extension:
- TSV: `query<TAB>positive[<TAB>negative]` per line, an optional header row naming the columns;
- JSONL: one object per line with `query` (or `anchor`) and `positive` (or `pos`), optionally
  `negative` (or `neg`); or one array per line, `[query, positive(, negative)]`;
- JSON: a top-level array of such arrays, which is how neural-cherche's training triples
  `[(anchor, positive, negative), ...]` are written out with `json.dump`.
A malformed row raises DatasetError naming `file:line`, so the user knows what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localsearch.adapt.train import TrainingExample
from localsearch.config import expand_user
from localsearch.errors import DatasetError

QUERY_KEYS = ("query", "anchor", "question")
POSITIVE_KEYS = ("positive", "pos", "document", "passage")
NEGATIVE_KEYS = ("negative", "neg")
HEADER_WORDS = {*QUERY_KEYS, *POSITIVE_KEYS, *NEGATIVE_KEYS}


def read_pairs(path: Path | str) -> list[TrainingExample]:
    """Every row of a pairs file; raises DatasetError on the first bad one."""
    path = expand_user(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"pairs file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DatasetError(f"cannot read pairs file {path}: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    if stripped.startswith("[") and _is_json_document(stripped):
        rows = list(_json_array_rows(path, text))
    elif stripped.startswith(("{", "[")):
        rows = list(_jsonl_rows(path, text))
    else:
        rows = list(_tsv_rows(path, text))
    if not rows:
        raise DatasetError(f"{path}: no training pairs found")
    return rows


def _is_json_document(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(row, list) for row in value)


def _example(path: Path, line: int, values: list[Any]) -> TrainingExample:
    where = f"{path}:{line}"
    if len(values) not in (2, 3):
        raise DatasetError(
            f"{where}: expected query, positive and an optional negative; found {len(values)}"
            " values"
        )
    for name, value in zip(("query", "positive", "negative"), values, strict=False):
        if not isinstance(value, str):
            raise DatasetError(f"{where}: the {name} must be text, not {type(value).__name__}")
        if not value.strip():
            raise DatasetError(f"{where}: the {name} is empty")
    return TrainingExample(
        values[0].strip(), values[1].strip(), values[2].strip() if len(values) == 3 else None
    )


def _tsv_rows(path: Path, text: str) -> Iterator[TrainingExample]:
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        values = raw.split("\t")
        if first and {v.strip().lower() for v in values} <= HEADER_WORDS:
            first = False
            continue
        first = False
        if len(values) == 1:
            raise DatasetError(
                f"{path}:{number}: expected tab-separated query and positive, found no tab"
            )
        yield _example(path, number, values)


def _jsonl_rows(path: Path, text: str) -> Iterator[TrainingExample]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc})") from None
        if isinstance(value, list):
            yield _example(path, number, value)
        elif isinstance(value, dict):
            yield _example(path, number, _object_values(path, number, value))
        else:
            raise DatasetError(
                f"{path}:{number}: expected an object or an array, found {type(value).__name__}"
            )


def _object_values(path: Path, number: int, row: dict[str, Any]) -> list[Any]:
    def pick(keys: tuple[str, ...]) -> Any:
        return next((row[k] for k in keys if k in row), None)

    query, positive, negative = pick(QUERY_KEYS), pick(POSITIVE_KEYS), pick(NEGATIVE_KEYS)
    if query is None or positive is None:
        missing = "query" if query is None else "positive"
        raise DatasetError(
            f"{path}:{number}: missing {missing!r} (keys found: {', '.join(sorted(row)) or 'none'})"
        )
    return [query, positive] if negative is None else [query, positive, negative]


def _json_array_rows(path: Path, text: str) -> Iterator[TrainingExample]:
    """A JSON array of arrays; line numbers are where each row starts in the file."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return
        line = text.count("\n", 0, position) + 1
        value, position = decoder.raw_decode(text, position)
        yield _example(path, line, value)
