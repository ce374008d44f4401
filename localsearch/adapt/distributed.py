"""`adapt` under `torchrun` / `accelerate launch`: train on every process, do the rest once.

A launcher starts the same `localsearch adapt` command once per GPU (or CPU process), with RANK
and WORLD_SIZE in the environment. Only rank 0 touches the index: it takes the writer lock,
generates and mines pairs, and after training runs the gate and writes the database. The other
ranks never open the index (on other machines there may be none); they wait for rank 0's one
message, which is either the training job (the pairs and options) or "nothing to train", train
their share of every batch through the trainer's DistributedDataParallel, and exit.

Rank 0 sends exactly one message in every outcome (the `coordinating` context sends "nothing"
when it leaves without having sent the job, error or not), so no rank waits for ever. After
training the ranks compare a digest of their weights and refuse to save a model they disagree
on; rank 0 alone saves it. Without a launcher (WORLD_SIZE unset or 1) nothing here does anything.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from localsearch.errors import RanksDisagreeError

# Rank 0 may mine for a long time before it sends the job; the other ranks wait that long.
WAIT_FOR_RANK_ZERO = timedelta(hours=12)


@dataclass(frozen=True)
class TrainingJob:
    """What every rank needs to train its share: the base model, the pairs and the options."""

    base_location: str
    examples: Sequence[Any]  # TrainingExample rows
    options: Any  # TrainingOptions


@dataclass
class _Coordinator:
    sent: bool = False


_coordinator: _Coordinator | None = None


def world_size() -> int:
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def launched() -> bool:
    """Whether a launcher started this process as one of several."""
    return world_size() > 1


def is_main_process() -> bool:
    return rank() == 0


def rank_device(device: str) -> str:
    """Each rank trains on its own GPU of the machine it runs on."""
    if launched() and device == "cuda":
        return f"cuda:{local_rank()}"
    return device


def ensure_process_group() -> None:
    """Join the launcher's process group (gloo on CPUs, NCCL on GPUs) if not joined yet."""
    if not launched():
        return
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    use_nccl = torch.cuda.is_available() and os.environ.get("LOCALSEARCH_DIST_BACKEND") != "gloo"
    if use_nccl:
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if use_nccl else "gloo", timeout=WAIT_FOR_RANK_ZERO)


def _collective_device() -> Any:
    import torch
    import torch.distributed as dist

    return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")


def _broadcast(message: Any) -> Any:
    import torch.distributed as dist

    box = [message]
    dist.broadcast_object_list(box, src=0, device=_collective_device())
    return box[0]


@contextmanager
def coordinating() -> Iterator[None]:
    """On rank 0 of a launched run: whatever happens inside, the other ranks hear once."""
    global _coordinator
    if not launched():
        yield
        return
    ensure_process_group()
    _coordinator = _Coordinator()
    try:
        yield
    finally:
        coordinator, _coordinator = _coordinator, None
        if not coordinator.sent:
            _broadcast(None)  # nothing to train: the waiting ranks exit
        leave_process_group()


def share_training_job(job: TrainingJob) -> None:
    """Rank 0: send the job, once, to the ranks waiting in `receive_training_job`."""
    if _coordinator is None or _coordinator.sent:
        return
    _coordinator.sent = True
    _broadcast(job)


def receive_training_job() -> TrainingJob | None:
    """Ranks above 0: wait for rank 0's job; None when it has nothing to train."""
    ensure_process_group()
    job = _broadcast(None)
    return job if isinstance(job, TrainingJob) else None


def any_rank(flag: bool) -> bool:
    """Whether any rank says yes: a time budget stops every rank at the same step."""
    if not launched():
        return flag
    import torch
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0], device=_collective_device())
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def weights_digest(model: Any) -> str:
    """A SHA-256 of every parameter and buffer, in name order, as float32 bytes."""
    digest = hashlib.sha256()
    state = model.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(tensor.float().numpy().tobytes() if tensor.is_floating_point() else b"")
    return digest.hexdigest()


def agreed_weights_digest(model: Any) -> str:
    """The digest all ranks share; RanksDisagreeError if any rank ended elsewhere."""
    mine = weights_digest(model)
    if not launched():
        return mine
    import torch.distributed as dist

    everyone: list[Any] = [None] * world_size()
    dist.all_gather_object(everyone, mine)
    if len(set(everyone)) != 1:
        raise RanksDisagreeError(
            f"the {world_size()} training processes ended with different weights",
            "nothing was saved; run adapt again (check every rank has the same base model)",
        )
    return mine


def leave_process_group() -> None:
    if not launched():
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
