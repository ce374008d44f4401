"""A query encodes on two threads while two cores are free, on one when another process is busy."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
from helpers import index_files

from localsearch.config import load_settings
from localsearch.search.engine import SearchEngine
from localsearch.search.query_threads import RESAMPLE_SECONDS, QueryThreads

TICKS = os.sysconf("SC_CLK_TCK")


class Machine:
    """A fake /proc/stat over two cores (plus one this process may not use), a clock and this
    process's CPU time, all moved by hand."""

    def __init__(self, folder: Path) -> None:
        self.stat = folder / "stat"
        self.now = 100.0
        self.own = 5.0
        self.busy = [0.0, 0.0, 0.0]  # seconds busy per core
        self.write()

    def write(self) -> None:
        lines = [f"cpu  {int(sum(self.busy) * TICKS)} 0 0 999 0 0 0 0 0 0"]
        for core, seconds in enumerate(self.busy):
            # user nice system idle iowait irq softirq steal: busy split over counted columns
            ticks = int(seconds * TICKS)
            lines.append(f"cpu{core} {ticks // 2} 0 {ticks - ticks // 2} 999 7 0 0 0 0 0")
        lines.append("intr 12345 0 0")
        self.stat.write_text("\n".join(lines) + "\n")

    def run(self, seconds: float, *, own: float = 0.0, others: float = 0.0, core2: float = 0.0):
        """`seconds` pass; this process keeps `own` cores busy, others `others`, core 2 (not
        ours) `core2`."""
        self.now += seconds
        self.own += own * seconds
        self.busy[0] += (own + others) / 2 * seconds
        self.busy[1] += (own + others) / 2 * seconds
        self.busy[2] += core2 * seconds
        self.write()

    def threads(self) -> QueryThreads:
        return QueryThreads(self.stat, {0, 1}, lambda: self.now, lambda: self.own, lambda: None)


def test_two_threads_while_only_this_process_works(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    threads = machine.threads()
    assert threads.count() == 1  # nothing to judge by yet
    machine.run(1.0, own=1.5, core2=1.0)  # its own work and another CPU's do not count
    assert threads.count() == 2


def test_one_thread_while_another_process_keeps_a_core(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    threads = machine.threads()
    threads.count()
    machine.run(1.0, own=0.4, others=1.0)
    assert threads.count() == 1
    machine.run(2.0, own=0.4, others=0.2)  # it stopped: two again
    assert threads.count() == 2
    machine.run(1.0, others=0.6)
    assert threads.count() == 1


def test_the_answer_holds_between_looks(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    threads = machine.threads()
    threads.count()
    machine.run(1.0)
    assert threads.count() == 2
    machine.stat.unlink()
    machine.run(RESAMPLE_SECONDS / 2, others=2.0)
    assert threads.count() == 2  # not looked at again yet
    machine.run(RESAMPLE_SECONDS)
    assert threads.count() == 1  # counters unreadable: one thread


def test_one_core_means_one_thread(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    threads = QueryThreads(machine.stat, {0}, lambda: machine.now, lambda: machine.own)
    threads.count()
    machine.run(1.0)
    assert threads.count() == 1


def test_a_cpu_quota_under_two_cores_means_one_thread(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    clock, own = (lambda: machine.now), (lambda: machine.own)
    limited = QueryThreads(machine.stat, {0, 1}, clock, own, lambda: 1.5)
    whole = QueryThreads(machine.stat, {0, 1}, clock, own, lambda: 2.0)
    limited.count(), whole.count()
    machine.run(1.0)  # both cores idle: only the quota holds a query to one thread
    assert (limited.count(), whole.count()) == (1, 2)


def test_a_hybrid_search_takes_two_threads_only_where_it_ends_sooner(tmp_path: Path) -> None:
    machine = Machine(tmp_path)
    threads = machine.threads()
    threads.count()
    machine.run(1.0)
    assert threads.count(bm25_beside=True) == 2  # nothing measured yet
    # A small collection: BM25 takes less than the vector search; two threads save 5 ms.
    threads.record(1, {"encode": 15.0, "vectors": 2.7, "bm25": 2.0, "fusion": 1.0})
    assert threads.count(bm25_beside=True) == 2
    # A million chunks: BM25 hides the whole one-thread encoding and vector search.
    for _ in range(20):
        threads.record(2, {"encode": 14.5, "vectors": 30.0, "bm25": 43.0})
    assert threads.count(bm25_beside=True) == 1
    assert threads.count() == 2  # a dense search has no BM25 to hide
    threads.record(1, {"encode": 18.0, "vectors": 29.0})  # no BM25 part: not counted
    for _ in range(20):
        threads.record(1, {"encode": 18.0, "vectors": 3.0, "bm25": 2.0})
    assert threads.count(bm25_beside=True) == 2


@pytest.fixture
def engine(tmp_path_factory: pytest.TempPathFactory):
    _, home = index_files(
        tmp_path_factory.mktemp("threads"),
        {
            "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
            " electricity.\n",
            "bread.md": "# Sourdough\n\nA starter is flour and water colonised by wild yeast.\n",
            "bees.txt": "Beekeeping notes: a hive needs a queen, workers and drones.\n",
        },
    )
    engine = SearchEngine(load_settings(home))
    engine.warm_up()
    process_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield engine
    torch.set_num_threads(process_threads)
    engine.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_search_encodes_on_the_threads_given_and_finds_the_same(engine, threads: int) -> None:
    encoder, _ = engine.encoder()
    seen: list[int] = []
    encoded_at: list[float] = []
    bm25_started_at: list[float] = []
    encode_queries, start_bm25 = encoder.encode_queries, engine._start_bm25

    def counted(texts):  # type: ignore[no-untyped-def]
        seen.append(torch.get_num_threads())
        try:
            return encode_queries(texts)
        finally:
            encoded_at.append(time.perf_counter())

    def timed_start(*args, **kwargs):  # type: ignore[no-untyped-def]
        bm25_started_at.append(time.perf_counter())
        return start_bm25(*args, **kwargs)

    encoder.encode_queries = counted
    engine._start_bm25 = timed_start
    engine._query_threads.count = lambda **_: threads
    try:
        results = engine.search("electricity from the sea", mode="hybrid", k=3)
    finally:
        del encoder.encode_queries
    assert seen == [threads]
    assert torch.get_num_threads() == 2  # the process's own count, given back
    assert [Path(hit.path).name for hit in results.hits][0] == "tides.md"
    # One encoding thread leaves a core for BM25 beside it (started first); with two, BM25
    # starts once the query is encoded, beside the vector search.
    assert (bm25_started_at[0] > encoded_at[0]) == (threads == 2)
    assert engine._bm25_worker is not None
    assert results.parts_ms["bm25"] > 0
