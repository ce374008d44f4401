"""precision = "auto" picks bf16 only on a CPU that multiplies bf16 natively."""

from __future__ import annotations

import platform

import pytest
import torch

from localsearch.embed.sentence_transformer import cpu_has_bf16, pick_precision


def pretend_cpu(
    monkeypatch: pytest.MonkeyPatch, machine: str, *, avx512_bf16: bool, amx: bool, onednn: bool
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn)


@pytest.mark.parametrize(
    ("machine", "avx512_bf16", "amx", "onednn", "expected"),
    [
        # Plain AVX-512 (Ice Lake, Skylake): oneDNN emulates bf16 and says yes; fp32 is faster.
        ("x86_64", False, False, True, "fp32"),
        ("x86_64", True, False, True, "bf16"),  # Cooper Lake, Zen 4
        ("x86_64", False, True, True, "bf16"),  # AMX without the AVX-512 flag's check
        ("AMD64", False, False, True, "fp32"),
        ("aarch64", False, False, True, "bf16"),  # Arm: oneDNN's check is the CPU's BF16
        ("aarch64", False, False, False, "fp32"),
    ],
)
def test_auto_precision_follows_native_bf16(
    monkeypatch: pytest.MonkeyPatch,
    machine: str,
    avx512_bf16: bool,
    amx: bool,
    onednn: bool,
    expected: str,
) -> None:
    pretend_cpu(monkeypatch, machine, avx512_bf16=avx512_bf16, amx=amx, onednn=onednn)
    assert cpu_has_bf16() is (expected == "bf16")
    assert pick_precision("cpu") == expected


def test_an_asked_precision_and_other_devices_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_cpu(monkeypatch, "x86_64", avx512_bf16=False, amx=False, onednn=True)
    assert pick_precision("cpu", "bf16") == "bf16"
    assert pick_precision("cuda") == "fp16"
    assert pick_precision("mps") == "fp32"


def test_a_torch_without_the_checks_means_fp32_on_x86(monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_cpu(monkeypatch, "x86_64", avx512_bf16=True, amx=True, onednn=True)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert pick_precision("cpu") == "fp32"
