"""The encoder protocol and the helpers every encoder shares.

Kept free of torch so that code which only needs the protocol (search in BM25 mode, status)
imports nothing heavy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

ProgressCallback = Callable[[int], None]  # called with the number of texts just encoded


class Encoder(Protocol):
    name: str
    location: str

    @property
    def dimension(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def encode_passages(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def format_passage(title: str, heading: str, text: str) -> str:
    """The text the embedder sees for a chunk: where it sits matters as much as what it says."""
    context = " > ".join(part for part in (title.strip(), heading.strip()) if part)
    if context and not text.startswith(context):
        return f"{context}\n{text}"
    return text


# Files localsearch itself writes into a model folder (adapt/models.py CARD_NAME).
OWN_METADATA_FILES = frozenset({"card.json"})


def model_fingerprint(location: str) -> str:
    """Identify weights by their files, so a changed model at the same path is noticed."""
    folder = Path(location)
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(location.encode())
        return digest.hexdigest()[:16]
    for path in _weight_files(folder):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 16))
    return digest.hexdigest()[:16]


def same_model_files(location: str, other: str) -> bool:
    """Whether two model folders hold the same files, byte for byte, of those the fingerprint
    reads. The fingerprint reads 64 KB a file, enough to notice a model changed in place but
    not to call two folders the same weights (a fine-tune that kept the first layers)."""
    import filecmp

    first, second = Path(location), Path(other)
    if not (first.is_dir() and second.is_dir()):
        return False
    files = [p.relative_to(first) for p in _weight_files(first)]
    if files != [p.relative_to(second) for p in _weight_files(second)]:
        return False
    return all(filecmp.cmp(first / name, second / name, shallow=False) for name in files)


def _weight_files(folder: Path) -> list[Path]:
    """The files that make a model what it is: weights, configs, vocabularies; sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix in {".safetensors", ".bin", ".json", ".txt", ".model"}
        # rewritten after the vectors were made (adapt's card); not the weights
        and not (p.parent == folder and p.name in OWN_METADATA_FILES)
    )
