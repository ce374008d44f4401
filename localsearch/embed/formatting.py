"""How a model wants its text: query and passage prefixes, and how token vectors are pooled.

E5 models were trained on "query: …" and "passage: …", BGE on an instruction before queries
only; fed bare text they rank worse. The catalogue says what each model wants and this is the
one place that applies it, for indexing, search and any other route to an encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POOLINGS = ("mean", "cls", "max", "lasttoken")


@dataclass(frozen=True)
class TextFormat:
    query_prefix: str = ""
    passage_prefix: str = ""
    # None: whatever the model folder's sentence-transformers config says (mean without one).
    pooling: str | None = None

    def queries(self, texts: Sequence[str]) -> list[str]:
        return [self.query_prefix + text for text in texts]

    def passages(self, texts: Sequence[str]) -> list[str]:
        return [self.passage_prefix + text for text in texts]
