"""How adapt trains: the whole model or only its query tower, each with the epochs, learning
rate and time budget it gets unless told otherwise, on pairs written as the model reads them.

Apart from the pipeline so that the defaults measured for each kind of training sit beside
the two calls that use them; the trainers themselves are train.py and query_tower.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from localsearch.adapt import distributed
from localsearch.adapt.negatives import CorpusView
from localsearch.adapt.options import AdaptOptions
from localsearch.adapt.query_tower import QueryPair, QueryTowerOptions, train_query_tower
from localsearch.adapt.train import (
    TrainingExample,
    TrainingOptions,
    TrainingReport,
    train_bi_encoder,
    training_device,
)
from localsearch.embed.formatting import TextFormat
from localsearch.progress import ProgressCallback

# Training on a CPU stops after this many minutes unless told otherwise, so that adapt on a
# laptop finishes in about a quarter of an hour whatever the corpus size.
DEFAULT_CPU_TRAINING_MINUTES = 8.0
# Two passes over the narrowed pairs measured best on SciFact; one for everything else.
NARROWED_EPOCHS = 2.0
# The query tower (see query_tower.py): measured on the SciFact train split (README).
QUERY_SIDE_EPOCHS = 8.0
QUERY_SIDE_LEARNING_RATE = 5e-5
WHOLE_MODEL_LEARNING_RATE = 2e-5


def learning_rate(options: AdaptOptions, query_side: bool) -> float:
    default = QUERY_SIDE_LEARNING_RATE if query_side else WHOLE_MODEL_LEARNING_RATE
    return options.learning_rate or default


def training_budget_seconds(options: AdaptOptions, device: str) -> float | None:
    minutes = options.time_budget_minutes
    if minutes is None and training_device(device) == "cpu":
        minutes = DEFAULT_CPU_TRAINING_MINUTES
    return None if minutes is None else minutes * 60


def train_whole_model(
    base_location: str,
    examples: Sequence[TrainingExample],
    output: Path,
    options: AdaptOptions,
    *,
    device: str,
    narrowed: bool,
    text_format: TextFormat,
    progress: ProgressCallback,
) -> TrainingReport:
    """Fine-tune both towers; ranks of a launched run train the same job (distributed.py)."""
    training_options = TrainingOptions(
        epochs=options.epochs or (NARROWED_EPOCHS if narrowed else 1.0),
        batch_size=options.batch_size,
        learning_rate=learning_rate(options, query_side=False),
        max_steps=options.max_steps,
        time_budget_s=training_budget_seconds(options, device),
        max_seq_length=options.max_seq_length,
        cached=options.cached_loss,
        device=device,
        seed=options.seed,
    )
    examples = [as_the_model_reads(example, text_format) for example in examples]
    distributed.share_training_job(
        distributed.TrainingJob(base_location, examples, training_options)
    )
    return train_bi_encoder(base_location, examples, output, training_options, progress)


def train_query_side(
    base_location: str,
    pairs: Sequence[QueryPair],
    corpus: CorpusView,
    output: Path,
    options: AdaptOptions,
    *,
    device: str,
    text_format: TextFormat,
    progress: ProgressCallback,
) -> TrainingReport:
    """Train only the query tower against the stored passage vectors."""
    prefix = text_format.query_prefix
    return train_query_tower(
        base_location,
        [replace(pair, query=prefix + pair.query) for pair in pairs],
        corpus,
        output,
        QueryTowerOptions(
            epochs=options.epochs or QUERY_SIDE_EPOCHS,
            learning_rate=learning_rate(options, query_side=True),
            batch_size=options.batch_size,
            max_steps=options.max_steps,
            time_budget_s=training_budget_seconds(options, device),
            device=device,
            seed=options.seed,
        ),
        progress,
    )


def as_the_model_reads(example: TrainingExample, text_format: TextFormat) -> TrainingExample:
    """The pair as the model reads it at search and index time (prefixes included)."""
    query_prefix, passage_prefix = text_format.query_prefix, text_format.passage_prefix
    return TrainingExample(
        query_prefix + example.query,
        passage_prefix + example.positive,
        None if example.negative is None else passage_prefix + example.negative,
    )
