"""Query-side-only adaptation: train a query tower against the corpus vectors already stored.

The passages keep their vectors: the document tower is the active model, untouched. So a
training step encodes only short queries, every stored chunk can serve as a negative (a softmax
over the whole corpus, which is where the results a user saw and skipped sit), nothing has to
be re-embedded, and the new model can serve as soon as it is saved. The saved folder is an
ordinary sentence-transformers model with a Router: `encode(task="query")` goes through the
trained tower, `encode(task="document")` through the original one.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from localsearch.adapt.negatives import CorpusView
from localsearch.adapt.train import TrainingReport, steps_within_budget, training_device
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress


@dataclass(frozen=True)
class QueryPair:
    """A query and the chunk it should find; `weight` scales its share of the loss."""

    query: str
    positive: int  # chunk id
    weight: float = 1.0
    spared: tuple[int, ...] = ()  # chunks never used as its negatives (maybe relevant too)


@dataclass(frozen=True)
class QueryTowerOptions:
    epochs: float = 8.0
    learning_rate: float = 5e-5
    batch_size: int = 32
    max_steps: int | None = None
    scale: float = 20.0  # the softmax temperature's inverse, as in MultipleNegativesRankingLoss
    max_query_tokens: int = 64
    max_negatives: int = 200_000  # a bigger corpus is sampled, positives always kept
    time_budget_s: float | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    device: str = "auto"
    seed: int = 13


def document_tower(model: Any) -> tuple[list[Any], list[Any]]:
    """(the modules that make a passage's embedding, the shared tail such as Normalize) of a
    loaded model; for a routed model, its document route."""
    from localsearch.embed.sentence_transformer import is_routed

    modules = list(model.children())
    if is_routed(model):
        return list(modules[0].sub_modules["document"]), modules[1:]
    tail: list[Any] = []
    while modules and type(modules[-1]).__name__ == "Normalize":
        tail.insert(0, modules.pop())
    return modules, tail


def train_query_tower(
    model_location: str,
    pairs: Sequence[QueryPair],
    corpus: CorpusView,
    output_dir: Path,
    options: QueryTowerOptions = QueryTowerOptions(),
    progress: ProgressCallback = ignore_progress,
) -> TrainingReport:
    """Train a copy of the document tower of the model at `model_location` as its query tower,
    with the passages fixed at `corpus`'s vectors; save the two-tower model to `output_dir`."""
    import torch
    from sentence_transformers import SentenceTransformer

    from localsearch.catalog import ensure_offline

    ensure_offline()
    if len(pairs) < 2:
        raise ValueError("at least two training pairs are needed")
    row_of = {int(c): i for i, c in enumerate(corpus.chunk_ids)}
    pairs = [p for p in pairs if p.positive in row_of]
    if len(pairs) < 2:
        raise ValueError("at least two training pairs with stored vectors are needed")
    device = training_device(options.device)
    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)

    loaded = SentenceTransformer(model_location, device=device, local_files_only=True)
    documents, tail = document_tower(loaded)
    query = SentenceTransformer(modules=[*copy.deepcopy(documents), *tail], device=device)
    query.max_seq_length = options.max_query_tokens

    rows = _negative_rows(corpus, pairs, row_of, options.max_negatives, rng)
    row_position = {int(r): i for i, r in enumerate(rows)}
    matrix = torch.from_numpy(np.ascontiguousarray(corpus.vectors[rows])).to(device)
    owners = np.array([corpus.document_of.get(int(corpus.chunk_ids[r]), -1) for r in rows])
    chunk_ids = corpus.chunk_ids[rows]

    steps = max(1, math.ceil(len(pairs) / options.batch_size * options.epochs))
    if options.max_steps is not None:
        steps = min(steps, options.max_steps)
    warmup = max(1, int(steps * options.warmup_ratio))
    parameters = [p for p in query.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=options.learning_rate, weight_decay=options.weight_decay
    )
    query.train()
    started = time.monotonic()
    order: list[int] = []
    loss_value: float | None = None
    done = 0
    stopped = False
    progress(ProgressEvent("train", 0, steps, "training the query tower"))
    for step in range(steps):
        if len(order) < options.batch_size:
            fresh = list(range(len(pairs)))
            rng.shuffle(fresh)
            order.extend(fresh)
        batch = [pairs[i] for i in order[: options.batch_size]]
        del order[: options.batch_size]
        prepare = getattr(query, "preprocess", None) or query.tokenize
        features = prepare([p.query for p in batch])
        features = {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}
        vectors = torch.nn.functional.normalize(query(features)["sentence_embedding"], dim=-1)
        logits = options.scale * vectors @ matrix.T
        targets = torch.tensor([row_position[row_of[p.positive]] for p in batch], device=device)
        logits = logits.masked_fill(_not_negatives(batch, owners, chunk_ids, corpus), -1e4)
        weights = torch.tensor([p.weight for p in batch], dtype=logits.dtype, device=device)
        losses = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        loss = (losses * weights).sum() / weights.sum().clamp_min(1e-9)
        for group in optimizer.param_groups:
            group["lr"] = options.learning_rate * min(1.0, (step + 1) / warmup)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done = step + 1
        loss_value = float(loss.detach())
        budget = options.time_budget_s
        elapsed = time.monotonic() - started
        total = steps_within_budget(steps, done, elapsed, budget)
        progress(ProgressEvent("train", done, total, f"loss {loss_value:.3f}"))
        if budget is not None and elapsed >= budget and done < steps:
            stopped = True
            break
    query.eval()
    save_two_towers(query, documents, tail, loaded, output_dir)
    return TrainingReport(
        examples=len(pairs),
        steps=done,
        planned_steps=steps,
        epochs=done * options.batch_size / len(pairs),
        seconds=time.monotonic() - started,
        stopped_early=stopped,
        final_loss=loss_value,
        device=device,
    )


def _negative_rows(
    corpus: CorpusView,
    pairs: Sequence[QueryPair],
    row_of: dict[int, int],
    limit: int,
    rng: random.Random,
) -> np.ndarray:
    """Rows of the corpus matrix the softmax runs over: all, or positives plus a sample."""
    total = len(corpus.chunk_ids)
    if total <= limit:
        return np.arange(total)
    kept = {row_of[p.positive] for p in pairs}
    rest = [r for r in range(total) if r not in kept]
    kept.update(rng.sample(rest, max(0, limit - len(kept))))
    return np.array(sorted(kept))


def _not_negatives(
    batch: Sequence[QueryPair], owners: np.ndarray, chunk_ids: np.ndarray, corpus: CorpusView
) -> Any:
    """A mask of what must not count against each query: the other chunks of its positive's
    document (they hold the same answer) and its spared chunks."""
    import torch

    mask = np.zeros((len(batch), len(owners)), dtype=bool)
    for i, pair in enumerate(batch):
        owner = corpus.document_of.get(pair.positive, -2)
        mask[i] = owners == owner
        if pair.spared:
            mask[i] |= np.isin(chunk_ids, pair.spared)
        mask[i] &= chunk_ids != pair.positive
    return torch.from_numpy(mask)


def save_two_towers(
    query: Any, documents: Sequence[Any], tail: Sequence[Any], loaded: Any, output_dir: Path
) -> None:
    """Save the trained query modules and the untouched document ones as one Router model."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import Router
    except ImportError:
        from sentence_transformers.models import Router  # type: ignore[no-redef,attr-defined]

    query_modules = list(query.children())[: len(documents)]
    router = Router.for_query_document(
        query_modules=query_modules, document_modules=list(documents)
    )
    model = SentenceTransformer(modules=[router, *tail], device=str(loaded.device))
    model.max_seq_length = loaded.max_seq_length
    model.save(str(output_dir), create_model_card=False)
