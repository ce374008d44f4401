"""How many threads encode a query: two while two cores are free, else one.

On a CPU without native bf16 a query encodes in fp32, where the matrix products are bound by
arithmetic and two threads pay: SciFact hybrid p50 13.2 ms against 17.5 on one thread (two idle
Ice Lake cores, BM25 then run after the encoding rather than beside it). But with another
process busy on one of the cores the two threads wait for each other at every layer: p95 150 ms
against 24. So the engine asks before each search how much of its cores other processes used
lately, from the kernel's CPU counters less this process's own CPU time. Where those counters
cannot be read (not Linux), a query keeps one thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

MAX_QUERY_THREADS = 2
# Counters tick 100 times a second: a shorter window says little.
RESAMPLE_SECONDS = 0.5
# Cores other processes may keep busy, on average, before two threads stop paying.
OTHERS_BUSY_LIMIT = 0.5
STAT_PATH = Path("/proc/stat")
# /proc/stat's busy columns: user, nice, system, then irq, softirq, steal (idle, iowait skipped).
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


class QueryThreads:
    """Threads for the next query's encoding, judged from the CPU used since the last look."""

    def __init__(
        self,
        stat_path: Path = STAT_PATH,
        cpus: set[int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        own_cpu: Callable[[], float] = time.process_time,
    ) -> None:
        """`cpus`: the cores this process may run on (its affinity unless given)."""
        self._stat_path = stat_path
        self._cpus = _affinity() if cpus is None else cpus
        self._cores = len(self._cpus)
        self._clock, self._own_cpu = clock, own_cpu
        self._last: tuple[float, float, float] | None = None  # wall, busy, own CPU seconds
        self._threads = 1

    def count(self) -> int:
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


def _affinity() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))
