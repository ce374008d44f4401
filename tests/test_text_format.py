"""The catalogue's query/passage formatting and pooling, applied by the real loading code to a
tiny randomly initialised model built here (no weights are downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localsearch.catalog import CatalogEntry, ResolvedModel, find_entry, load_catalog
from localsearch.embed.formatting import TextFormat
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder
from localsearch.errors import ModelError

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", "passage", ":", "hello"]
VOCABULARY += ["world", "tidal", "power", "bread", "水", "力"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 16-wide BERT with a WordPiece vocabulary, saved as a bare transformers folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocabulary = {word: number for number, word in enumerate(VOCABULARY)}
    BertTokenizer(vocab=vocabulary).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(folder)
    return folder


def reference_vector(folder: Path, text: str, pooling: str) -> np.ndarray:
    """What the model gives for `text`, pooled by hand."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    inputs = tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**inputs).last_hidden_state[0]
    vector = hidden[0] if pooling == "cls" else hidden.mean(dim=0)
    vector = vector / vector.norm()
    return vector.numpy()


def encoder_for(folder: Path, **entry: str) -> SentenceTransformerEncoder:
    catalogued = CatalogEntry(name="tiny", role="embedder", source=str(folder), **entry)  # type: ignore[arg-type]
    resolved = ResolvedModel("tiny", str(folder), catalogued)
    return SentenceTransformerEncoder(resolved, device="cpu", precision="fp32")


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_encoder_applies_prefixes_and_pooling(tiny_model: Path, pooling: str) -> None:
    encoder = encoder_for(
        tiny_model, pooling=pooling, query_prefix="query: ", passage_prefix="passage: "
    )
    query = encoder.encode_queries(["hello world"])[0]
    passage = encoder.encode_passages(["hello world"])[0]
    assert encoder.plain_bert is not None  # queries and passages take embed/plain_bert.py
    assert np.allclose(
        query, reference_vector(tiny_model, "query: hello world", pooling), atol=1e-5
    )
    assert np.allclose(
        passage, reference_vector(tiny_model, "passage: hello world", pooling), atol=1e-5
    )
    assert not np.allclose(query, passage, atol=1e-5)


def test_pooling_changes_the_vector(tiny_model: Path) -> None:
    cls = encoder_for(tiny_model, pooling="cls").encode_passages(["tidal power"])[0]
    mean = encoder_for(tiny_model, pooling="mean").encode_passages(["tidal power"])[0]
    assert not np.allclose(cls, mean, atol=1e-3)


def test_text_format_prefixes() -> None:
    text_format = TextFormat(query_prefix="query: ", passage_prefix="passage: ")
    assert text_format.queries(["a", "b"]) == ["query: a", "query: b"]
    assert text_format.passages(["a"]) == ["passage: a"]
    assert TextFormat().queries(["a"]) == ["a"]


def test_catalogue_describes_multilingual_models() -> None:
    e5 = find_entry("multilingual-e5-small")
    assert e5 is not None and e5.multilingual
    assert e5.text_format == TextFormat("query: ", "passage: ", "mean")
    minilm = find_entry("paraphrase-multilingual-MiniLM-L12-v2")
    assert minilm is not None and minilm.multilingual and minilm.repo_id
    bundled = next(entry for entry in load_catalog() if entry.default)
    assert not bundled.multilingual


def test_unknown_pooling_in_the_catalogue_is_an_error() -> None:
    with pytest.raises(ModelError, match="unknown pooling 'sum'"):
        CatalogEntry(name="x", role="embedder", source="hub:x/y", pooling="sum")
