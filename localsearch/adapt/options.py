"""AdaptOptions: what an adapt run can be told, apart from the pipeline that reads it, so
that the stages in their own modules (synthetic queries, training) take the one object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localsearch.adapt.queries import KINDS
from localsearch.errors import UsageError

# A new model's name is one folder under models/adapted: `../x` or `/x` would train into, and
# on rejection delete, a folder elsewhere.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class AdaptOptions:
    """What `localsearch adapt` can be told; every field has a default that works."""

    generator: str | None = None  # None: a pulled generator if present, else the model-free one
    max_passages: int | None = None  # chunks to make queries for (all by default)
    queries_per_passage: int = 3  # for a seq2seq generator
    query_kinds: Sequence[str] = KINDS  # for the model-free generator
    reranker: str | None = None  # cross-encoder for false-negative filtering
    pairs_file: Path | None = None  # user-supplied (query, positive[, negative]) rows
    base: str | None = None  # model to fine-tune; default: what the active model was made from
    name: str | None = None  # the new model's name; default BASE-adapted-N
    epochs: float | None = None  # None: 2 over pairs narrowed to BM25's misses, else 1
    batch_size: int = 64
    learning_rate: float | None = None  # None: 2e-5 for the whole model, 5e-5 query side
    max_steps: int | None = None
    time_budget_minutes: float | None = None  # training; default 8 on a CPU, none elsewhere
    max_seq_length: int = 128
    cached_loss: bool = False
    negatives_per_query: int = 0
    require_round_trip: bool = False  # train only on queries whose passage the index finds
    held_out_fraction: float = 0.1
    max_held_out_queries: int = 1000
    gate_corpus_limit: int = 20_000  # chunks the gate ranks; a bigger index is sampled
    device: str | None = None  # default: the settings' device
    seed: int = 13
    wait_seconds: float = 0.0
    # Train only the query tower against the stored corpus vectors (no re-embedding).
    # None: do so when the search log has pairs to learn from, else fine-tune the whole model.
    query_side: bool | None = None
    use_history: bool = True  # learn from, and judge on, the logged searches

    def __post_init__(self) -> None:
        if self.name is not None and not MODEL_NAME.fullmatch(self.name):
            raise UsageError(
                f"cannot name a model {self.name!r}",
                "use letters, digits, '.', '_' and '-', starting with a letter or digit",
            )
