"""`index --device cuda` fills the GPU: the batch size fitted to a given free-memory figure; a
device this torch cannot use is a one-line error before any work."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from helpers import run_cli

from localsearch.catalog import ResolvedModel
from localsearch.embed import gpu_batch
from localsearch.embed.gpu_batch import MAX_GPU_BATCH, fitted_batch_size
from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

GIB = 2**30
NO_CUDA = "device 'cuda' is not available: this torch (T) is built without CUDA"
MINILM = dict(max_seq_length=256, hidden=384, heads=12, bytes_per_value=2)


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        (0, 64),  # nothing free: the configured batch
        (GIB, 64),  # 113 texts fit: the power of two below is 64
        (2 * GIB, 128),  # 227 fit
        (8 * GIB, 512),  # 910 fit
        (139 * GIB, MAX_GPU_BATCH),  # an H200: capped
    ],
)
def test_batch_is_the_largest_power_of_two_that_fits(free: int, expected: int) -> None:
    assert fitted_batch_size(free, configured=64, **MINILM) == expected


def test_longer_texts_and_fp32_fit_fewer() -> None:
    short = fitted_batch_size(8 * GIB, configured=1, **MINILM)
    assert fitted_batch_size(8 * GIB, configured=1, **{**MINILM, "max_seq_length": 512}) < short
    assert fitted_batch_size(8 * GIB, configured=1, **{**MINILM, "bytes_per_value": 4}) < short


def fake_encoder(device: str) -> SentenceTransformerEncoder:
    encoder = SentenceTransformerEncoder(
        ResolvedModel("fake", "/nowhere"), device=device, precision="bf16", batch_size=64
    )
    config = SimpleNamespace(hidden_size=384, num_attention_heads=12)
    model = [SimpleNamespace(auto_model=SimpleNamespace(config=config))]
    encoder.__dict__["model"] = _FakeModel(model, device)
    return encoder


class _FakeModel(list):  # type: ignore[type-arg]
    def __init__(self, modules: list, device: str) -> None:  # type: ignore[type-arg]
        super().__init__(modules)
        self.device = SimpleNamespace(type=device)
        self.max_seq_length = 256


def test_encoder_on_cuda_fits_its_batch_to_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    monkeypatch.setattr(gpu_batch, "free_gpu_bytes", lambda device: asked.append(1) or 2 * GIB)
    encoder = fake_encoder("cuda")
    assert encoder.device_batch_size == 128
    assert encoder.device_batch_size == 128 and len(asked) == 1  # asked once
    assert fake_encoder("cpu").device_batch_size == 64


def test_unknown_free_memory_keeps_the_configured_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_batch, "free_gpu_bytes", lambda device: None)
    assert fake_encoder("cuda").device_batch_size == 64


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("index --device cuda", NO_CUDA),
        ("index --device mps", "device 'mps' is not available on this machine"),
        ("adapt --device cuda", NO_CUDA),
    ],
)
def test_a_device_this_torch_lacks_is_one_line_before_any_work(
    tmp_path, capsys, monkeypatch: pytest.MonkeyPatch, command: str, error: str
) -> None:
    import torch

    # As on a CPU-only build, whatever this machine has.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    (docs / "a.md").write_text("# Bees\n\nA hive has one queen.\n", encoding="utf-8")
    args = [*command.split(), *([str(docs)] if command.startswith("index") else []), "-q"]
    code, out, err = run_cli([*args, "--home", str(home)], capsys)
    expected = error.replace("(T)", f"({torch.__version__})")
    assert (code, out) == (2, "")
    assert err == f"Error: {expected} — use --device auto or cpu, or change the `device` setting\n"
    # Nothing was done first: index's text phase would have made the database.
    assert not (home / "localsearch.db").exists()
