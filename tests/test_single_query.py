"""One query through the hand-written BERT path gives the vector encode() gives for it."""

from __future__ import annotations

import numpy as np
import pytest

from localsearch.config import load_settings
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder, load_encoder
from localsearch.embed.single_query import single_query_encoder

QUERIES = [
    "tidal power",
    "How do I configure the TLS certificate for my reverse proxy?",
    "0-dimensional biomaterials show inductive properties.",
    "Ünïcödé, emoji 🚀 and punctuation!?",
    "word " * 400,  # past max_seq_length: truncated as encode() truncates
]


@pytest.fixture(scope="module")
def bundled() -> SentenceTransformerEncoder:
    encoder = load_encoder("all-MiniLM-L6-v2", load_settings().models_dir)
    assert isinstance(encoder, SentenceTransformerEncoder)
    return encoder


def test_single_query_matches_the_batch_path(bundled: SentenceTransformerEncoder) -> None:
    assert bundled.single_query is not None
    alone = np.stack([bundled.encode_queries([query])[0] for query in QUERIES])
    # Several texts go through SentenceTransformer.encode, as indexing's passages do.
    batched = bundled.encode_queries(QUERIES)
    assert alone.dtype == np.float32
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert float((alone * batched).sum(axis=1).min()) >= 0.9999


def test_single_query_in_fp32_equals_encode(bundled: SentenceTransformerEncoder) -> None:
    import torch

    fp32 = single_query_encoder(bundled.model, "fp32")
    assert fp32 is not None
    with torch.inference_mode():
        expected = bundled.model.encode(QUERIES, normalize_embeddings=True, convert_to_numpy=True)
    found = np.stack([fp32.encode(query) for query in QUERIES])
    assert float(np.abs(found - expected).max()) < 1e-5


def test_other_precisions_use_encode(bundled: SentenceTransformerEncoder) -> None:
    assert single_query_encoder(bundled.model, "fp16") is None
