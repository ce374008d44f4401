"""A cold search encodes its one query in numpy (embed/numpy_bert.py), never importing torch,
with the vectors of the torch path; long-lived callers keep the torch path."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import encode_reference, index_files, search_in_fresh_process

from localsearch.config import load_settings
from localsearch.embed import numpy_bert
from localsearch.embed.bert_folder import BertFolder, load_bert_folder
from localsearch.embed.numpy_bert import NumpyBert, _gelu
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder
from localsearch.search.engine import SearchEngine

QUERIES = [
    "tidal power",
    "How do I configure the TLS certificate for my reverse proxy?",
    "Ünïcödé, emoji 🚀, Crème brûlée, İstanbul, straße",
    "東京の天気は晴れです。北京欢迎你。서울 날씨",
    "",
    "word " * 400,  # past max_seq_length: truncated
    "élan 中文 " * 300,  # past it too, unicode at the cut
]
FILES = {
    "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
    " electricity.\n",
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast.\n",
    "bikes.md": "# Bicycle repair\n\nTo fix a puncture, take the inner tube out and patch it.\n",
    "stars.md": "# Stars\n\nA star shines by fusing hydrogen into helium in its core.\n",
    "taxes.md": "# Taxes\n\nFile your return before the deadline to avoid a late penalty.\n",
}


def test_vectors_equal_plain_bert_fp32_and_encode(
    bundled: SentenceTransformerEncoder, folder: BertFolder
) -> None:
    found = np.stack([NumpyBert(folder).encode(text) for text in QUERIES])
    plain = load_bert_folder(folder, "fp32")
    expected = encode_reference(bundled, QUERIES)
    assert found.dtype == np.float32 and found.shape == (len(QUERIES), 384)
    assert float(np.abs(found - np.stack([plain.encode(t) for t in QUERIES])).max()) < 1e-5
    assert float(np.abs(found - expected).max()) < 1e-5
    assert float(np.abs(found[-2] - found[-3]).max()) > 0.1  # two different long texts differ


def test_gelu_follows_the_exact_erf() -> None:
    values = np.linspace(-12, 12, 20001, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in values.tolist()])
    assert _gelu(values).dtype == np.float32
    assert float(np.abs(_gelu(values) - exact).max()) < 1e-6


def test_a_query_is_encoded_on_one_blas_thread(folder: BertFolder, monkeypatch) -> None:
    """BLAS threads waiting on a busy core cost up to a second a query: the products run on
    one thread, and the caller's thread count is back afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {
            library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"
        }

    during: list[set[int]] = []

    def gelu_noting_threads(values: np.ndarray) -> np.ndarray:
        during.append(blas_threads())
        return _gelu(values)

    monkeypatch.setattr(numpy_bert, "_gelu", gelu_noting_threads)
    encoder = NumpyBert(folder)
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        if before == {1}:
            pytest.skip("this machine's BLAS runs one thread whatever it is asked")
        encoder.encode("tidal power")
        after = blas_threads()
    assert len(during) == folder.layers
    assert all(threads == {1} for threads in during)
    assert after == before


def test_encode_query_once_needs_no_torch_encoder(bundled: SentenceTransformerEncoder) -> None:
    fresh = SentenceTransformerEncoder(bundled.resolved, precision="fp32")
    once = fresh.encode_query_once("tidal power")
    assert "plain_bert" not in fresh.__dict__ and "model" not in fresh.__dict__
    assert float(np.abs(once - fresh.encode_queries(["tidal power"])[0]).max()) < 1e-5


def test_a_loaded_torch_encoder_is_used_rather_than_numpy(
    bundled: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = SentenceTransformerEncoder(bundled.resolved, precision="fp32")
    fresh.encode_queries(["warm"])
    monkeypatch.setattr(numpy_bert.NumpyBert, "encode", _never)
    assert fresh.encode_query_once("tidal power").shape == (384,)


def _never(*_: Any) -> None:
    raise AssertionError("numpy path taken")


def test_a_cold_cli_search_imports_no_torch_and_ranks_as_the_warm_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, home = index_files(tmp_path, FILES)
    query = "ocean energy from the moon"
    printed = search_in_fresh_process(
        home,
        [query, "--mode", "dense", "--json"],
        loaded={"localsearch.embed.numpy_bert"},
        not_loaded={"torch", "sentence_transformers", "transformers"},
    )
    cold = [(hit["path"], hit["score"]) for hit in json.loads(printed)["results"]]

    engine = SearchEngine(load_settings(home))
    try:
        engine.warm_up()
        encoder, _ = engine.encoder()
        assert isinstance(encoder, SentenceTransformerEncoder)
        assert "plain_bert" in encoder.__dict__  # warm: the torch encoder
        monkeypatch.setattr(numpy_bert.NumpyBert, "encode", _never)
        warm = [(hit.path, hit.score) for hit in engine.search(query, mode="dense").hits]
    finally:
        engine.close()
    assert "torch" in sys.modules
    assert [path for path, _ in cold] == [path for path, _ in warm]
    assert Path(cold[0][0]).name == "tides.md"
    # The warm path may run in bf16: the scores agree closely, not exactly.
    assert max(abs(a - b) for (_, a), (_, b) in zip(cold, warm, strict=True)) < 0.01
