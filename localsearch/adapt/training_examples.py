"""Training examples from mined pseudo-queries: the positive worded for its kind of query, and
the first hard negative that survived mining, or a random passage when none did.

Apart from the pipeline because it is the one pure step between mining (negatives.py) and
training (training_plan.py): rows in, rows out, testable without a model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localsearch.adapt.negatives import MinedQuery
from localsearch.adapt.options import AdaptOptions
from localsearch.adapt.queries import training_passage
from localsearch.adapt.synthetic import SyntheticQuery
from localsearch.adapt.train import TrainingExample
from localsearch.embed.encoder import format_passage
from localsearch.store.database import ChunkRow


def passage_text(chunk: ChunkRow) -> str:
    return format_passage(chunk.title, chunk.heading, chunk.text)


def training_examples(
    queries: Sequence[SyntheticQuery],
    mined: Sequence[MinedQuery],
    chunks: dict[int, ChunkRow],
    held_out_docs: set[int],
    options: AdaptOptions,
) -> list[TrainingExample]:
    rng = random.Random(options.seed)
    pool = [c for c in chunks.values() if c.document_id not in held_out_docs]
    examples = []
    for query, found in zip(queries, mined, strict=True):
        if options.require_round_trip and found.positive_rank is None:
            continue
        positive = training_passage(query.chunk, query.kind)
        if options.negatives_per_query <= 0:
            examples.append(TrainingExample(query.text, positive))
            continue
        if found.negatives:
            negative = chunks[found.negatives[0]]
        else:  # every row needs a negative column; a random passage will do
            negative = rng.choice(pool)
            while negative.document_id == query.chunk.document_id and len(pool) > 1:
                negative = rng.choice(pool)
        examples.append(TrainingExample(query.text, positive, passage_text(negative)))
    return examples


def load_reranker(reference: str, models_dir: Path, device: str) -> Any:
    """The cross-encoder that mining asks which candidates are false negatives."""
    from localsearch.catalog import ensure_offline, resolve_model

    ensure_offline()
    location = resolve_model(reference, models_dir).location
    from sentence_transformers import CrossEncoder

    from localsearch.embed.sentence_transformer import pick_device

    return CrossEncoder(location, device=pick_device(device), local_files_only=True)
