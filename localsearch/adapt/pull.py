"""`localsearch models pull`: the one place the application uses the network, on request.

Generators and rerankers are too big to ship, so the user pulls them once into the data
directory; indexing, search and adapt then find them there offline. The download goes to a
`.partial` folder first and is renamed when complete, so an interrupted pull never leaves a
half model where `resolve_model` would pick it up (and a second pull resumes it).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from localsearch.catalog import find_entry, offline_set_by_user, package_model_dir, pulled_dir
from localsearch.config import expand_user
from localsearch.errors import MissingDependencyError, ModelError, ReadOnlyDataError, UsageError
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress

# Weights in other frameworks' formats: never needed here, often as big as the model itself.
IGNORED_FILES = [
    "*.h5",
    "*.msgpack",
    "*.ot",
    "*.tflite",
    "*.onnx",
    "onnx/*",
    "openvino/*",
    "coreml/*",
    "*.mlmodel",
    "*.gguf",
]


@dataclass(frozen=True)
class PulledModel:
    name: str
    repo_id: str
    location: Path
    bytes: int
    seconds: float
    already_present: bool


def pull_target(name: str) -> tuple[str, str]:
    """(catalogue name or the id itself, Hugging Face repo id) for a name the user typed."""
    entry = find_entry(name)
    if entry is not None and entry.source.startswith("package:"):
        if package_model_dir(entry.source) is None:
            raise UsageError(f"{entry.name} is installed with pip, not pulled", entry.install_hint)
        raise UsageError(f"{entry.name} ships with localsearch; there is nothing to pull")
    if entry is not None and entry.repo_id:
        return entry.name, entry.repo_id
    if name.count("/") != 1 or name.startswith("/") or expand_user(name).exists():
        raise UsageError(
            f"unknown model {name!r}",
            "give a name from `localsearch models` or a Hugging Face id such as ORG/NAME",
        )
    return name, name


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextmanager
def _online_hub() -> Iterator[Any]:
    """huggingface_hub with offline mode lifted for this call only: the user asked for it."""
    if importlib.util.find_spec("huggingface_hub") is None:
        raise MissingDependencyError(
            "pulling models needs huggingface_hub", "pip install 'localsearch[pull]'"
        )
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({k: "0" for k in saved})
    import huggingface_hub
    from huggingface_hub import constants

    was_offline = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield huggingface_hub
    finally:
        constants.HF_HUB_OFFLINE = was_offline
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def require_writable(models_dir: Path) -> None:
    """Say that a read-only data folder cannot take a model before "Downloading", not with
    "Read-only file system (…/models)" after it."""
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise ReadOnlyDataError.of(models_dir.parent) from None


def pull_model(
    name: str, models_dir: Path, *, progress: ProgressCallback = ignore_progress
) -> PulledModel:
    """Download a catalogue model (or any Hugging Face repo id) into `models_dir/pulled/`."""
    display, repo_id = pull_target(name)
    target = pulled_dir(models_dir, repo_id)
    if target.is_dir() and any(target.iterdir()):
        return PulledModel(display, repo_id, target, _folder_bytes(target), 0.0, True)
    if (variable := offline_set_by_user()) is not None:
        raise UsageError(
            f"{variable}={os.environ[variable]} is set, so `models pull` stays offline",
            f"unset {variable} to download {repo_id}, or copy the model folder to {target}",
        )
    staging = target.with_name(target.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    progress(ProgressEvent("pull", 0, None, repo_id))
    try:
        with _online_hub() as hub:
            _download(hub, repo_id, staging, target)
    except BaseException:
        # Keep what was fetched, for the next pull to resume; an empty folder is only litter.
        if not any(p.is_file() for p in staging.rglob("*") if ".cache" not in p.parts):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    size = _folder_bytes(target)
    progress(ProgressEvent("pull", 1, 1, repo_id))
    return PulledModel(display, repo_id, target, size, time.monotonic() - started, False)


def _download(hub: Any, repo_id: str, staging: Path, target: Path) -> None:
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    endpoint = os.environ.get("HF_ENDPOINT") or None
    unreachable = ModelError(
        f"cannot download {repo_id}: the Hugging Face Hub cannot be reached",
        "connect to the internet and run `localsearch models pull` again, or copy the model"
        f" folder to {target}",
    )
    if not _reachable(endpoint or "https://huggingface.co"):
        raise unreachable
    hub.utils.logging.set_verbosity_error()  # no "Retrying in 8s" lines on the terminal
    try:
        files = _files_to_fetch(hub, repo_id, endpoint)
        hub.snapshot_download(
            repo_id,
            local_dir=str(staging),
            allow_patterns=files,
            ignore_patterns=IGNORED_FILES,
            endpoint=endpoint,
        )
    except (RepositoryNotFoundError, GatedRepoError):
        raise ModelError(
            f"{repo_id} is not a public repository on the Hugging Face Hub",
            "check the name with `localsearch models`",
        ) from None
    except (LocalEntryNotFoundError, OSError) as exc:
        raise unreachable from exc
    except Exception as exc:  # noqa: BLE001 - httpx/requests errors differ between versions
        if "connect" in type(exc).__name__.lower() or "timeout" in type(exc).__name__.lower():
            raise unreachable from exc
        raise


def _reachable(endpoint: str, timeout: float = 5.0) -> bool:
    """A quick TCP connect, so that no network fails in seconds rather than after retries."""
    parsed = urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _files_to_fetch(hub: Any, repo_id: str, endpoint: str | None) -> list[str] | None:
    """Only one copy of the weights: safetensors when the repo has them, else pytorch .bin."""
    try:
        files = hub.HfApi(endpoint=endpoint).list_repo_files(repo_id)
    except Exception:  # noqa: BLE001 - let snapshot_download report the real problem
        return None
    has_safetensors = any(f.endswith(".safetensors") for f in files)
    return [f for f in files if not (has_safetensors and f.endswith(".bin"))]
