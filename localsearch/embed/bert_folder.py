"""A plain BERT sentence-transformers folder read from its own files, so a CPU search needs
neither sentence-transformers nor transformers.

Importing sentence-transformers takes seconds (it pulls transformers' model code, sklearn,
scipy and datasets) and dominated a cold `localsearch search`. For a folder whose files
describe one BERT tower (MiniLM, BGE, E5) with mean or CLS pooling, plain_bert.py already runs
the forward pass itself; this module gives it what loading the SentenceTransformer would: the
weights from model.safetensors, the tokeniser from tokenizer.json (the `tokenizers` library,
truncating at the model's max length) and the pooling from the module configs.

`read_bert_folder` returns None for anything it cannot prove is encoded exactly as
sentence-transformers encodes it (another module list, a Router, prompts, a processor or model
argument, another architecture, non-fp32 weights, a `.bin` checkpoint, a tokeniser whose config
and tokenizer.json disagree); the caller then loads the SentenceTransformer as before.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localsearch.embed.plain_bert import (
    POOLINGS,
    PlainBertEncoder,
    TokenIds,
    Tokenize,
    runs_as_plain_bert,
)

WEIGHTS_FILE = "model.safetensors"
# What sentence-transformers 6 writes into sentence_bert_config.json for a plain text model.
TRANSFORMER_DEFAULTS: dict[str, Any] = {
    "transformer_task": "feature-extraction",
    "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
    "module_output_name": "token_embeddings",
}
LOADER_ARGUMENTS = (
    "model_args",
    "tokenizer_args",
    "config_args",
    "model_kwargs",
    "processor_kwargs",
    "config_kwargs",
)
LEGACY_POOLING_MODES = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
POOLING_KEYS = {"word_embedding_dimension", "embedding_dimension", "pooling_mode", "include_prompt"}
# Keys of config_sentence_transformers.json that change nothing about encode()'s vectors.
HARMLESS_MODEL_KEYS = {"__version__", "model_type", "similarity_fn_name"}
# The tensors each BERT layer has, under BertModel's names.
LAYER_TENSORS = tuple(
    f"{part}.{kind}"
    for part in (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "attention.output.LayerNorm",
        "intermediate.dense",
        "output.dense",
        "output.LayerNorm",
    )
    for kind in ("weight", "bias")
)
EMBEDDING_TENSORS = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)
# Transformers builds a BERT tokeniser's normaliser from tokenizer_config.json and these defaults.
BERT_TOKENIZER_DEFAULTS = {"do_lower_case": True, "tokenize_chinese_chars": True}


@dataclass(frozen=True)
class BertFolder:
    """What a plain BERT model folder says about how its texts are encoded."""

    location: Path
    config: dict[str, Any]  # config.json
    pooling: str
    max_seq_length: int
    weight_prefix: str  # "" or "bert.": where BertModel's tensors sit in model.safetensors
    lower_case_first: bool  # sentence-transformers' do_lower_case over a non-lowercasing normaliser

    @property
    def dimension(self) -> int:
        return int(self.config["hidden_size"])

    @property
    def heads(self) -> int:
        return int(self.config["num_attention_heads"])

    @property
    def layers(self) -> int:
        return int(self.config["num_hidden_layers"])

    @property
    def layer_norm_eps(self) -> float:
        return float(self.config.get("layer_norm_eps", 1e-12))


def folder_weights(
    folder: BertFolder, load_file: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """BertModel's tensors from model.safetensors under BertModel's own names, read by
    `load_file` (safetensors' torch or numpy reader)."""
    stored = load_file(folder.location / WEIGHTS_FILE)
    prefix = folder.weight_prefix
    return {name[len(prefix) :]: array for name, array in stored.items() if name.startswith(prefix)}


def read_bert_folder(location: str, max_seq_length: int | None = None) -> BertFolder | None:
    """The folder's description if plain_bert reproduces the model exactly from its files
    (`max_seq_length` overrides the model's own, as the encoder's setting does), else None."""
    try:
        return _read(Path(location), max_seq_length)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error):
        return None  # unreadable or of an unknown shape: sentence-transformers decides, and reports


def load_bert_folder(folder: BertFolder, precision: str) -> PlainBertEncoder:
    """The hand-run encoder for `folder`, in `precision` ("fp32" or "bf16")."""
    from safetensors.torch import load_file

    tokenize, token_ids = folder_tokenizers(folder)
    return PlainBertEncoder(
        folder_weights(folder, load_file),
        heads=folder.heads,
        layer_norm_eps=folder.layer_norm_eps,
        tokenize=tokenize,
        token_ids=token_ids,
        precision=precision,
        pooling=folder.pooling,
    )


def folder_tokenizers(folder: BertFolder) -> tuple[Tokenize, TokenIds]:
    """tokenizer.json as transformers' tokeniser runs it for sentence-transformers, truncated
    at the model's max length: for many texts (padded to the longest of them) and for one."""
    from tokenizers import Tokenizer, normalizers

    tokenizer = Tokenizer.from_file(str(folder.location / "tokenizer.json"))
    if folder.lower_case_first:
        # What sentence-transformers does for do_lower_case when the normaliser does not lowercase.
        tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase(), tokenizer.normalizer])
    tokenizer.enable_truncation(folder.max_seq_length, strategy="longest_first")
    padding = tokenizer.padding or {}
    tokenizer.enable_padding(
        pad_id=int(padding.get("pad_id", 0)),
        pad_token=str(padding.get("pad_token", "[PAD]")),
        pad_type_id=int(padding.get("pad_type_id", 0)),
    )

    def tokenize(texts: list[str]) -> dict[str, Any]:
        import torch

        encodings = tokenizer.encode_batch(texts)
        return {
            "input_ids": torch.tensor([encoding.ids for encoding in encodings]),
            "attention_mask": torch.tensor([encoding.attention_mask for encoding in encodings]),
        }

    def token_ids(text: str) -> list[int]:
        return list(tokenizer.encode(text).ids)  # one text: padded to itself, so not at all

    return tokenize, token_ids


def _read(folder: Path, max_seq_length: int | None) -> BertFolder | None:
    modules = _json(folder / "modules.json")
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    if any(
        not module["type"].startswith("sentence_transformers.")
        or set(module) - {"idx", "name", "path", "type"}
        for module in modules
    ):
        return None
    if modules[0].get("path", "") != "":
        return None
    config = _json(folder / "config.json")
    if not _plain_bert_config(config):
        return None
    pooling = _pooling(_json(folder / modules[1]["path"] / "config.json"), config["hidden_size"])
    settings = _transformer_settings(folder)
    if pooling is None or settings is None or not _no_prompts(folder):
        return None
    tokenizer_config = _json(folder / "tokenizer_config.json")
    if not _consistent_bert_tokenizer(folder, tokenizer_config):
        return None
    # sentence-transformers puts a Lowercase before any normaliser that is not one itself.
    lower_case_first = bool(settings.get("do_lower_case"))
    length = _max_seq_length(settings, tokenizer_config, config, max_seq_length)
    prefix = _weight_prefix(folder, int(config["num_hidden_layers"]))
    if length is None or prefix is None:
        return None
    return BertFolder(folder, config, pooling, length, prefix, lower_case_first)


def _json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _plain_bert_config(config: dict[str, Any]) -> bool:
    """The architecture plain_bert.py runs, and no cross-attention weights besides."""
    return (
        runs_as_plain_bert(config)
        and not config.get("add_cross_attention", False)
        and int(config["hidden_size"]) % int(config["num_attention_heads"]) == 0
    )


def _pooling(pooling_config: dict[str, Any], hidden_size: int) -> str | None:
    if set(pooling_config) - POOLING_KEYS - set(LEGACY_POOLING_MODES):
        return None
    if not pooling_config.get("include_prompt", True):
        return None
    dimension = pooling_config.get(
        "embedding_dimension", pooling_config.get("word_embedding_dimension", hidden_size)
    )
    if dimension != hidden_size:
        return None
    if "pooling_mode" in pooling_config:
        mode = pooling_config["pooling_mode"]
        if isinstance(mode, list) and len(mode) == 1:
            mode = mode[0]
    else:
        modes = [name for key, name in LEGACY_POOLING_MODES.items() if pooling_config.get(key)]
        mode = modes[0] if len(modes) == 1 else None
    return mode if mode in POOLINGS else None


def _transformer_settings(folder: Path) -> dict[str, Any] | None:
    """sentence_bert_config.json, if it only sets the max length and lower-casing."""
    path = folder / "sentence_bert_config.json"
    settings = _json(path) if path.is_file() else {}
    for key, value in settings.items():
        if key == "max_seq_length":
            if value is not None and not isinstance(value, int):
                return None
        elif key == "do_lower_case":
            if not isinstance(value, bool):
                return None
        elif key in TRANSFORMER_DEFAULTS:
            if value != TRANSFORMER_DEFAULTS[key]:
                return None
        elif key not in LOADER_ARGUMENTS or value:
            return None
    return dict(settings)


def _no_prompts(folder: Path) -> bool:
    """No prompt that encode() could prepend, and nothing else the model config changes."""
    path = folder / "config_sentence_transformers.json"
    if not path.is_file():
        return True
    model_config = _json(path)
    for key, value in model_config.items():
        if key == "prompts":
            if any(value.values()):
                return False
        elif key == "default_prompt_name":
            if value is not None:
                return False
        elif key == "model_type":
            if value != "SentenceTransformer":
                return False
        elif key not in HARMLESS_MODEL_KEYS:
            return False
    return True


def _consistent_bert_tokenizer(folder: Path, tokenizer_config: dict[str, Any]) -> bool:
    """Whether tokenizer.json is the BERT tokeniser transformers builds from
    tokenizer_config.json (transformers 5 rebuilds its normaliser from there; 4 reads the
    file): then both agree, and so does this module, which reads the file."""
    if tokenizer_config.get("tokenizer_class") not in ("BertTokenizer", "BertTokenizerFast"):
        return False
    tokenizer_json = _json(folder / "tokenizer.json")
    normalizer = tokenizer_json.get("normalizer") or {}
    model = tokenizer_json.get("model") or {}
    pre_tokenizer = tokenizer_json.get("pre_tokenizer") or {}
    settings = {**BERT_TOKENIZER_DEFAULTS, **tokenizer_config}
    if (
        normalizer.get("type") != "BertNormalizer"
        or not normalizer.get("clean_text", True)
        or normalizer.get("lowercase") != settings["do_lower_case"]
        or normalizer.get("strip_accents") != settings.get("strip_accents")
        or normalizer.get("handle_chinese_chars") != settings["tokenize_chinese_chars"]
        or pre_tokenizer.get("type") != "BertPreTokenizer"
        or model.get("type") != "WordPiece"
        or model.get("continuing_subword_prefix", "##") != "##"
        or model.get("max_input_chars_per_word", 100) != 100
        or model.get("unk_token") != settings.get("unk_token", "[UNK]")
        or (tokenizer_json.get("post_processor") or {}).get("type")
        not in ("TemplateProcessing", "BertProcessing")
    ):
        return False
    return True


def _max_seq_length(
    settings: dict[str, Any],
    tokenizer_config: dict[str, Any],
    config: dict[str, Any],
    override: int | None,
) -> int | None:
    """Where sentence-transformers truncates: its config's max_seq_length, else the tokeniser's
    model_max_length capped at the position embeddings."""
    positions = int(config["max_position_embeddings"])
    if override:
        length = override
    elif settings.get("max_seq_length") is not None:
        length = int(settings["max_seq_length"])
    else:
        length = min(int(tokenizer_config.get("model_max_length", positions)), positions)
    return length if 0 < length <= positions else None


def _weight_prefix(folder: Path, layers: int) -> str | None:
    """Where BertModel's tensors sit in model.safetensors ("" or "bert."), if all are there
    in fp32 (the header alone is read)."""
    with (folder / WEIGHTS_FILE).open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    names = list(EMBEDDING_TENSORS) + [
        f"encoder.layer.{index}.{name}" for index in range(layers) for name in LAYER_TENSORS
    ]
    for prefix in ("", "bert."):
        if all(prefix + name in header for name in names):
            if any(header[prefix + name]["dtype"] != "F32" for name in names):
                return None
            if f"{prefix}encoder.layer.{layers}.attention.self.query.weight" in header:
                return None  # more layers than config.json says
            return prefix
    return None
