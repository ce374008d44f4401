"""Versioned adapted models, and switching the index between models.

An adapted model lives in `models_dir/adapted/NAME/` with a `card.json` saying how it was made
(base, generator, pairs, steps, time, held-out metrics); the card is written last, so a folder
without one is an unfinished run and is never offered. Each model's vectors are an embedding
space in the store; switching activates a space in one transaction, so searches move from the
old vectors to the new in one step. The previous model's space is kept, which makes a rollback
instant; older ones are dropped, and switching back to one of those re-embeds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localsearch.catalog import (
    hf_cache_snapshot,
    load_catalog,
    model_reference,
    package_model_dir,
    pulled_dir,
    resolve_model,
)
from localsearch.config import Settings, require_index
from localsearch.errors import UsageError
from localsearch.jsonfile import read_json_object, write_json_atomically
from localsearch.progress import ProgressCallback, ignore_progress
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.adapt_queries import model_history, set_model_history

CARD_NAME = "card.json"
RUN_LOG_NAME = "runs.jsonl"


def adapted_root(models_dir: Path) -> Path:
    return models_dir / "adapted"


def read_card(folder: Path) -> dict[str, Any] | None:
    return read_json_object(folder / CARD_NAME)


def write_card(folder: Path, card: dict[str, Any]) -> None:
    write_json_atomically(folder / CARD_NAME, card)


def adapted_models(models_dir: Path) -> list[dict[str, Any]]:
    """Cards of the finished adapted models, oldest first."""
    root = adapted_root(models_dir)
    cards = []
    if root.is_dir():
        for folder in root.iterdir():
            card = read_card(folder) if folder.is_dir() else None
            if card is not None:
                cards.append({**card, "name": folder.name, "location": str(folder)})
    return sorted(cards, key=lambda c: (c.get("created_at", 0), c["name"]))


def trained_query_digests(card: dict[str, Any]) -> list[str]:
    """The digests of the queries a model trained on; a card written before digests lists
    the queries themselves."""
    from localsearch.adapt.from_history import query_digest

    history = card.get("history")
    if not isinstance(history, dict):
        return []
    digests = [str(d) for d in history.get("trained_query_digests", []) or []]
    return digests + [query_digest(str(q)) for q in history.get("trained_queries", []) or []]


def _without_plain_queries(record: Any) -> dict[str, Any] | None:
    """The record with its plain list of trained queries turned into digests; None when it
    has none (or is not a record at all: a hand-edited run log)."""
    history = record.get("history") if isinstance(record, dict) else None
    if not isinstance(history, dict) or "trained_queries" not in history:
        return None
    digests = sorted(set(trained_query_digests(record)))
    kept = {k: v for k, v in history.items() if k != "trained_queries"}
    return {**record, "history": {**kept, "trained_query_digests": digests}}


def forget_trained_queries(models_dir: Path) -> None:
    """Leave no query in plain text in the cards and the run log (older versions listed every
    query a model trained on): clearing the search history has to reach them too."""
    root = adapted_root(models_dir)
    if not root.is_dir():
        return
    for folder in root.iterdir():
        card = read_card(folder) if folder.is_dir() else None
        changed = _without_plain_queries(card) if card is not None else None
        if changed is not None:
            write_card(folder, changed)
    records = run_log(models_dir)
    rewritten = [_without_plain_queries(r) for r in records]
    if any(r is not None for r in rewritten):
        path = root / RUN_LOG_NAME
        tmp = path.with_name(f".{path.name}.tmp")
        lines = [
            json.dumps(new or old, sort_keys=True) + "\n"
            for old, new in zip(records, rewritten, strict=True)
        ]
        tmp.write_text("".join(lines), encoding="utf-8")
        os.replace(tmp, path)


def model_before_history(models_dir: Path, model: str) -> str | None:
    """The model `model` was adapted from, however many steps down, that learnt nothing from
    the search log, when `model` or one between them did; None when none of them did."""
    taught, seen = False, set()
    while model not in seen:
        seen.add(model)
        card = read_card(adapted_root(models_dir) / model)
        if card is None:
            break
        taught = taught or bool(trained_query_digests(card))
        if not card.get("base"):
            break
        model = str(card["base"])
    return model if taught else None


def root_base(reference: str, models_dir: Path) -> str:
    """The model an adapted model was ultimately made from (itself for any other model)."""
    seen = set()
    while reference not in seen:
        seen.add(reference)
        card = read_card(adapted_root(models_dir) / reference)
        if card is None or not card.get("base"):
            return reference
        reference = str(card["base"])
    return reference


def next_model_name(models_dir: Path, base: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(base).name if "/" in base else base).strip("-")
    root = adapted_root(models_dir)
    number = 1
    while (root / f"{stem}-adapted-{number}").exists():
        number += 1
    return f"{stem}-adapted-{number}"


def append_run_log(models_dir: Path, record: dict[str, Any]) -> None:
    root = adapted_root(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    with (root / RUN_LOG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def run_log(models_dir: Path) -> list[dict[str, Any]]:
    """Every adapt run, kept or not, oldest first."""
    path = adapted_root(models_dir) / RUN_LOG_NAME
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a kill; the rest is still good
    return records


def remove_unfinished(models_dir: Path) -> None:
    """Folders of runs that never wrote a card (killed mid-training) are scratch space."""
    root = adapted_root(models_dir)
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and (folder.name.startswith(".") or read_card(folder) is None):
            shutil.rmtree(folder, ignore_errors=True)


def interrupted_switch(models_dir: Path, store: Store) -> dict[str, Any] | None:
    """A model that passed the gate but whose switch was cut short (killed while re-embedding):
    it has a card, the run log has no entry for it, and it has never been active."""
    logged = {record.get("name") for record in run_log(models_dir)}
    history = set(model_history(store))
    active = store.active_space()
    for card in reversed(adapted_models(models_dir)):
        name = card["name"]
        if name not in logged and name not in history and (active is None or active.model != name):
            return card
    return None


def adapt_standing(settings: Settings) -> tuple[str | None, str | None]:
    """(the active model, an adapted model whose switch an interruption cut short, if any)."""
    if not settings.database_path.exists():
        return None, None
    store = Store(settings.database_path)
    try:
        active = store.active_space()
        pending = interrupted_switch(settings.models_dir, store)
    finally:
        store.close()
    return (active.model if active else None), (str(pending["name"]) if pending else None)


# -- listing ----------------------------------------------------------------------------------


@dataclass
class ModelInfo:
    name: str
    role: str  # embedder | generator | reranker
    origin: str  # bundled | pulled | cached | adapted | not pulled
    present: bool
    active: bool = False
    location: str | None = None
    notes: str = ""
    vectors: int | None = None  # vectors stored for it, when it has an embedding space
    card: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "origin": self.origin,
            "present": self.present,
            "active": self.active,
            "location": self.location,
            "notes": self.notes,
            "vectors": self.vectors,
            "card": self.card,
        }


def _origin(entry_source: str, repo_id: str | None, models_dir: Path) -> tuple[str, str | None]:
    if entry_source.startswith("package:"):
        folder = package_model_dir(entry_source)
        return ("bundled", str(folder)) if folder else ("missing", None)
    if repo_id:
        local = pulled_dir(models_dir, repo_id)
        if local.is_dir():
            return "pulled", str(local)
        cached = hf_cache_snapshot(repo_id)
        if cached is not None:
            return "cached", str(cached)
    return "not pulled", None


def list_models(settings: Settings) -> list[ModelInfo]:
    """The catalogue, with what is on this machine, plus adapted models and the active one."""
    models_dir = settings.models_dir
    spaces: list[EmbeddingSpace] = []
    active_model = None
    if settings.database_path.exists():
        store = Store(settings.database_path)
        try:
            spaces = store.spaces()
            active = store.active_space()
            active_model = active.model if active else None
            counts = {s.id: store.count_vectors(s) for s in spaces}
        finally:
            store.close()
    else:
        counts = {}
    vectors_by_model: dict[str, int] = {}
    for space in spaces:
        vectors_by_model[space.model] = max(vectors_by_model.get(space.model, 0), counts[space.id])

    infos = []
    for entry in load_catalog():
        origin, location = _origin(entry.source, entry.repo_id, models_dir)
        infos.append(
            ModelInfo(
                name=entry.name,
                role=entry.role,
                origin=origin,
                present=location is not None,
                active=entry.name == active_model,
                location=location,
                notes=entry.notes,
                vectors=vectors_by_model.get(entry.name),
            )
        )
    for card in adapted_models(models_dir):
        infos.append(
            ModelInfo(
                name=card["name"],
                role="embedder",
                origin="adapted",
                present=True,
                active=card["name"] == active_model,
                location=card["location"],
                notes=f"adapted from {card.get('base', '?')}",
                vectors=vectors_by_model.get(card["name"]),
                card=card,
            )
        )
    known = {i.name for i in infos}
    for model in sorted(set(vectors_by_model) - known):
        infos.append(
            ModelInfo(
                name=model,
                role="embedder",
                origin="folder or hub id",
                present=True,
                active=model == active_model,
                location=None,
                vectors=vectors_by_model[model],
            )
        )
    return infos


def present_generator(models_dir: Path) -> str | None:
    """A catalogue query generator that is on this machine, best first, or None."""
    preferred = [e for e in load_catalog() if e.role == "generator"]
    for entry in preferred:
        origin, _ = _origin(entry.source, entry.repo_id, models_dir)
        if origin in ("pulled", "cached"):
            return entry.name
    return None


# -- switching --------------------------------------------------------------------------------


@dataclass
class SwitchResult:
    model: str
    previous: str | None
    embedded: int
    seconds: float
    already_active: bool = False
    kept_from: str | None = None  # the model with the same weights whose vectors it took


def space_for_model(store: Store, model: str, fingerprint: str) -> EmbeddingSpace | None:
    """The space holding `model`'s vectors (the fullest if several), or None."""
    matching = [s for s in store.spaces() if s.model == model and s.fingerprint == fingerprint]
    if not matching:
        return None
    active = store.active_space()
    if active is not None and active in matching:
        return active
    return max(matching, key=store.count_vectors)


def space_with_the_same_vectors(
    store: Store, settings: Settings, model: str, fingerprint: str
) -> EmbeddingSpace | None:
    """Another model's space whose vectors are `model`'s own: the same files, byte for byte
    (a copy of the folder, a catalogue model named by its folder), read the same way (runtime,
    passage prefix, pooling). Its vectors copied are what a re-embed would compute."""
    from localsearch.embed.encoder import same_model_files
    from localsearch.errors import LocalSearchError

    active = store.active_space()
    candidates = sorted(
        (s for s in store.spaces() if s.model != model and s.fingerprint == fingerprint),
        key=lambda s: active is None or s.id != active.id,  # the active one first
    )
    resolved = resolve_model(model, settings.models_dir)
    for space in candidates:
        try:
            other = resolve_model(space.model, settings.models_dir)
        except LocalSearchError:
            continue  # its files are gone: nothing to compare
        if other.passage_recipe == resolved.passage_recipe and same_model_files(
            other.location, resolved.location
        ):
            return space
    return None


def prune_spaces(store: Store, keep_models: Sequence[str]) -> list[EmbeddingSpace]:
    """Drop spaces of models that are neither active nor the rollback target."""
    active = store.active_space()
    dropped = []
    for space in store.spaces():
        if (active is not None and space.id == active.id) or space.model in keep_models:
            continue
        store.drop_space(space)
        dropped.append(space)
    return dropped


def history_with_active(store: Store) -> list[str]:
    """The models used, oldest first, ending with the active one."""
    active = store.active_space()
    history = model_history(store)
    if active is not None and (not history or history[-1] != active.model):
        history.append(active.model)
    return history


def history_switched_to(store: Store, model: str) -> list[str]:
    return [*[h for h in history_with_active(store) if h != model], model]


def activate_model_space(store: Store, space: EmbeddingSpace, history: Sequence[str]) -> None:
    """Make `space` active and set the history, in one transaction: searches see old or new.

    The spaces kept are the new active one and the one it replaces, so that going back either
    way (rollback, or `use` after a rollback) is instant; older ones are dropped.
    """
    with store.transaction():
        previous = store.active_space()
        store.activate_space(space)
        set_model_history(store, history)
        keep = [*history[-2:], *([previous.model] if previous else [])]
        prune_spaces(store, keep)


def switch_model(
    settings: Settings,
    model: str,
    *,
    progress: ProgressCallback = ignore_progress,
    wait_seconds: float = 0.0,
    rollback: bool = False,
) -> SwitchResult:
    """Make `model` the one searches use, embedding whatever its space lacks first."""
    from localsearch.index import Index, IndexReport

    require_index(settings)
    if not rollback:
        model = model_reference(model, settings.models_dir)
    started = time.monotonic()
    index = Index(settings)
    try:
        with index.writer_lock(wait_seconds, purpose="models use"):
            store = index.store
            active = store.active_space()
            previous = active.model if active else None
            history = history_with_active(store)
            if rollback:
                if len(history) < 2:
                    raise UsageError(
                        "there is no earlier model to roll back to",
                        "run `localsearch models` to see the models you can switch to",
                    )
                model = history[-2]
                new_history = history[:-1]
            else:
                new_history = history_switched_to(store, model)
            resolve_model(model, settings.models_dir)  # a clear error before any work
            encoder = index.encoder(model)
            space = space_for_model(store, model, encoder.fingerprint)
            if space is None:
                with store.transaction():
                    space = store.create_space(
                        model, encoder.location, encoder.dimension, encoder.fingerprint
                    )
            kept_from = None
            if store.count_vectors(space) < store.count("chunks"):
                same = space_with_the_same_vectors(store, settings, model, encoder.fingerprint)
                if same is not None:
                    with store.transaction():
                        store.copy_vectors(same, space)
                    kept_from = same.model
            report = IndexReport()
            index.fill_space(space, encoder, report, progress, activate=False)
            already = active is not None and active.id == space.id
            activate_model_space(store, space, new_history)
            return SwitchResult(
                model,
                previous,
                report.chunks_embedded,
                time.monotonic() - started,
                already,
                kept_from,
            )
    finally:
        index.close()
