"""Fine-tuning the bi-encoder with sentence-transformers' trainer.

MultipleNegativesRankingLoss over (query, positive[, hard negative]) rows: every other passage
in the batch is a negative too, so no batch may hold the same text twice (a duplicate would be
a false negative), hence the no-duplicates sampler. The cached variant (GradCache) gives a large
effective batch at the memory of a small one. Training runs in fp32: bf16 training on CPUs is
about four times slower than fp32 even where bf16 inference is faster.

A time budget is honoured between steps by a TrainerCallback, so the run stops cleanly with the
model it has. `datasets` and `accelerate` are only needed here (the `train` extra).
"""

from __future__ import annotations

import importlib.util
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from localsearch.adapt import distributed
from localsearch.errors import MissingDependencyError
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress

TRAINING_MODULES = ("datasets", "accelerate")


@dataclass(frozen=True)
class TrainingExample:
    query: str
    positive: str
    negative: str | None = None


@dataclass(frozen=True)
class TrainingOptions:
    epochs: float = 1.0
    batch_size: int = 64
    learning_rate: float = 2e-5
    max_steps: int | None = None
    time_budget_s: float | None = None
    max_seq_length: int = 128
    warmup_ratio: float = 0.1
    cached: bool = False  # CachedMultipleNegativesRankingLoss: big batches at low memory
    mini_batch_size: int = 16
    device: str = "auto"
    seed: int = 13


@dataclass
class TrainingReport:
    examples: int
    steps: int
    planned_steps: int
    epochs: float
    seconds: float
    stopped_early: bool
    final_loss: float | None
    device: str
    processes: int = 1  # under torchrun / accelerate launch: the ranks that trained together
    weights_sha256: str = ""  # of the saved model, which every rank agreed on


def require_training_dependencies() -> None:
    missing = [name for name in TRAINING_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"training needs {' and '.join(missing)}, which are not installed",
            "pip install 'localsearch[train]'",
        )


def quiet_model_libraries() -> None:
    """No tqdm bars or info logs from transformers: adapt reports progress through callbacks."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def training_device(requested: str) -> str:
    from localsearch.embed.sentence_transformer import pick_device

    return pick_device(requested)


def planned_steps(examples: int, options: TrainingOptions, processes: int = 1) -> int:
    per_epoch = max(1, examples // (options.batch_size * processes))
    steps = max(1, math.ceil(per_epoch * options.epochs))
    return min(steps, options.max_steps) if options.max_steps else steps


def _deduplicated(examples: Sequence[TrainingExample]) -> list[TrainingExample]:
    """Drop exact repeats and rows whose query equals their positive (nothing to learn)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        key = (example.query, example.positive)
        if key in seen or example.query.strip() == example.positive.strip():
            continue
        seen.add(key)
        kept.append(example)
    return kept


def steps_within_budget(steps: int, done: int, elapsed: float, budget: float | None) -> int:
    """The step a run will stop at: `steps`, or fewer where the time budget ends it first at
    the pace so far. Reported as the bar's total, so its time left is the run's: on two cores
    the bar said 26 minutes left for training that its 8-minute budget stopped at step 42/148."""
    if budget is None or done < 1 or elapsed <= 0:
        return steps
    return max(done, min(steps, done + int((budget - elapsed) * done / elapsed)))


def train_bi_encoder(
    base_location: str,
    examples: Sequence[TrainingExample],
    output_dir: Path,
    options: TrainingOptions = TrainingOptions(),
    progress: ProgressCallback = ignore_progress,
) -> TrainingReport:
    """Fine-tune the model at `base_location` on `examples`; save it to `output_dir`."""
    require_training_dependencies()
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    except ImportError:
        from sentence_transformers.training_args import BatchSamplers  # type: ignore[no-redef]
    from transformers import PrinterCallback, TrainerCallback

    from localsearch.catalog import ensure_offline

    ensure_offline()
    quiet_model_libraries()
    rows = _deduplicated(examples)
    if len(rows) < 2:
        raise ValueError("at least two distinct training pairs are needed")
    rng = random.Random(options.seed)
    rng.shuffle(rows)
    with_negatives = any(r.negative for r in rows)
    if with_negatives:
        # The negative column must be full: a row without one gets another row's positive,
        # which is what an in-batch negative would have been anyway.
        rows = [
            r if r.negative else TrainingExample(r.query, r.positive, _other_positive(rows, i, rng))
            for i, r in enumerate(rows)
        ]
    columns: dict[str, list[str]] = {
        "anchor": [r.query for r in rows],
        "positive": [r.positive for r in rows],
    }
    if with_negatives:
        columns["negative"] = [r.negative or "" for r in rows]
    dataset = Dataset.from_dict(columns)

    device = distributed.rank_device(training_device(options.device))
    processes = distributed.world_size()
    torch.manual_seed(options.seed)
    model = SentenceTransformer(base_location, device=device, local_files_only=True)
    serving_length = model.max_seq_length
    model.max_seq_length = options.max_seq_length
    if hasattr(model, "model_card_data"):
        # A non-empty widget list stops the trainer sampling "widget examples" for a model card
        # nobody will publish (and drawing a tqdm bar while it does).
        model.model_card_data.widget = [{"text": "localsearch"}]
    # The no-duplicates sampler cannot fill a batch wider than the number of distinct
    # passages; on a small corpus it would then yield no batches at all.
    batch_size = max(1, min(options.batch_size, len(rows) // processes))
    sampler = (
        BatchSamplers.NO_DUPLICATES
        if fills_a_batch_without_duplicates(columns, batch_size)
        else BatchSamplers.BATCH_SAMPLER  # a tiny corpus: duplicates beat training nothing
    )
    steps = planned_steps(len(rows), replace(options, batch_size=batch_size), processes)
    losses = _loss_module()
    loss: Any
    if options.cached:
        loss = losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=options.mini_batch_size
        )
    else:
        loss = losses.MultipleNegativesRankingLoss(model)

    started = time.monotonic()
    budget = options.time_budget_s
    tracked: dict[str, Any] = {"loss": None, "stopped": False}

    class StageProgress(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            elapsed = time.monotonic() - started
            total = steps_within_budget(steps, state.global_step, elapsed, budget)
            progress(ProgressEvent("train", state.global_step, total, _loss_text(tracked["loss"])))
            spent = budget is not None and elapsed >= budget
            if distributed.any_rank(spent):  # every rank stops at the same step
                tracked["stopped"] = state.global_step < steps
                control.should_training_stop = True
            return control

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            logs = kwargs.get("logs")
            if logs and "loss" in logs:
                tracked["loss"] = float(logs["loss"])
            return control

    scratch = output_dir.parent / f".{output_dir.name}-trainer"
    arguments = SentenceTransformerTrainingArguments(
        output_dir=str(scratch),
        num_train_epochs=max(options.epochs, 1e-3),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=max(0, int(steps * options.warmup_ratio)),
        # Under a time budget the rate stays flat after warm-up, so a run the clock stops has
        # learnt at full rate rather than being cut off half-way down a decay it planned.
        lr_scheduler_type="constant_with_warmup" if budget is not None else "linear",
        batch_sampler=sampler,
        fp16=False,
        bf16=False,
        use_cpu=device == "cpu",
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, min(10, steps // 10 or 1)),
        disable_tqdm=True,
        dataloader_drop_last=len(rows) > batch_size,
        seed=options.seed,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        loss=loss,
        callbacks=[StageProgress()],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
    progress(ProgressEvent("train", 0, steps, "starting"))
    try:
        result = trainer.train()
    finally:  # interrupted or not: the trainer's scratch folder is never worth keeping
        _remove_tree(scratch)
    done = int(result.global_step)
    # Saved with the length it serves at, not the shorter one it trained at: the length is
    # stored with the tokenizer, and a 128-token model would cut every 250-token chunk in half.
    model.max_seq_length = serving_length
    digest = distributed.agreed_weights_digest(model)
    if distributed.is_main_process():
        model.save(str(output_dir), create_model_card=False)
    return TrainingReport(
        examples=len(rows),
        steps=done,
        planned_steps=steps,
        epochs=done * batch_size * processes / len(rows),
        seconds=time.monotonic() - started,
        stopped_early=bool(tracked["stopped"]),
        final_loss=tracked["loss"] if tracked["loss"] is not None else result.training_loss,
        device=device,
        processes=processes,
        weights_sha256=digest,
    )


def _other_positive(rows: Sequence[TrainingExample], index: int, rng: random.Random) -> str:
    other = index
    for _ in range(100):
        other = rng.randrange(len(rows))
        if other != index and rows[other].positive != rows[index].positive:
            break
    return rows[other].positive


def _loss_module() -> Any:
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer import losses
    except ImportError:
        from sentence_transformers import losses  # type: ignore[no-redef,attr-defined]
    return losses


def _loss_text(loss: float | None) -> str:
    return "" if loss is None else f"loss {loss:.3f}"


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def fills_a_batch_without_duplicates(columns: dict[str, list[str]], batch_size: int) -> bool:
    """Whether the no-duplicates sampler can build at least one full batch from these rows."""
    rows = list(zip(*columns.values(), strict=True))
    used: set[str] = set()
    taken = 0
    for row in rows:
        values = set(row)
        if len(values) < len(row) or values & used:
            continue
        used |= values
        taken += 1
        if taken == batch_size:
            return True
    return False
