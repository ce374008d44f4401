"""Queries from a seq2seq doc2query model (the BeIR query-gen T5 models used by GenQ and GPL).

Nucleus sampling (top-p 0.95) gives varied, question-like queries; several per passage. The
model is loaded with transformers from a local folder only (pulled with `models pull`, or any
folder the user names), on the best device, and run in length-sorted batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from localsearch.catalog import ensure_offline
from localsearch.errors import ModelError

INPUT_TOKENS = 384


@dataclass
class Seq2SeqQueryGenerator:
    location: str
    device: str = "auto"
    queries_per_passage: int = 3
    max_length: int = 64
    top_p: float = 0.95
    batch_size: int = 16
    seed: int = 13

    @cached_property
    def _model(self) -> tuple[Any, Any, str]:
        ensure_offline()
        try:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            from localsearch.embed.sentence_transformer import pick_device

            device = pick_device(self.device)
            tokenizer = AutoTokenizer.from_pretrained(self.location, local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(self.location, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - loaders raise anything; the user needs one line
            raise ModelError(
                f"cannot load the query generator from {self.location}: {exc}".splitlines()[0]
            ) from None
        model.to(device)
        model.eval()
        return tokenizer, model, device

    def generate(self, passages: Sequence[str]) -> list[list[str]]:
        """`queries_per_passage` distinct queries per passage (fewer if sampling repeats)."""
        import torch

        tokenizer, model, device = self._model
        results: list[list[str]] = [[] for _ in passages]
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        generator_seed = torch.Generator().manual_seed(self.seed)
        for start in range(0, len(order), self.batch_size):
            picked = order[start : start + self.batch_size]
            inputs = tokenizer(
                [passages[i] for i in picked],
                max_length=INPUT_TOKENS,
                truncation=True,
                padding=True,
                return_tensors="pt",
            ).to(device)
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator_seed)))
            with torch.inference_mode():
                outputs = model.generate(
                    **inputs,
                    max_length=self.max_length,
                    do_sample=True,
                    top_p=self.top_p,
                    top_k=None,
                    num_return_sequences=self.queries_per_passage,
                )
            texts = tokenizer.batch_decode(outputs, skip_special_tokens=True)
            for j, i in enumerate(picked):
                mine = texts[j * self.queries_per_passage : (j + 1) * self.queries_per_passage]
                results[i] = list(dict.fromkeys(t.strip() for t in mine if t.strip()))
        return results
