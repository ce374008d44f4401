"""Many texts through a SentenceTransformer on a GPU, without the GPU waiting on Python.

SentenceTransformer.encode on an H200 (2026-12-04, benchmarks/gpu_index.py) ran MiniLM at
about 1,000 docs chunks a second with the GPU busy 4% of the time: the forward pass of 1,024
chunks takes 37 ms there, but the tokenizer call that feeds it turns the fast tokenizer's
output into tensors through Transformers' Python list flattening, which took three quarters of
encode()'s time. Here a private copy of the model's fast tokenizer pads and truncates in Rust
(on all cores, outside the GIL), its ids go to torch through numpy, and the next batch is
tokenised on a worker thread while the device runs the last one. The model's own forward pass
does the rest, so the vectors are encode()'s (tests/test_device_batches.py).

Only for a model this reproduces exactly: a fast tokenizer whose copy gives the model's own
ids, masks and token types on probe texts, no default prompt, no query/document router.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

# A batch the model's own tokeniser call must split and pad exactly as the copy does: edge
# whitespace, accents and emoji, an empty text, a text past any max_seq_length.
PROBES = ("", "  Tidal power, 0-dimensional?  ", "Ünïcödé, emoji 🚀 ok", "word " * 600)
# The tokenizer's output names to the names the model's forward pass takes them by.
FEATURES = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


class DeviceBatchEncoder:
    """encode()'s normalised vectors for many texts, in batches of `batch_size`."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        names: Sequence[str],
        extra: Mapping[str, Any],
        batch_size: int,
    ) -> None:
        """`tokenizer` is a `tokenizers.Tokenizer` set to truncate and pad as the model's own
        call; `names` are the tensors that call gives (of FEATURES), `extra` its other entries
        (sentence-transformers 6 names the modality)."""
        self.model = model
        self.tokenizer = tokenizer
        self.names = list(names)
        self.extra = dict(extra)
        self.batch_size = batch_size

    def encode(
        self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Call under the caller's inference mode and autocast, as encode() would be."""
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        if not texts:
            return vectors
        # Longest first, as encode() orders them: each batch pads to texts of about one length.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if len(batches) == 1:  # a query, say: nothing to overlap, and a thread costs its start
            first = batches[0]
            return self._encoded(
                self._features([texts[i] for i in first]), first, vectors, on_progress
            )
        with ThreadPoolExecutor(max_workers=1) as worker:
            pending = worker.submit(self._features, [texts[i] for i in batches[0]])
            for number, batch in enumerate(batches):
                features = pending.result()
                if number + 1 < len(batches):
                    following = [texts[i] for i in batches[number + 1]]
                    pending = worker.submit(self._features, following)
                vectors = self._encoded(features, batch, vectors, on_progress)
        return vectors

    def _encoded(
        self,
        features: dict[str, Any],
        batch: list[int],
        vectors: np.ndarray,
        on_progress: Callable[[int], None] | None,
    ) -> np.ndarray:
        """`vectors` with the rows of `batch` filled in (made once the width is known)."""
        import torch

        embedded = self.model(features)["sentence_embedding"]
        embedded = torch.nn.functional.normalize(embedded.float(), p=2, dim=1)
        batch_vectors = embedded.cpu().numpy()
        if vectors.shape[1] == 0:
            vectors = np.empty((vectors.shape[0], batch_vectors.shape[1]), dtype=np.float32)
        vectors[batch] = batch_vectors
        if on_progress:
            on_progress(len(batch))
        return vectors

    def _features(self, texts: list[str]) -> dict[str, Any]:
        import torch

        encodings = self.tokenizer.encode_batch(texts)
        device = self.model.device
        features: dict[str, Any] = {
            name: torch.from_numpy(
                np.array([getattr(e, FEATURES[name]) for e in encodings], dtype=np.int64)
            ).to(device, non_blocking=True)
            for name in self.names
        }
        features.update(self.extra)
        return features


def device_batch_encoder(model: Any, batch_size: int) -> DeviceBatchEncoder | None:
    """The encoder for `model` (a loaded SentenceTransformer), or None where its own tokeniser
    call cannot be reproduced exactly (then encode() is used)."""
    transformer: Any = next(iter(model.children()), None)
    if type(transformer).__name__ != "Transformer" or getattr(model, "default_prompt_name", None):
        return None
    hf_tokenizer: Any = getattr(transformer, "tokenizer", None)
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    max_length = getattr(transformer, "max_seq_length", None)
    if backend is None or not max_length or getattr(hf_tokenizer, "pad_token", None) is None:
        return None
    tokenize = getattr(transformer, "preprocess", None) or transformer.tokenize
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(backend.to_str())
        tokenizer.enable_truncation(int(max_length))
        tokenizer.enable_padding(
            direction=str(getattr(hf_tokenizer, "padding_side", "right")),
            pad_id=int(hf_tokenizer.pad_token_id),
            pad_type_id=int(getattr(hf_tokenizer, "pad_token_type_id", 0) or 0),
            pad_token=str(hf_tokenizer.pad_token),
        )
        own = tokenize(list(PROBES))
        tensors = {name for name, value in own.items() if hasattr(value, "shape")}
        if not tensors or not tensors <= set(FEATURES):
            return None
        encoder = DeviceBatchEncoder(
            model,
            tokenizer,
            [name for name in FEATURES if name in tensors],
            {name: value for name, value in own.items() if name not in tensors},
            batch_size,
        )
        copied = encoder._features(list(PROBES))
        for name in tensors:
            if not np.array_equal(copied[name].cpu().numpy(), own[name].cpu().numpy()):
                return None
    except Exception:  # noqa: BLE001 - any failure leaves encode(), which is always right
        return None
    return encoder
