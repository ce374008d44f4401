"""A batch size that fills a GPU for `index --device cuda`, from the memory it has free.

On a CPU the configured batch (64) is right: bigger batches only pad more. On a GPU throughput
grows with the batch until memory runs out, so the encoder asks for the free memory once and
takes the largest power of two whose activations fit in half of it, never less than configured
and never more than MAX_GPU_BATCH (past which only padding grows). A separate module so the
arithmetic can be tested without a GPU, on a given memory figure.
"""

from __future__ import annotations

MAX_GPU_BATCH = 1024
MEMORY_SHARE = 0.5  # of the free memory: the rest is for the allocator's slack and other users


def activation_bytes_per_text(
    max_seq_length: int, hidden: int, heads: int, bytes_per_value: int
) -> int:
    """Peak inference memory of one text through a BERT-like layer: the hidden states, the
    4x-wide feed-forward and the attention scores (heads x length x length)."""
    per_token = 8 * hidden + 2 * heads * max_seq_length
    return bytes_per_value * max_seq_length * per_token


def fitted_batch_size(
    free_bytes: int,
    *,
    configured: int,
    max_seq_length: int,
    hidden: int,
    heads: int,
    bytes_per_value: int,
) -> int:
    """The largest power of two of texts whose activations fit in MEMORY_SHARE of `free_bytes`,
    between `configured` and MAX_GPU_BATCH."""
    per_text = activation_bytes_per_text(max_seq_length, hidden, heads, bytes_per_value)
    fits = int(free_bytes * MEMORY_SHARE) // max(1, per_text)
    batch = 1
    while batch * 2 <= min(fits, MAX_GPU_BATCH):
        batch *= 2
    return max(configured, batch)


def free_gpu_bytes(device: str) -> int | None:
    """Free memory on a CUDA device, or None when it cannot be asked."""
    try:
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    except (ImportError, RuntimeError, ValueError, AssertionError):
        return None
