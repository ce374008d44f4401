"""A plain BERT folder read from its files (embed/bert_folder.py) encodes as the loaded
SentenceTransformer does, without importing sentence-transformers; anything else falls back."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import encode_reference, errors_alone_and_packed, index_files, search_in_fresh_process

from localsearch.catalog import ResolvedModel
from localsearch.embed.bert_folder import (
    BertFolder,
    folder_tokenizers,
    load_bert_folder,
    read_bert_folder,
)
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

TEXTS = [
    "tidal power",
    "How do I configure the TLS certificate for my reverse proxy?",
    "Ünïcödé, emoji 🚀 and punctuation!?",
    "Crème brûlée, naïve façade, Ångström, İstanbul, straße",
    "東京の天気は晴れです。北京欢迎你。서울 날씨",
    "",
    "   \t\n ",
    "\x00\u200b control\x07 and zero-width",
    "a literal [CLS] and [SEP] in the text",
    "Docutils parses reStructuredText. " * 12,
    "word " * 400,  # past max_seq_length: truncated
    "élan 中文 " * 300,  # past it too, unicode at the cut
]


def test_the_bundled_model_is_read_from_its_files(
    bundled: SentenceTransformerEncoder, folder: BertFolder
) -> None:
    assert bundled.bert_folder == folder
    assert (folder.pooling, folder.max_seq_length, folder.dimension) == ("mean", 256, 384)
    assert bundled.dimension == 384 and bundled.device == "cpu"
    assert not bundled.routed


def test_token_ids_equal_the_models_tokeniser(
    bundled: SentenceTransformerEncoder, folder: BertFolder
) -> None:
    tokenize, token_ids = folder_tokenizers(folder)
    expected = bundled.model[0].preprocess(TEXTS)
    found = tokenize(TEXTS)
    assert found["input_ids"].shape[1] == 256  # the long texts were cut at max_seq_length
    assert found["input_ids"].tolist() == expected["input_ids"].tolist()
    assert found["attention_mask"].tolist() == expected["attention_mask"].tolist()
    for text in TEXTS:  # one text at a time: no padding
        alone = bundled.model[0].preprocess([text])["input_ids"][0].tolist()
        assert tokenize([text])["input_ids"][0].tolist() == alone
        assert token_ids(text) == alone


def test_fp32_vectors_equal_encode(bundled: SentenceTransformerEncoder, folder: BertFolder) -> None:
    light = load_bert_folder(folder, "fp32")
    alone_error, packed_error = errors_alone_and_packed(
        light, TEXTS, encode_reference(bundled, TEXTS)
    )
    assert alone_error < 1e-5
    assert packed_error < 1e-5


def test_bf16_vectors_match_encode_under_autocast(
    bundled: SentenceTransformerEncoder, folder: BertFolder
) -> None:
    import torch

    light = load_bert_folder(folder, "bf16")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = encode_reference(bundled, TEXTS)
    assert (
        float((np.stack([light.encode(t) for t in TEXTS]) * expected).sum(axis=1).min()) >= 0.9999
    )
    assert float((light.encode_many(TEXTS) * expected).sum(axis=1).min()) >= 0.9999


def test_the_encoder_uses_the_light_path_for_queries_and_passages(
    bundled: SentenceTransformerEncoder,
) -> None:
    import torch

    fresh = SentenceTransformerEncoder(bundled.resolved, precision="fp32", batch_size=5)
    queries = fresh.encode_queries(TEXTS[:3])
    one = fresh.encode_queries(TEXTS[:1])
    passages = fresh.encode_passages(TEXTS)
    assert "model" not in fresh.__dict__  # the SentenceTransformer was never loaded
    with torch.autocast("cpu", enabled=False):
        expected = encode_reference(bundled, TEXTS)
    assert float(np.abs(queries - expected[:3]).max()) < 1e-5
    assert float(np.abs(one - expected[:1]).max()) < 1e-5
    assert float(np.abs(passages - expected).max()) < 1e-5


def test_max_seq_length_setting_truncates_the_light_path(
    bundled: SentenceTransformerEncoder,
) -> None:
    short = SentenceTransformerEncoder(bundled.resolved, precision="fp32", max_seq_length=16)
    assert short.bert_folder is not None and short.bert_folder.max_seq_length == 16
    found = short.encode_passages(TEXTS)
    loaded = short.model  # the SentenceTransformer, with the same setting
    assert loaded.max_seq_length == 16
    assert float(np.abs(found - encode_reference(short, TEXTS)).max()) < 1e-5


def copy_of_bundled(bundled: SentenceTransformerEncoder, target: Path) -> Path:
    shutil.copytree(bundled.location, target)
    return target


def edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(changes)
    path.write_text(json.dumps(data))


def test_a_model_saved_by_sentence_transformers_6_takes_the_light_path(
    bundled: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    # What adapt writes for a fully fine-tuned model: the newer config layout.
    bundled.model.save(str(tmp_path / "saved"))
    folder = read_bert_folder(str(tmp_path / "saved"))
    assert folder is not None and folder.max_seq_length == 256
    found = load_bert_folder(folder, "fp32").encode_many(TEXTS)
    assert float(np.abs(found - encode_reference(bundled, TEXTS)).max()) < 1e-5


def test_do_lower_case_tokenises_as_sentence_transformers(
    bundled: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    model = copy_of_bundled(bundled, tmp_path / "lower")
    edit_json(model / "sentence_bert_config.json", do_lower_case=True)
    folder = read_bert_folder(str(model))
    assert folder is not None and folder.lower_case_first
    loaded = SentenceTransformer(str(model), device="cpu", local_files_only=True)
    texts = [*TEXTS, "MiXeD CaSe ÀÉÎ İSTANBUL ΣΊΣΥΦΟΣ"]
    expected = loaded[0].preprocess(texts)["input_ids"].tolist()
    tokenize, token_ids = folder_tokenizers(folder)
    assert tokenize(texts)["input_ids"].tolist() == expected
    one_by_one = [loaded[0].preprocess([text])["input_ids"][0].tolist() for text in texts]
    assert [token_ids(text) for text in texts] == one_by_one


@pytest.mark.parametrize(
    "change",
    [
        "prompt",
        "router_module",
        "bin_only",
        "roberta",
        "fp16_weights",
        "max_pooling",
        "processor_kwargs",
        "tokenizer_disagrees",
    ],
)
def test_anything_else_falls_back_to_sentence_transformers(
    bundled: SentenceTransformerEncoder, tmp_path: Path, change: str
) -> None:
    model = copy_of_bundled(bundled, tmp_path / change)
    assert read_bert_folder(str(model)) is not None  # the untouched copy qualifies
    if change == "prompt":
        edit_json(
            model / "config_sentence_transformers.json",
            prompts={"query": "query: "},
            default_prompt_name="query",
        )
    elif change == "router_module":
        modules = json.loads((model / "modules.json").read_text())
        modules[0]["type"] = "sentence_transformers.base.modules.router.Router"
        (model / "modules.json").write_text(json.dumps(modules))
    elif change == "bin_only":
        (model / "model.safetensors").rename(model / "pytorch_model.bin")
    elif change == "roberta":
        edit_json(model / "config.json", model_type="roberta")
    elif change == "fp16_weights":
        from safetensors.torch import load_file, save_file

        weights = load_file(model / "model.safetensors")
        save_file(
            {k: v.half() if v.is_floating_point() else v for k, v in weights.items()},
            model / "model.safetensors",
        )
    elif change == "max_pooling":
        edit_json(
            model / "1_Pooling" / "config.json",
            pooling_mode_mean_tokens=False,
            pooling_mode_max_tokens=True,
        )
    elif change == "processor_kwargs":
        edit_json(model / "sentence_bert_config.json", processor_kwargs={"model_max_length": 64})
    elif change == "tokenizer_disagrees":
        edit_json(model / "tokenizer_config.json", do_lower_case=False)
    assert read_bert_folder(str(model)) is None
    encoder = SentenceTransformerEncoder(ResolvedModel("copy", str(model)))
    assert encoder.bert_folder is None


def test_other_devices_and_precisions_load_sentence_transformers(
    bundled: SentenceTransformerEncoder,
) -> None:
    for options in ({"precision": "fp16"}, {"device": "cuda"}, {"device": "mps"}):
        assert SentenceTransformerEncoder(bundled.resolved, **options).bert_folder is None


def test_a_two_tower_model_falls_back_and_still_encodes(
    bundled: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    # A query-side adapted model: its query tower's weights differ from the document tower's.
    transformer, *tail = list(bundled.model.children())
    query_tower = copy.deepcopy(transformer)
    with torch.no_grad():
        query_tower.auto_model.embeddings.word_embeddings.weight.mul_(1.5)
    router = Router.for_query_document(
        query_modules=[query_tower], document_modules=[copy.deepcopy(transformer)]
    )
    SentenceTransformer(modules=[router, *tail], device="cpu").save(str(tmp_path / "two"))
    assert read_bert_folder(str(tmp_path / "two")) is None
    encoder = SentenceTransformerEncoder(
        ResolvedModel("two", str(tmp_path / "two")), precision="fp32"
    )
    assert encoder.bert_folder is None and encoder.routed
    passages = encoder.encode_passages(TEXTS[:4])
    queries = encoder.encode_queries(TEXTS[:4])
    expected = encode_reference(bundled, TEXTS[:4])
    assert float(np.abs(passages - expected).max()) < 1e-5  # the document tower is the base
    assert float((queries * expected).sum(axis=1).max()) < 0.999  # the query tower is not


def test_a_cold_search_imports_neither_sentence_transformers_nor_transformers(
    tmp_path: Path,
) -> None:
    docs, home = index_files(
        tmp_path,
        {
            "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
            " electricity.\n",
            "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised"
            " by wild yeast.\n",
        },
    )
    printed = search_in_fresh_process(
        home,
        ["ocean energy from the moon", "--mode", "dense"],
        loaded={"localsearch.embed.numpy_bert"},
        not_loaded={"sentence_transformers", "transformers"},
    )
    assert printed.startswith("1. Tidal power")
