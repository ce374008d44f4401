"""A pytest plugin for benchmarks/suite_time.py: each test's wall time and the CPU seconds
spent by pytest's own process and by the children it reaped during that test (CLI runs,
torchrun, and the background index builds, which are reaped by the tests that wait for them).
It writes one tab-separated line per test to the file named by SUITE_CPU_OUT, or under
pytest-xdist, each worker to that name with its id appended (tests.tsv.gw0)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

import pytest

_rows: list[tuple[str, float, float, float]] = []


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process and of the children it has reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    own_before, children_before = cpu_seconds()
    started = time.perf_counter()
    yield
    own_after, children_after = cpu_seconds()
    _rows.append(
        (
            item.nodeid,
            time.perf_counter() - started,
            own_after - own_before,
            children_after - children_before,
        )
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("SUITE_CPU_OUT")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # each pytest-xdist worker writes its own
    if out and worker:
        out = f"{out}.{worker}"
    if out and _rows:
        with open(out, "w", encoding="utf-8") as f:
            for nodeid, wall, own, children in _rows:
                f.write(f"{nodeid}\t{wall:.2f}\t{own:.2f}\t{children:.2f}\n")
