"""Texts through the hand-run BERT path give the vectors SentenceTransformer.encode gives."""

from __future__ import annotations

import copy

import numpy as np
from helpers import encode_reference, errors_alone_and_packed

from localsearch.embed.plain_bert import (
    TokenizerCopiedOnSecondText,
    _text_tokenizer,
    plain_bert_encoder,
)
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

QUERIES = [
    "tidal power",
    "How do I configure the TLS certificate for my reverse proxy?",
    "0-dimensional biomaterials show inductive properties.",
    "Ünïcödé, emoji 🚀 and punctuation!?",
    "word " * 400,  # past max_seq_length: truncated as encode() truncates
]
# Passages of very different lengths, so a packed pass holds short and long texts together.
PASSAGES = [
    *QUERIES,
    "",
    "Docutils parses reStructuredText. " * 12,
    "A directive is an explicit markup construct: its name, arguments, options and content. " * 4,
]


def test_one_query_matches_the_batch_path(bundled: SentenceTransformerEncoder) -> None:
    assert bundled.plain_bert is not None
    alone = np.stack([bundled.encode_queries([query])[0] for query in QUERIES])
    batched = bundled.encode_queries(QUERIES)
    assert alone.dtype == np.float32
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert float((alone * batched).sum(axis=1).min()) >= 0.9999


def test_fp32_equals_encode_one_text_and_packed(bundled: SentenceTransformerEncoder) -> None:
    fp32 = plain_bert_encoder(bundled.model, "fp32")
    assert fp32 is not None
    alone_error, packed_error = errors_alone_and_packed(
        fp32, PASSAGES, encode_reference(bundled, PASSAGES)
    )
    assert alone_error < 1e-5
    assert packed_error < 1e-5


def test_one_text_in_bf16_matches_encode_under_autocast(
    bundled: SentenceTransformerEncoder,
) -> None:
    import torch

    plain = plain_bert_encoder(bundled.model, "bf16")
    assert plain is not None
    found = np.stack([plain.encode(text) for text in PASSAGES])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = encode_reference(bundled, PASSAGES)
    assert float((found * expected).sum(axis=1).min()) >= 0.9999


def test_one_text_is_split_by_a_private_tokenizer_that_agrees_with_the_model(
    bundled: SentenceTransformerEncoder,
) -> None:
    transformer = next(iter(bundled.model.children()))
    token_ids = _text_tokenizer(transformer, transformer.preprocess)
    assert token_ids is not None
    for text in [*PASSAGES, " \t padded  ", "CamelCase and löwer-case"]:
        assert token_ids(text) == transformer.preprocess([text])["input_ids"][0].tolist()
    # A tokenizer the copy does not reproduce leaves the model's own call in place.
    assert _text_tokenizer(transformer, lambda texts: {"input_ids": [np.array([101])]}) is None

    # The copy is built on an encoder's second text, and the vectors do not change with it.
    plain = plain_bert_encoder(bundled.model, "fp32")
    assert plain is not None
    tokenizer = plain._token_ids
    assert isinstance(tokenizer, TokenizerCopiedOnSecondText)
    first = plain.encode(QUERIES[2])
    assert tokenizer.copy is None  # a process that encodes one query never builds it
    second = plain.encode(QUERIES[2])
    assert tokenizer.copy is not None
    assert float(np.abs(first - second).max()) < 1e-6


def test_a_short_text_attends_through_the_fused_kernel(bundled: SentenceTransformerEncoder) -> None:
    from torch.profiler import profile

    plain = plain_bert_encoder(bundled.model, "bf16")
    assert plain is not None
    # SDPA takes its fused CPU kernel for 4-d inputs only; 3-d ones run its slower reference
    # path, op by op.
    with profile() as profiled:
        plain.encode(QUERIES[1])
    names = {event.name for event in profiled.events()}
    assert "aten::_scaled_dot_product_flash_attention_for_cpu" in names
    assert "aten::_scaled_dot_product_attention_math" not in names


def test_passages_keep_their_order_through_length_sorted_passes(
    bundled: SentenceTransformerEncoder,
) -> None:
    import torch

    # Batches of three over eight texts of mixed lengths: sorting must not mix up the rows.
    original = bundled.batch_size
    bundled.batch_size = 3
    try:
        found = bundled.encode_passages(PASSAGES)
    finally:
        bundled.batch_size = original
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bundled.precision == "bf16"):
        expected = encode_reference(bundled, PASSAGES)
    assert float((found * expected).sum(axis=1).min()) >= 0.9999


def test_other_precisions_use_encode(bundled: SentenceTransformerEncoder) -> None:
    assert plain_bert_encoder(bundled.model, "fp16") is None


def test_each_tower_of_a_two_tower_model_takes_the_hand_run_path(
    bundled: SentenceTransformerEncoder,
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    # A query-side adapted model: a Router over two copies of the bundled model's modules.
    transformer, *tail = list(bundled.model.children())
    router = Router.for_query_document(
        query_modules=[copy.deepcopy(transformer)], document_modules=[transformer]
    )
    two_towers = SentenceTransformer(modules=[router, *tail], device="cpu")
    for route in ("query", "document"):
        tower = plain_bert_encoder(two_towers, "fp32", route)
        assert tower is not None
        found = tower.encode_many(PASSAGES)
        expected = encode_reference(bundled, PASSAGES)
        assert float(np.abs(found - expected).max()) < 1e-5
    assert plain_bert_encoder(two_towers, "fp32") is None  # a Router is no Transformer
