"""The TUI's only contact with `localsearch.adapt`: the options the form offers, running it, and
rolling back to the previous model.

Kept to a few functions so that a change in the adapt engine's API is a change here only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localsearch.config import Settings
from localsearch.errors import UsageError
from localsearch.progress import ProgressCallback, ignore_progress

ADAPT_STAGE_LABELS = {
    "lexical": "Checking the keyword index",
    "pull": "Fetching the generator",
    "generate": "Generating practice queries",
    "mine": "Mining hard negatives",
    "train": "Training",
    "evaluate": "Evaluating old and new model",
    "reembed": "Re-embedding with the new model",
    "embed": "Embedding chunks",
}


@dataclass(frozen=True)
class OptionField:
    """One entry of the adapt form; `optional` ones may be left blank (None)."""

    name: str
    kind: type
    label: str
    help: str = ""
    optional: bool = False
    default: Any = None


# The options a person is likely to change; the rest keep the engine's defaults.
FORM: tuple[OptionField, ...] = (
    OptionField(
        "time_budget_minutes",
        float,
        "Time limit (minutes)",
        "Training stops cleanly when the time is spent; blank: no limit.",
        optional=True,
    ),
    OptionField(
        "epochs",
        float,
        "Epochs",
        "Passes over the practice queries; blank: 2 over the pairs BM25 misses, else 1.",
        optional=True,
    ),
    OptionField(
        "max_steps",
        int,
        "Max training steps",
        "Blank: as many as the epochs need.",
        optional=True,
    ),
    OptionField(
        "max_passages",
        int,
        "Passages to use",
        "Chunks to write queries for; blank: all.",
        optional=True,
    ),
    OptionField("batch_size", int, "Batch size", "Bigger learns more per step, costs memory."),
    OptionField(
        "learning_rate",
        float,
        "Learning rate",
        "Blank: 2e-5 for the whole model, 5e-5 for the query side.",
        optional=True,
    ),
    OptionField(
        "generator",
        str,
        "Query generator",
        "Blank: a pulled generator if there is one, else 'structure' (no model).",
        optional=True,
    ),
    OptionField("name", str, "Name of the new model", "Blank: BASE-adapted-N.", optional=True),
)


@dataclass
class AdaptOutcome:
    """What the screen shows at the end: the gate's numbers and what is active now."""

    kept: bool
    model: str | None
    previous_model: str
    reason: str
    rows: list[tuple[str, float, float]] = field(default_factory=list)  # (measure, old, new)
    seconds: float = 0.0
    judged_on: str = ""  # held-out searches from the log, or synthetic queries, and why


def _options_type() -> Any:
    from localsearch.adapt import AdaptOptions

    return AdaptOptions


def adapt_unavailable_reason() -> str | None:
    """None when adapting can run here; else a sentence saying why not."""
    try:
        _options_type()
    except ImportError as exc:
        return f"Adapting is not available: {exc}."
    return None


def option_fields() -> list[OptionField]:
    """The form's fields that the engine knows, with the engine's defaults."""
    try:
        options_type = _options_type()
    except ImportError:
        return []
    defaults = {f.name: f.default for f in dataclasses.fields(options_type)}
    return [
        dataclasses.replace(item, default=defaults[item.name])
        for item in FORM
        if item.name in defaults and defaults[item.name] is not dataclasses.MISSING
    ]


def parse_option(option: OptionField, raw: str | bool) -> Any:
    if option.kind is bool:
        return bool(raw)
    text = str(raw).strip()
    if not text:
        if option.optional:
            return None
        raise UsageError(f"{option.label}: a value is needed")
    try:
        return option.kind(text)
    except ValueError:
        kind = {int: "whole number", float: "number"}.get(option.kind, "value")
        raise UsageError(f"{option.label}: {text!r} is not a {kind}") from None


def run_adapt(
    settings: Settings,
    values: dict[str, Any],
    progress: ProgressCallback = ignore_progress,
    announce: Callable[[str], None] = lambda line: None,
) -> AdaptOutcome:
    """Run the adapt engine with the form's values; blocks, so call it from a worker.
    `announce` gets the line, before training, that says what the model will be judged on."""
    from localsearch.adapt import adapt

    result = adapt(settings, _options_type()(**values), progress=progress, announce=announce)
    rows = []
    if result.gate is not None:
        rows = [
            (f"{mode} {measure}", old, new) for mode, measure, old, new, _ in result.gate.rows()
        ]
    return AdaptOutcome(
        kept=result.kept,
        model=result.model,
        previous_model=result.previous_model,
        reason=result.reason,
        rows=rows,
        seconds=result.seconds,
        judged_on=result.judged_on,
    )


def roll_back(settings: Settings, progress: ProgressCallback = ignore_progress) -> str:
    """Make the model that was active before the last switch active again."""
    from localsearch.adapt.models import switch_model

    switched = switch_model(settings, "", rollback=True, progress=progress)
    return f"Rolled back: searches use {switched.model} again."


@dataclass(frozen=True)
class EmbedderChoice:
    """One model the index can search with, as the models screen lists it."""

    name: str
    origin: str
    present: bool
    active: bool
    vectors: int | None
    notes: str
    card: dict[str, Any] | None = None


def list_embedders(settings: Settings) -> list[EmbedderChoice]:
    """The embedding models: catalogue, pulled and adapted ones, the active one marked."""
    from localsearch.adapt.models import list_models

    return [
        EmbedderChoice(
            info.name, info.origin, info.present, info.active, info.vectors, info.notes, info.card
        )
        for info in list_models(settings)
        if info.role == "embedder"
    ]


def use_model(settings: Settings, name: str, progress: ProgressCallback = ignore_progress) -> str:
    """Make searches use `name`, embedding what its vectors lack; returns what happened."""
    from localsearch.adapt.models import switch_model

    switched = switch_model(settings, name, progress=progress)
    if switched.already_active:
        return f"{switched.model} is already in use."
    return f"Searches now use {switched.model} (was {switched.previous})."
