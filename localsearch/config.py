"""Settings and paths: explicit argument > LOCALSEARCH_* environment > config.toml > default.

One place decides where the data lives and what the defaults are, so the engine, the CLI and
the TUI agree without passing a dozen options around.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from localsearch.errors import NoIndexError, UsageError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def expand_user(path: str | os.PathLike[str]) -> Path:
    """`path` with a leading `~` or `~user` expanded. "~Documents" (meant as ~/Documents) names
    a user that does not exist and stays as typed, where Path.expanduser raises."""
    return Path(os.path.expanduser(path))


def default_home() -> Path:
    env = os.environ.get("LOCALSEARCH_HOME")
    if env:
        return expand_user(env).absolute()
    from platformdirs import user_data_dir

    return Path(user_data_dir("localsearch", appauthor=False))


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    model: str = DEFAULT_MODEL
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto | fp32 | bf16
    max_file_mb: float = 20.0
    chunk_tokens: int = 250
    chunk_overlap: int = 40
    embed_batch_size: int = 64
    # Processes that extract and chunk files while indexing; 0: one per core but one (none on
    # two cores), 1: read in the indexing process itself (ingest/read_workers.py).
    extract_workers: int = 0
    fusion: str = "zscore"  # zscore | weighted (min-max) | rrf: benchmarks/ranking.py
    rrf_k: int = 60
    bm25_weight: float = 0.5
    dense_weight: float = 0.5
    candidates: int = 100
    record_history: bool = True  # log searches and opens in the database (history/)
    server_autostart: bool = True  # `search` starts `localsearch serve` when none runs
    server_idle_minutes: float = 30.0  # the server exits after this long without a search
    bm25_function_weight: float = 1.0  # weight of "how", "the"... beside content words
    bm25_proximity_boost: float = 0.0  # weight of neighbouring query words found close together
    bm25_proximity_slop: int = 4  # how many positions apart they may stand
    chunk_decay: float = 0.0  # share of a document's next best chunks added to its best
    neighbour_smoothing: float = 0.0  # share of its nearest documents' scores a hit adds
    opening_share: float = 0.2  # share of a document's opening chunk's cosine it adds
    collapse_duplicates: bool = True  # copies of a file are one result (search/duplicates.py)
    # The settings given by a flag, LOCALSEARCH_* or config.toml rather than left at their
    # default: a new mostly-CJK index picks a multilingual model only if "model" is not here.
    chosen: frozenset[str] = frozenset()

    @property
    def database_path(self) -> Path:
        return self.home / "localsearch.db"

    @property
    def lexical_dir(self) -> Path:
        return self.home / "lexical"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def lock_path(self) -> Path:
        return self.home / "index.lock"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


CHOICES: dict[str, tuple[str, ...]] = {
    "device": ("auto", "cpu", "cuda", "mps"),
    "precision": ("auto", "fp32", "bf16"),
    "fusion": ("zscore", "weighted", "rrf"),
}
# (lowest, highest) allowed; None for no bound.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "max_file_mb": (0.001, None),
    "chunk_tokens": (16, 8192),
    "chunk_overlap": (0, 4096),
    "embed_batch_size": (1, 65536),
    "extract_workers": (0, 1024),
    "rrf_k": (1, None),
    "bm25_weight": (0, None),
    "dense_weight": (0, None),
    "candidates": (1, 10000),
    "server_idle_minutes": (0, None),
    "bm25_proximity_boost": (0, None),
    "bm25_proximity_slop": (0, 100),
    "neighbour_smoothing": (0, None),
    "opening_share": (0, None),
}


def _allowed(name: str) -> str:
    if name in CHOICES:
        return "one of " + ", ".join(CHOICES[name])
    if name in _BOOLEANS:
        return "true or false, or 1/0, yes/no, on/off"
    if name == "model":
        return "a model name, folder or Hugging Face id"
    kind = "an integer" if name in _INTEGERS else "a number"
    low, high = RANGES.get(name, (None, None))
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}"
    if low is not None:
        return f"{kind} of at least {low:g}"
    return kind


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


_BOOLEANS = frozenset(f.name for f in fields(Settings) if f.type in ("bool", bool))
_INTEGERS = frozenset(
    {
        "chunk_tokens",
        "chunk_overlap",
        "embed_batch_size",
        "extract_workers",
        "rrf_k",
        "candidates",
        "bm25_proximity_slop",
    }
)


def _coerce(name: str, raw: Any, kind: type) -> Any:
    def invalid() -> UsageError:
        return UsageError(f"invalid value for setting {name!r}: {raw!r} (must be {_allowed(name)})")

    if kind is str:
        if not isinstance(raw, str) or not raw.strip():
            raise invalid()
        value: Any = raw.strip()
        if name in CHOICES and value not in CHOICES[name]:
            raise invalid()
        return value
    if kind in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise invalid()
        try:
            number = float(raw) if kind is float else int(str(raw).strip())
        except ValueError:
            raise invalid() from None
        if not math.isfinite(number):
            raise invalid()
        low, high = RANGES.get(name, (None, None))
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid()
        return number
    try:
        if kind is Path:
            return expand_user(str(raw))
        if kind is bool:
            # A typo must not turn a setting off silently (record_history feeds adapt).
            word = str(raw).strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise invalid()
            return word in TRUE_WORDS
        return kind(raw)
    except (TypeError, ValueError):
        raise invalid() from None


def load_settings(home: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings from overrides, the environment and `<home>/config.toml`."""
    # Absolute, so messages and the resident server name the folder whatever the cwd.
    base = Settings(home=expand_user(home).absolute() if home else default_home())
    # The home, or the nearest folder above it that exists, must be a folder to create it in.
    existing = next((p for p in (base.home, *base.home.parents) if p.exists()), base.home)
    if existing.exists() and not existing.is_dir():
        source = (
            "--home"
            if home
            else "LOCALSEARCH_HOME"
            if os.environ.get("LOCALSEARCH_HOME")
            else "the data folder"
        )
        below = f": {existing} is a file" if existing != base.home else ""
        raise UsageError(
            f"{source} {base.home} is not a folder{below}",
            "point it at a folder (it is created if missing)",
        )
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base) if f.name != "chosen"}
    values: dict[str, Any] = {}
    config_file = base.home / "config.toml"
    if config_file.is_dir():
        raise UsageError(f"cannot read {config_file}: it is a folder")
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read {config_file}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read {config_file}: not UTF-8 text ({exc.reason})") from None
    for name in kinds:
        env = os.environ.get(f"LOCALSEARCH_{name.upper()}")
        if env is not None and name != "home":
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(kinds)
    if unknown:
        raise UsageError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values.pop("home", None)
    settings = replace(
        base,
        chosen=frozenset(values),
        **{k: _coerce(k, v, kinds[k]) for k, v in values.items()},
    )
    if settings.chunk_overlap >= settings.chunk_tokens:
        raise UsageError(
            f"invalid value for setting 'chunk_overlap': {settings.chunk_overlap}"
            f" (must be smaller than chunk_tokens, {settings.chunk_tokens})"
        )
    if settings.bm25_weight == 0 and settings.dense_weight == 0:  # every score would be 0
        raise UsageError(
            f"invalid value for setting 'dense_weight': {settings.dense_weight!r}"
            " (must be above 0 when bm25_weight is 0)"
        )
    return settings


def require_index(settings: Settings) -> None:
    """Raise NoIndexError unless `settings.home` holds an index: a command that reads one must
    not create an empty one, or the next search would hide the hint to run `index`."""
    if not settings.database_path.exists():
        raise NoIndexError(f"no index in {settings.home}", "run `localsearch index PATH` first")
