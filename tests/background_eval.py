"""The suite's big indexes, built in two child processes while the rest of the suite runs:
the SciFact evaluation in one, the known-answer corpus samples one after the other in another.

Indexing SciFact's 9.5k chunks is over a third of the suite's CPU, the known-answer corpus
samples a tenth. conftest.py starts these children when the session begins (under
pytest-xdist, its controller does, once for all workers) and runs the tests that need them last.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

MODES = ("bm25", "dense", "hybrid")
MALLOC_KEEPS_FREED_MEMORY = (
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
)


def start_job(folder: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """This file run as a child with `arguments`, in `folder` (new), a scratch folder it may
    write to; whoever starts it kills it when the session ends (BackgroundJob.close)."""
    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    # glibc hands each freed encoder activation back to the kernel and faults it in again
    # for the next batch; keeping freed memory cut SciFact's page faults and system time.
    env.setdefault("GLIBC_TUNABLES", MALLOC_KEEPS_FREED_MEMORY)
    # Once it takes every core, an OpenMP thread that spins for a partner descheduled by other
    # work costs more than it gains: two threads took 6 times one's CPU and 3 times its wall at
    # load 4; waiting passively, one's CPU and half its wall. Idle, passive threads took 7.3 s
    # where spinning ones took 5.5 and one thread 9.2 (benchmarks/thread_wait.py).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with (folder / LOG).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, __file__, str(folder), *arguments],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    (folder / PID).write_text(str(process.pid), encoding="utf-8")
    return process


class BackgroundJob:
    """A job start_job() began in `folder`: in this process (`process`), or for pytest-xdist's
    workers in its controller, so that one child serves every worker; they wait on its files."""

    def __init__(self, folder: Path, process: subprocess.Popen[bytes] | None = None) -> None:
        self.folder = folder
        self.process = process

    def wait(self) -> None:
        # The suite now waits on this child: let it have every core. Until the child says it
        # listens, SIGUSR1 would kill it.
        pid = int((self.folder / PID).read_text(encoding="utf-8"))
        signalled = False
        while not (self.folder / DONE).exists():
            if not self._running(pid):
                log = (self.folder / LOG).read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"a background index build failed:\n{log[-3000:]}")
            if not signalled and (self.folder / LISTENING).exists():
                os.kill(pid, signal.SIGUSR1)
                signalled = True
            time.sleep(0.05)
        if self.process is not None:
            self.process.wait()  # reaped here, so suite_cpu.py counts it to the test that waited

    def _running(self, pid: int) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        import psutil  # the controller reaps its children only when the session ends

        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class BackgroundEvaluation(BackgroundJob):
    """`localsearch.evaluate.evaluate(dataset, modes=MODES)` from a fresh home."""

    @staticmethod
    def arguments(dataset: Path) -> list[str]:
        return ["evaluate", str(dataset)]

    def report(self) -> Any:
        self.wait()
        return pickle.loads((self.folder / "report.pickle").read_bytes())


class BackgroundSamples(BackgroundJob):
    """helpers.index_corpus_sample(corpus, relatives) for each named sample, one after the other
    in one child: one torch import and model load for all of them."""

    @staticmethod
    def arguments(samples: dict[str, tuple[Path, list[str]]]) -> list[str]:
        return ["samples", json.dumps({k: (str(c), r) for k, (c, r) in samples.items()})]

    def home(self, name: str) -> Path:
        self.wait()
        return self.folder / name / "home"


SCIFACT_EVALUATION = pytest.StashKey[BackgroundEvaluation]()
CORPUS_SAMPLES = pytest.StashKey[BackgroundSamples]()
DOCS_SAMPLE, CJK_SAMPLE = "docs", "cjk"  # their homes' names in CORPUS_SAMPLES
LISTENING = "listening-for-SIGUSR1"
LOG, PID, DONE = "child.log", "child.pid", "done"


def take_every_core(*_: object) -> None:
    from localsearch.cpu_budget import cpu_quota, threads_within, usable_cpus

    cpus = len(usable_cpus())
    cores = threads_within(cpu_quota(), cpus, round_up=True) or cpus
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(cores)
    else:  # not imported yet: torch reads this when it starts
        os.environ["OMP_NUM_THREADS"] = str(cores)


if __name__ == "__main__":
    folder, job, source = sys.argv[1:]
    signal.signal(signal.SIGUSR1, take_every_core)
    (Path(folder) / LISTENING).touch()
    if job == "evaluate":
        from localsearch.evaluate import evaluate

        report = evaluate(Path(source), home=Path(folder) / "home", modes=list(MODES))
        (Path(folder) / "report.pickle").write_bytes(pickle.dumps(report))
    else:
        from helpers import index_corpus_sample

        for name, (corpus, relatives) in json.loads(source).items():
            index_corpus_sample(Path(corpus), relatives, Path(folder) / name)
    (Path(folder) / DONE).touch()
