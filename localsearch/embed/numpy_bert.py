"""One query through a plain BERT folder in numpy, for a process that encodes nothing else.

A cold `localsearch search` encodes a single query, and importing torch was most of its time
(~1.9 s of ~2.3 s). For a folder that embed/bert_folder.py proves plain, this runs the same
forward pass as plain_bert.py in fp32 numpy: weights from `safetensors.numpy`, the folder's own
tokeniser, no torch. Long-lived callers keep the torch path, which is faster per query once
imported.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np

from localsearch.embed.bert_folder import BertFolder, folder_tokenizers, folder_weights

# Abramowitz and Stegun 7.1.26: erf to within 1.5e-7, numpy having no erf of its own.
ERF_P = 0.3275911
ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class NumpyBert:
    """The normalised vector of one text, as PlainBertEncoder would give it in fp32."""

    def __init__(self, folder: BertFolder) -> None:
        from safetensors.numpy import load_file

        self._weights = folder_weights(folder, load_file)
        self._heads = folder.heads
        self._layers = folder.layers
        self._eps = folder.layer_norm_eps
        self.pooling = folder.pooling
        _, self._token_ids = folder_tokenizers(folder)

    def encode(self, text: str) -> np.ndarray:
        with _one_blas_thread():
            return self._encode(text)

    def _encode(self, text: str) -> np.ndarray:
        weights = self._weights
        ids = np.asarray(self._token_ids(text), dtype=np.int64)
        hidden = (
            weights["embeddings.word_embeddings.weight"][ids]
            + weights["embeddings.position_embeddings.weight"][: len(ids)]
            + weights["embeddings.token_type_embeddings.weight"][0]  # every text is one segment
        )
        hidden = self._norm(hidden, "embeddings.LayerNorm")
        for index in range(self._layers):
            hidden = self._layer(hidden, f"encoder.layer.{index}.")
        pooled = hidden[0] if self.pooling == "cls" else hidden.mean(axis=0)
        pooled = pooled.astype(np.float32)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def _layer(self, hidden: np.ndarray, prefix: str) -> np.ndarray:
        count, width = hidden.shape
        size = width // self._heads

        def by_head(name: str) -> np.ndarray:  # (heads, tokens, head size)
            projected = self._linear(hidden, prefix + f"attention.self.{name}")
            return projected.reshape(count, self._heads, size).transpose(1, 0, 2)

        query, key, value = by_head("query"), by_head("key"), by_head("value")
        scores = query @ key.transpose(0, 2, 1) * np.float32(size**-0.5)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attended = (scores @ value).transpose(1, 0, 2).reshape(count, width)
        attended = self._linear(attended, prefix + "attention.output.dense")
        hidden = self._norm(hidden + attended, prefix + "attention.output.LayerNorm")
        middle = _gelu(self._linear(hidden, prefix + "intermediate.dense"))
        output = self._linear(middle, prefix + "output.dense")
        return self._norm(hidden + output, prefix + "output.LayerNorm")

    def _linear(self, inputs: np.ndarray, name: str) -> np.ndarray:
        weight, bias = self._weights[name + ".weight"], self._weights[name + ".bias"]
        result: np.ndarray = inputs @ weight.T + bias
        return result

    def _norm(self, hidden: np.ndarray, name: str) -> np.ndarray:
        centred = hidden - hidden.mean(axis=-1, keepdims=True)
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        normed = centred / np.sqrt(variance + np.float32(self._eps))
        weight, bias = self._weights[name + ".weight"], self._weights[name + ".bias"]
        result: np.ndarray = normed * weight + bias
        return result


def _gelu(values: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT uses, with erf from ERF_A in float64."""
    scaled = values.astype(np.float64) / np.sqrt(2.0)
    magnitude = np.abs(scaled)
    t = 1.0 / (1.0 + ERF_P * magnitude)
    a1, a2, a3, a4, a5 = ERF_A
    polynomial = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
    erf = np.copysign(1.0 - polynomial * np.exp(-magnitude * magnitude), scaled)
    return (0.5 * values * (1.0 + erf)).astype(np.float32)


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread: a query's products are too small to share, and on a busy machine
    its threads wait on each other at every product (measured with OpenBLAS at load 3.6 on 2
    cores: ~1 s a query on two threads, 10 ms on one). Finding the loaded libraries takes ~8 ms,
    paid by a process that encodes one query this way."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
