"""One search query through a BERT encoder by hand: encode()'s vector in about half the time.

SentenceTransformer.encode is built for batches. For one query of a dozen tokens its general
path costs more than the arithmetic: under bf16 autocast every weight is cast again on each
call, oneDNN reorders every weight matrix into its blocked layout on each call, and the
Transformers forward builds masks and dispatches per layer. Here the weights are cast to the
encoder's precision once, query/key/value are fused into one matrix, each matrix is packed for
oneDNN once, and the layers run as a dozen plain tensor operations with no padding and no mask.
The operations and their precision follow what encode() does under autocast (linear layers in
the encoder's precision, residuals and layer norms in fp32), so the vector is the same: fp32
to ~1e-7, bf16 to cosine >= 0.9999 (tests/test_single_query.py).

Measured on the 2-core dev machine (CPU time per query, one thread, SciFact queries of ~20
tokens, bf16; benchmarks/query_latency.py): encode() 10.9 ms, this path 4.4 ms.

Only plain BERT models (MiniLM, BGE, E5) with mean or CLS pooling on a CPU take this path;
for anything else `single_query_encoder` returns None and encode() is used. The weights are
copied when the path is built, so a model changed in place afterwards needs a new encoder
(localsearch loads models once per process and trains copies, never the loaded one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PRECISIONS = ("fp32", "bf16")
POOLINGS = ("mean", "cls")


def single_query_encoder(model: Any, precision: str) -> SingleQueryEncoder | None:
    """The hand-written path for `model` (a loaded SentenceTransformer), or None if it has
    modules, an architecture or a device this path does not reproduce exactly."""
    pooling = _supported_pooling(model, precision)
    if pooling is None:
        return None
    return SingleQueryEncoder(model, precision, pooling)


def _supported_pooling(model: Any, precision: str) -> str | None:
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    if precision not in PRECISIONS or str(model.device.type) != "cpu":
        return None
    modules = list(model.children())
    if len(modules) not in (2, 3) or not isinstance(modules[0], Transformer):
        return None
    if not isinstance(modules[1], Pooling) or (
        len(modules) == 3 and not isinstance(modules[2], Normalize)
    ):
        return None
    config = getattr(getattr(modules[0], "auto_model", None), "config", None)
    if (
        config is None
        or config.model_type != "bert"
        or getattr(config, "position_embedding_type", "absolute") != "absolute"
        or config.hidden_act != "gelu"
        or getattr(config, "is_decoder", False)
    ):
        return None
    pooling_config = modules[1].get_config_dict()
    pooling = pooling_config.get("pooling_mode")
    if isinstance(pooling, list) and len(pooling) == 1:
        pooling = pooling[0]
    if pooling not in POOLINGS or not pooling_config.get("include_prompt", True):
        return None
    return str(pooling)


class SingleQueryEncoder:
    """A BERT forward pass for one unpadded text, with weights cast and packed once."""

    def __init__(self, model: Any, precision: str, pooling: str) -> None:
        import torch

        # The model's own tokeniser call: `preprocess` since sentence-transformers 6.
        self._tokenize = getattr(model, "preprocess", None) or model.tokenize
        self.pooling = pooling
        self.dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        bert = model[0].auto_model
        self.heads = int(bert.config.num_attention_heads)
        embeddings = bert.embeddings
        with torch.inference_mode():
            self.word_embeddings = embeddings.word_embeddings.weight.detach().clone()
            self.position_embeddings = embeddings.position_embeddings.weight.detach().clone()
            self.token_type_embedding = embeddings.token_type_embeddings.weight.detach()[0].clone()
            self.embedding_norm = _norm(embeddings.LayerNorm)
            self.layers = [self._layer(layer) for layer in bert.encoder.layer]
        self._packed = self._pack()

    def _layer(self, layer: Any) -> dict[str, Any]:
        import torch

        attention = layer.attention.self
        qkv_weight = torch.cat(
            [attention.query.weight, attention.key.weight, attention.value.weight]
        )
        qkv_bias = torch.cat([attention.query.bias, attention.key.bias, attention.value.bias])
        return {
            "qkv": self._cast(qkv_weight, qkv_bias),
            "attention_out": self._cast(
                layer.attention.output.dense.weight, layer.attention.output.dense.bias
            ),
            "attention_norm": _norm(layer.attention.output.LayerNorm),
            "intermediate": self._cast(
                layer.intermediate.dense.weight, layer.intermediate.dense.bias
            ),
            "output": self._cast(layer.output.dense.weight, layer.output.dense.bias),
            "output_norm": _norm(layer.output.LayerNorm),
        }

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
                packed.append(entry)
        except (RuntimeError, AttributeError):
            return False
        self.layers = packed
        return True

    def _linear(self, inputs: Any, weight_bias: tuple[Any, Any]) -> Any:
        import torch
        import torch.nn.functional as F

        weight, bias = weight_bias
        if self._packed:
            return torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "none", [], "")
        return F.linear(inputs, weight, bias)

    def encode(self, text: str) -> np.ndarray:
        """The normalised vector of `text` (prefixes already applied), as encode() gives it."""
        import torch
        import torch.nn.functional as F

        with torch.inference_mode():
            # The model's own tokenisation (lower-casing, truncation at max_seq_length).
            token_ids = self._tokenize([text])["input_ids"][0]
            count = int(token_ids.shape[0])
            hidden = (
                self.word_embeddings[token_ids]
                + self.position_embeddings[:count]
                + self.token_type_embedding
            )
            hidden = _layer_norm(hidden, self.embedding_norm)
            head_size = hidden.shape[-1] // self.heads
            for layer in self.layers:
                qkv = self._linear(hidden.to(self.dtype), layer["qkv"])
                query, key, value = qkv.view(count, 3, self.heads, head_size).permute(1, 2, 0, 3)
                attended = F.scaled_dot_product_attention(
                    query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
                )
                attended = attended[0].transpose(0, 1).reshape(count, -1)
                attended = self._linear(attended, layer["attention_out"]).float()
                hidden = _layer_norm(attended + hidden, layer["attention_norm"])
                middle = F.gelu(self._linear(hidden.to(self.dtype), layer["intermediate"]))
                output = self._linear(middle, layer["output"]).float()
                hidden = _layer_norm(output + hidden, layer["output_norm"])
            pooled = hidden[0] if self.pooling == "cls" else hidden.mean(dim=0)
            pooled = F.normalize(pooled, dim=0)
        return pooled.numpy().astype(np.float32, copy=False)


def _norm(layer_norm: Any) -> tuple[Any, Any, float]:
    return (
        layer_norm.weight.detach().float().clone(),
        layer_norm.bias.detach().float().clone(),
        float(layer_norm.eps),
    )


def _layer_norm(hidden: Any, norm: tuple[Any, Any, float]) -> Any:
    import torch.nn.functional as F

    weight, bias, eps = norm
    return F.layer_norm(hidden, (hidden.shape[-1],), weight, bias, eps)
