"""Plain BERT encoders (MiniLM, BGE, E5) run by hand on a CPU: encode()'s vectors, faster.

SentenceTransformer.encode is built for general batches. Under bf16 autocast every weight is
cast again on each call, oneDNN reorders every weight matrix into its blocked layout on each
call, the Transformers forward builds masks and dispatches per layer, and a batch is padded to
its longest text. Here the weights are cast to the encoder's precision once, query/key/value
are fused into one matrix, each matrix is packed for oneDNN once, and the layers run as a dozen
plain tensor operations with no mask:
- one text (a search query) runs unpadded, split by a private copy of the fast tokenizer
  rather than sentence-transformers' batch preprocessing, and attends in fp32 through SDPA's
  fused kernel;
- many texts (indexing) run packed: their tokens end to end in one matrix, so the linear layers
  skip the ~9% of padding a length-sorted batch of chunks carries, and attention runs text by
  text, which on a CPU is also faster than one masked attention over the padded batch.
The operations and their precision follow what encode() does under autocast (linear layers in
the encoder's precision, residuals, softmax and layer norms in fp32), so the vectors are the
same: fp32 to ~1e-6, bf16 to cosine >= 0.9999 (tests/test_plain_bert.py).

Measured on a 2-core dev machine with native bf16 (benchmarks/query_latency.py,
benchmarks/index_speed.py): one ~20-token SciFact query 10.9 ms of CPU through encode(),
3.6-4.4 ms here (idle; 7-11 ms in fp32 on a 2-core host without bf16), and 14%
less since the tokenizer copy and the fused attention (p50 5.5 -> 4.7 ms side by side at load
2); docs chunks (~200 tokens) 27-30 chunks per CPU second through encode(), 42 here (one
thread, bf16). Two thirds of a query's time is the 24 matrix products, which take up to twice
as long inside a query as each alone in a loop: a query streams 21 MB of bf16 weights through
the caches and so evicts everything else (the tokenizer's tables, the interpreter's), which
makes the small steps several times slower than alone too. Tried for a query and not kept
(2026-12-02): oneDNN int8 products, one activation scale per product (cosine to fp32 0.990, no
faster), TorchScript (cannot trace the packed weights), torch.compile (minutes to compile,
no faster per query), 2 MB pages for the weights (no faster).

Only plain BERT models with mean or CLS pooling on a CPU take this path; for anything else
`plain_bert_encoder` returns None and encode() is used. A model folder that proves itself plain
from its files gets the encoder straight from them (embed/bert_folder.py), with no
sentence-transformers loaded at all. The weights are copied when the path is
built, so a model changed in place afterwards needs a new encoder (localsearch loads models
once per process and trains copies, never the loaded one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

PRECISIONS = ("fp32", "bf16")
# Up to this many tokens SDPA's fused kernel is the faster attention for a text; past it, two
# matrix products around an fp32 softmax are (SDPA's CPU kernel tiles for long sequences).
SHORT_TEXT_TOKENS = 64
POOLINGS = ("mean", "cls")
# Texts a private tokenizer copy must split exactly as the model's own call does: edge
# whitespace, accents and emoji, a text past any max_seq_length.
TOKENIZER_PROBES = ("", "  Tidal power, 0-dimensional?  ", "Ünïcödé, emoji 🚀 ok", "word " * 600)
# Texts to their padded "input_ids" and "attention_mask" tensors (a tokeniser call's result).
Tokenize = Callable[[list[str]], Mapping[str, Any]]
# One text to its token ids, unpadded and truncated at the model's max length.
TokenIds = Callable[[str], list[int]]


def plain_bert_encoder(
    model: Any, precision: str, route: str | None = None
) -> PlainBertEncoder | None:
    """The hand-written path for `model` (a loaded SentenceTransformer), or None if it has
    modules, an architecture or a device this path does not reproduce exactly. For a model
    with a Router (a query-side adapted one), `route` says which tower: "query" or "document"."""
    if precision not in PRECISIONS or str(model.device.type) != "cpu":
        return None
    modules = list(model.children())
    if route is not None:
        towers = getattr(modules[0], "sub_modules", None)
        if towers is None or route not in towers:
            return None
        modules = [*towers[route], *modules[1:]]
    pooling = _supported_pooling(modules)
    if pooling is None:
        return None
    transformer = modules[0]
    bert = transformer.auto_model
    # The module's own tokeniser call: `preprocess` since sentence-transformers 6.
    tokenize = getattr(transformer, "preprocess", None) or transformer.tokenize
    return PlainBertEncoder(
        bert.state_dict(),
        heads=int(bert.config.num_attention_heads),
        layer_norm_eps=float(bert.config.layer_norm_eps),
        tokenize=tokenize,
        token_ids=TokenizerCopiedOnSecondText(transformer, tokenize),
        precision=precision,
        pooling=pooling,
    )


def runs_as_plain_bert(config: Mapping[str, Any]) -> bool:
    """Whether a BERT config (config.json's keys) describes the architecture this path runs:
    absolute positions, GELU, an encoder."""
    return (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act", "gelu") == "gelu"
        and not config.get("is_decoder", False)
    )


def _supported_pooling(modules: list[Any]) -> str | None:
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    if len(modules) not in (2, 3) or not isinstance(modules[0], Transformer):
        return None
    if not isinstance(modules[1], Pooling) or (
        len(modules) == 3 and not isinstance(modules[2], Normalize)
    ):
        return None
    config = getattr(getattr(modules[0], "auto_model", None), "config", None)
    if config is None or not runs_as_plain_bert(config.to_dict()):
        return None
    pooling_config = modules[1].get_config_dict()
    pooling = pooling_config.get("pooling_mode")
    if isinstance(pooling, list) and len(pooling) == 1:
        pooling = pooling[0]
    if pooling not in POOLINGS or not pooling_config.get("include_prompt", True):
        return None
    return str(pooling)


class PlainBertEncoder:
    """BERT forward passes over unpadded texts, with weights cast and packed once."""

    def __init__(
        self,
        weights: Mapping[str, Any],
        *,
        heads: int,
        layer_norm_eps: float,
        tokenize: Tokenize,
        token_ids: TokenIds | None = None,
        precision: str,
        pooling: str,
    ) -> None:
        """`weights` are a BertModel's tensors under its own names (its state_dict, or its
        safetensors file: embed/bert_folder.py); `tokenize` turns texts into padded
        "input_ids" and "attention_mask" tensors, truncated at the model's max length;
        `token_ids`, where given, does the same for one text, faster."""
        import torch

        self._tokenize = tokenize
        self._token_ids = token_ids
        self.pooling = pooling
        self.dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        self.heads = heads
        self._eps = layer_norm_eps
        layers = 0
        while f"encoder.layer.{layers}.attention.self.query.weight" in weights:
            layers += 1
        with torch.inference_mode():
            self.word_embeddings = weights["embeddings.word_embeddings.weight"].detach().clone()
            # Every text is one segment: its token type's row is added with each position's.
            self.position_and_type = (
                weights["embeddings.position_embeddings.weight"].detach()
                + weights["embeddings.token_type_embeddings.weight"].detach()[0]
            )
            self.embedding_norm = self._norm(weights, "embeddings.LayerNorm")
            self.layers = [
                self._layer(weights, f"encoder.layer.{index}.") for index in range(layers)
            ]
        self._packed = self._pack()

    def _layer(self, weights: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        import torch

        def tensor(name: str) -> Any:
            return weights[prefix + name]

        # Attention's 1/sqrt(head size) goes into the query projection: no pass over the
        # scores to scale them.
        scale = (tensor("attention.self.query.weight").shape[0] // self.heads) ** -0.5
        qkv_weight = torch.cat(
            [
                tensor("attention.self.query.weight") * scale,
                tensor("attention.self.key.weight"),
                tensor("attention.self.value.weight"),
            ]
        )
        qkv_bias = torch.cat(
            [
                tensor("attention.self.query.bias") * scale,
                tensor("attention.self.key.bias"),
                tensor("attention.self.value.bias"),
            ]
        )
        return {
            "qkv": self._cast(qkv_weight, qkv_bias),
            "attention_out": self._cast(
                tensor("attention.output.dense.weight"), tensor("attention.output.dense.bias")
            ),
            "attention_norm": self._norm(weights, prefix + "attention.output.LayerNorm"),
            "intermediate": self._cast(
                tensor("intermediate.dense.weight"), tensor("intermediate.dense.bias")
            ),
            "output": self._cast(tensor("output.dense.weight"), tensor("output.dense.bias")),
            "output_norm": self._norm(weights, prefix + "output.LayerNorm"),
        }

    def _norm(self, weights: Mapping[str, Any], name: str) -> tuple[Any, Any, float]:
        return (
            weights[f"{name}.weight"].detach().float().clone(),
            weights[f"{name}.bias"].detach().float().clone(),
            self._eps,
        )

    def _cast(self, weight: Any, bias: Any) -> tuple[Any, Any]:
        return (
            weight.detach().to(self.dtype).contiguous().clone(),
            bias.detach().to(self.dtype).clone(),
        )

    def _pack(self) -> bool:
        """Pack every weight matrix into oneDNN's layout once (a fp32 matrix then multiplies
        about 3x faster for a few rows); where oneDNN cannot, the plain matrices stay."""
        import torch

        mkldnn = getattr(torch.ops, "mkldnn", None)
        if not torch.backends.mkldnn.is_available() or mkldnn is None:
            return False
        packed = []
        try:
            for layer in self.layers:
                entry = dict(layer)
                for key in ("qkv", "attention_out", "intermediate", "output"):
                    weight, bias = layer[key]
                    entry[key] = (mkldnn._reorder_linear_weight(weight, 16), bias)
                    # One call proves the packed matrix works on this CPU and build.
                    probe = torch.zeros(2, weight.shape[1], dtype=self.dtype)
                    mkldnn._linear_pointwise(probe, entry[key][0], bias, "none", [], "")
                    if key == "intermediate":
                        mkldnn._linear_pointwise(probe, entry[key][0], bias, "gelu", [], "none")
                packed.append(entry)
        except (RuntimeError, AttributeError):
            return False
        self.layers = packed
        return True

    def _linear(self, inputs: Any, weight_bias: tuple[Any, Any], gelu: bool = False) -> Any:
        """inputs x weight + bias, then the exact (erf) GELU if asked: fused into the product
        where oneDNN packs the weights (GELU alone over a chunk batch costs a third as much
        as the product)."""
        import torch
        import torch.nn.functional as F

        weight, bias = weight_bias
        if self._packed:
            if gelu:
                return torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "gelu", [], "none")
            return torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "none", [], "")
        product = F.linear(inputs, weight, bias)
        return F.gelu(product) if gelu else product

    def encode(self, text: str) -> np.ndarray:
        """The normalised vector of one text (prefixes already applied)."""
        import torch

        with torch.inference_mode():
            if self._token_ids is not None:
                token_ids = torch.tensor(self._token_ids(text))
            else:  # the model's own tokenisation: lower-casing, truncation at max_seq_length
                token_ids = self._tokenize([text])["input_ids"][0]
            count = int(token_ids.shape[0])
            hidden = self._embed(token_ids, self.position_and_type[:count])
            return self._pooled(self._layers(hidden, [(0, count)]), [(0, count)])[0]

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors of `texts` in one packed pass: best with texts of similar length
        (a caller sorts them), since a pass holds all their tokens at once."""
        import torch

        with torch.inference_mode():
            tokens = self._tokenize(list(texts))
            kept = tokens["attention_mask"].bool()
            lengths = kept.sum(dim=1).tolist()
            positions = torch.cat([torch.arange(n) for n in lengths])
            hidden = self._embed(tokens["input_ids"][kept], self.position_and_type[positions])
            ends = np.cumsum(lengths).tolist()
            spans = list(zip([0, *ends[:-1]], ends, strict=True))
            return self._pooled(self._layers(hidden, spans), spans)

    def _embed(self, token_ids: Any, positions_and_type: Any) -> Any:
        import torch.nn.functional as F

        hidden = F.embedding(token_ids, self.word_embeddings) + positions_and_type
        return _layer_norm(hidden, self.embedding_norm)

    def _layers(self, hidden: Any, spans: list[tuple[int, int]]) -> Any:

        for layer in self.layers:
            qkv = self._linear(hidden.to(self.dtype), layer["qkv"])
            attended = self._attend(qkv, spans)
            # A product in bf16 plus the fp32 residual sums in fp32, as under autocast.
            attended = self._linear(attended, layer["attention_out"])
            hidden = _layer_norm(hidden + attended, layer["attention_norm"])
            middle = self._linear(hidden.to(self.dtype), layer["intermediate"], gelu=True)
            output = self._linear(middle, layer["output"])
            hidden = _layer_norm(hidden + output, layer["output_norm"])
        return hidden

    def _pooled(self, hidden: Any, spans: list[tuple[int, int]]) -> np.ndarray:
        import torch

        if self.pooling == "cls":
            pooled = hidden[[start for start, _ in spans]]
        elif len(spans) == 1:
            pooled = hidden.mean(dim=0, keepdim=True)
        else:
            pooled = torch.stack([hidden[start:end].mean(dim=0) for start, end in spans])
        # Normalised in numpy: F.normalize's reduction costs more than the rest of a query's
        # pooling.
        vectors = pooled.numpy().astype(np.float32, copy=False)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _attend(self, qkv: Any, spans: list[tuple[int, int]]) -> Any:
        """Self-attention within each span of the packed (tokens x 3*hidden) projections."""
        import torch

        count, width = qkv.shape
        short = max(end - start for start, end in spans) <= SHORT_TEXT_TOKENS
        if short:
            # Short texts attend in fp32: SDPA's fused kernel is faster in fp32 than in bf16
            # at a few dozen tokens, and closer to the fp32 model.
            qkv = qkv.float()
        # (query/key/value, 1, heads, tokens, head size): SDPA's fused CPU kernel takes 4-d
        # inputs only (3-d ones go through its slower reference path).
        by_head = qkv.view(1, count, 3, self.heads, width // 3 // self.heads).permute(2, 0, 3, 1, 4)
        if len(spans) == 1:
            attended = _attention(*by_head)
        else:
            attended = torch.empty_like(by_head[0])
            for start, end in spans:
                attended[:, :, start:end] = _attention(*by_head[:, :, :, start:end])
        return attended.transpose(1, 2).reshape(count, -1).to(self.dtype)


def _attention(query: Any, key: Any, value: Any) -> Any:
    """Attention of one text, (1 x heads x tokens x head size) each, the query already scaled."""
    import torch
    import torch.nn.functional as F

    if query.shape[-2] <= SHORT_TEXT_TOKENS:
        return F.scaled_dot_product_attention(query, key, value, scale=1.0)  # query is scaled
    weights = torch.softmax(torch.matmul(query, key.transpose(-1, -2)), -1, dtype=torch.float32)
    return torch.matmul(weights.to(value.dtype), value)


def _layer_norm(hidden: Any, norm: tuple[Any, Any, float]) -> Any:
    import torch.nn.functional as F

    weight, bias, eps = norm
    return F.layer_norm(hidden, (hidden.shape[-1],), weight, bias, eps)


class TokenizerCopiedOnSecondText:
    """A loaded model's one-text tokenisation: the model's own call for the first text, a
    private copy of its fast tokenizer (_text_tokenizer) from the second on. The copy takes
    ~25 ms to build, which a process that encodes one query (a CLI search) never earns back."""

    def __init__(self, transformer: Any, tokenize: Tokenize) -> None:
        self._transformer = transformer
        self._tokenize = tokenize
        self._first_text_seen = False
        self._copied = False
        self.copy: TokenIds | None = None

    def __call__(self, text: str) -> list[int]:
        if self._first_text_seen and not self._copied:
            self._copied = True  # tried once: a copy that disagrees stays unused
            self.copy = _text_tokenizer(self._transformer, self._tokenize)
        self._first_text_seen = True
        if self.copy is not None:
            return self.copy(text)
        return [int(token) for token in self._tokenize([text])["input_ids"][0].tolist()]


def _text_tokenizer(transformer: Any, tokenize: Any) -> Callable[[str], list[int]] | None:
    """`text -> token ids` through a private copy of the model's fast tokenizer, set to truncate
    at max_seq_length and never pad: a third of the module's own call for one short text, which
    goes through sentence-transformers' batch preprocessing. None when the model has no fast
    tokenizer or the copy gives other ids than the module's own call on a few probe texts."""
    backend = getattr(getattr(transformer, "tokenizer", None), "backend_tokenizer", None)
    max_length = getattr(transformer, "max_seq_length", None)
    if backend is None or not max_length:
        return None
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(backend.to_str())
        tokenizer.no_padding()
        tokenizer.enable_truncation(int(max_length))

        def token_ids(text: str) -> list[int]:
            return list(tokenizer.encode(text).ids)

        for probe in TOKENIZER_PROBES:
            if token_ids(probe) != tokenize([probe])["input_ids"][0].tolist():
                return None
    except Exception:  # noqa: BLE001 - any failure leaves the module's own tokenisation
        return None
    return token_ids
