"""Messages that workers post back to the UI thread, named for what has happened.

Workers never touch widgets; they post one of these and the app or a screen updates what the
user sees. Keeping them in one module makes the traffic between threads easy to follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from localsearch.index_report import IndexReport
from localsearch.index_status import IndexStatus
from localsearch.progress import ProgressEvent
from localsearch.search.engine import Hit, SearchResults
from localsearch.store.database import ChunkRow


@dataclass
class SearchCompleted(Message):
    """Results for query number `sequence`; `provisional` ones are replaced when the model is in."""

    sequence: int
    results: SearchResults
    contexts: dict[int, list[ChunkRow]] = field(default_factory=dict)  # chunk id -> neighbours
    provisional: bool = False
    note: str = ""


@dataclass
class SearchWaitExplained(Message):
    """Search number `sequence` waits for what `line` says (BM25 rebuilt for a new version)."""

    sequence: int
    line: str


@dataclass
class MoreLoaded(Message):
    """All of `hit`'s other matching chunks, for search number `sequence`."""

    sequence: int
    hit: Hit
    more: list[Hit]
    contexts: dict[int, list[ChunkRow]]


@dataclass
class SearchFailed(Message):
    sequence: int
    error: Exception


@dataclass
class ModelWarmed(Message):
    model: str
    seconds: float


@dataclass
class ModelFailed(Message):
    error: Exception


@dataclass
class IndexStatusLoaded(Message):
    """What is indexed; None when the home has no index yet, or when it cannot be read (the
    error says why)."""

    status: IndexStatus | None
    error: str | None = None


@dataclass
class IndexingProgressed(Message):
    event: ProgressEvent


@dataclass
class IndexingFinished(Message):
    report: IndexReport


@dataclass
class IndexingFailed(Message):
    error: Exception


@dataclass
class RootRemoved(Message):
    path: str
    documents: int


@dataclass
class RootRemovalFailed(Message):
    error: Exception


@dataclass
class AdaptProgressed(Message):
    event: ProgressEvent


@dataclass
class AdaptFinished(Message):
    result: Any


@dataclass
class AdaptFailed(Message):
    error: Exception
    context: str = "Adapting failed"


@dataclass
class ModelChoiceApplied(Message):
    """The user kept or rolled back an adapted model; `detail` says what is active now."""

    detail: str
