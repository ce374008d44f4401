"""A stand-in encoder that says it runs on cuda, so the GPU's paths run here on the CPU."""

from __future__ import annotations

import threading

import numpy as np


class GpuLike:
    """Vectors from a hash of each text, after `delay` seconds; it logs when each call starts
    and ends, so the tests can see what ran beside what."""

    name = location = "stand-in"
    dimension = 8
    fingerprint = "stand-in"

    def __init__(self, log: list[str], *, device: str = "cuda", delay: float = 0.2) -> None:
        self.log, self.device, self.delay = log, device, delay
        self.batch_size, self.device_batch_size = 2, 2
        self.calls: list[list[str]] = []
        self.fail_on_call: int | None = None

    def encode_passages(self, texts, on_progress=None):
        call = len(self.calls)
        self.calls.append(list(texts))
        self.log.append(f"encode {call} starts")
        threading.Event().wait(self.delay)
        if call == self.fail_on_call:
            raise RuntimeError("CUDA out of memory")
        self.log.append(f"encode {call} ends")
        if on_progress:
            on_progress(len(texts))
        return np.stack([vector_of(t) for t in texts])

    def encode_queries(self, texts):
        return np.stack([vector_of(t) for t in texts])


def vector_of(text: str) -> np.ndarray:
    vector = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(8)
    return (vector / np.linalg.norm(vector)).astype(np.float32)
