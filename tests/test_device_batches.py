"""Off the CPU, texts are tokenised by a private copy of the fast tokenizer and fed to the model
batch after batch (embed/device_batches.py): the vectors must be encode()'s, in the caller's
order, and a model whose tokenisation cannot be reproduced must keep encode()."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from helpers import encode_reference

from localsearch.embed.device_batches import DeviceBatchEncoder, device_batch_encoder
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

# Lengths mixed so batches are sorted apart from the caller's order; an empty text; a text past
# max_seq_length; a duplicate.
TEXTS = [
    "Docutils parses reStructuredText. " * 12,
    "",
    "tidal power",
    "word " * 600,
    "Ünïcödé, emoji 🚀 and punctuation!?",
    "A directive is an explicit markup construct: its name, arguments and content. " * 4,
    "tidal power",
]


@pytest.mark.parametrize("batch_size", [3, 64])  # several batches; one, with no worker thread
def test_vectors_are_encodes_in_the_callers_order(
    bundled: SentenceTransformerEncoder, batch_size: int
) -> None:
    import torch

    encoder = device_batch_encoder(bundled.model, batch_size=batch_size)
    assert encoder is not None
    assert encoder.names == ["input_ids", "attention_mask", "token_type_ids"]
    with torch.inference_mode():
        vectors = encoder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert np.abs(vectors - encode_reference(bundled, TEXTS)).max() < 1e-5
    assert encoder.encode([]).shape == (0, 0)


def test_progress_counts_every_text(bundled: SentenceTransformerEncoder) -> None:
    import torch

    encoder = device_batch_encoder(bundled.model, batch_size=2)
    assert encoder is not None
    seen: list[int] = []
    with torch.inference_mode():
        encoder.encode(TEXTS, seen.append)
    assert seen == [2, 2, 2, 1]


def test_a_model_with_a_default_prompt_keeps_encode(bundled: SentenceTransformerEncoder) -> None:
    model = copy.copy(bundled.model)
    model.default_prompt_name = "query"
    assert device_batch_encoder(model, batch_size=8) is None


def test_a_tokenizer_copy_that_disagrees_keeps_encode(
    bundled: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model's own call cuts texts short where the copy does not: the long probe differs.
    transformer = bundled.model[0]
    real = transformer.preprocess
    monkeypatch.setattr(
        transformer,
        "preprocess",
        lambda texts, *args, **kwargs: real([t[:50] for t in texts], *args, **kwargs),
    )
    assert device_batch_encoder(bundled.model, batch_size=8) is None


def test_passages_off_the_cpu_take_the_device_path(
    bundled: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[int] = []
    encode = DeviceBatchEncoder.encode

    def spied(self: DeviceBatchEncoder, texts: list[str], on_progress: object = None):
        used.append(len(texts))
        return encode(self, texts, on_progress)  # type: ignore[arg-type]

    monkeypatch.setattr(DeviceBatchEncoder, "encode", spied)
    monkeypatch.setattr(SentenceTransformerEncoder, "device", property(lambda self: "mps"))
    encoder = copy.copy(bundled)
    encoder.__dict__.update(plain_bert=None, precision="fp32")
    encoder.__dict__.pop("device_batches", None)
    vectors = encoder.encode_passages(TEXTS)
    assert used == [len(TEXTS)]
    assert np.abs(vectors - encode_reference(bundled, TEXTS)).max() < 1e-5
