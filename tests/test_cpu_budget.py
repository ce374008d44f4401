"""A cgroup CPU quota caps the threads localsearch starts: read from cgroup v2 or v1, the
tightest limit from the process's cgroup up to the hierarchy's root. And the threads wait for
work passively, unless the user says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from localsearch.cpu_budget import (
    SPIN_VARIABLE,
    THREADS_VARIABLE,
    WAIT_VARIABLE,
    cpu_quota,
    respect_cpu_quota,
    threads_within,
)

V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate"
V1_MOUNT = (
    "35 28 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct"
)
V1_MEMORY_MOUNT = "36 28 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory"


def machine(root: Path, cgroup: str, mountinfo: list[str], files: dict[str, str]) -> Path:
    """A fake filesystem root: /proc/self's cgroup files and the cgroup folders' limits."""
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text("\n".join(mountinfo) + "\n")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_a_container_with_its_own_cgroup_v2_namespace(tmp_path: Path) -> None:
    root = machine(tmp_path, "0::/\n", [V2_MOUNT], {"sys/fs/cgroup/cpu.max": "150000 100000\n"})
    assert cpu_quota(root) == 1.5


def test_the_tightest_limit_up_the_v2_tree_holds(tmp_path: Path) -> None:
    root = machine(
        tmp_path,
        "0::/user.slice/app.scope\n",
        [V2_MOUNT],
        {
            "sys/fs/cgroup/cpu.max": "max 100000\n",
            "sys/fs/cgroup/user.slice/cpu.max": "200000 100000\n",
            "sys/fs/cgroup/user.slice/app.scope/cpu.max": "max 100000\n",
        },
    )
    assert cpu_quota(root) == 2.0


def test_cgroup_v1_cpu_controller(tmp_path: Path) -> None:
    folder = "sys/fs/cgroup/cpu,cpuacct/docker/abc"
    root = machine(
        tmp_path,
        "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
        [V1_MEMORY_MOUNT, V1_MOUNT],
        {f"{folder}/cpu.cfs_quota_us": "50000\n", f"{folder}/cpu.cfs_period_us": "100000\n"},
    )
    assert cpu_quota(root) == 0.5


def test_a_v1_mount_of_a_cgroup_of_its_own(tmp_path: Path) -> None:
    """A container's v1 mount shows one cgroup (root field /docker/ab) as the folder; a process
    in /docker/abc is outside it, not in its subfolder "c"."""
    quota, period = "cpu.cfs_quota_us", "cpu.cfs_period_us"
    mounted = "sys/fs/cgroup/cpu,cpuacct"
    root = machine(
        tmp_path,
        "4:cpu,cpuacct:/docker/ab\n",
        [V1_MOUNT.replace(" / /sys", " /docker/ab /sys")],
        {
            f"{mounted}/{quota}": "300000\n",
            f"{mounted}/{period}": "100000\n",
            f"{mounted}/c/{quota}": "50000\n",
            f"{mounted}/c/{period}": "100000\n",
        },
    )
    assert cpu_quota(root) == 3.0
    (root / "proc/self/cgroup").write_text("4:cpu,cpuacct:/docker/abc\n")
    assert cpu_quota(root) == 3.0
    (root / "proc/self/cgroup").write_text("4:cpu,cpuacct:/docker/ab/c\n")
    assert cpu_quota(root) == 0.5


@pytest.mark.parametrize(
    ("cgroup", "mountinfo", "files"),
    [
        (
            "4:cpu,cpuacct:/\n",
            [V1_MOUNT],
            {
                "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            },
        ),
        ("0::/\n", [V2_MOUNT], {"sys/fs/cgroup/cpu.max": "max 100000\n"}),
        ("0::/\n", [V2_MOUNT], {}),  # the root cgroup has no cpu.max
        ("0::/\n", [V1_MEMORY_MOUNT], {}),  # no cgroup mount with the cpu controller
    ],
    ids=["v1-unlimited", "v2-max", "v2-no-file", "no-cpu-mount"],
)
def test_no_limit_is_none(
    tmp_path: Path, cgroup: str, mountinfo: list[str], files: dict[str, str]
) -> None:
    assert cpu_quota(machine(tmp_path, cgroup, mountinfo, files)) is None


def test_no_proc_files_is_none(tmp_path: Path) -> None:
    assert cpu_quota(tmp_path) is None


def test_threads_within_a_quota() -> None:
    assert threads_within(None, 8, round_up=True) is None
    assert threads_within(1.5, 8, round_up=True) == 2  # indexing takes the partly used core
    assert threads_within(1.5, 8, round_up=False) == 1  # a query does not wait for it
    assert threads_within(0.25, 8, round_up=False) == 1
    assert threads_within(2.0, 2, round_up=True) is None  # no fewer than the cores usable


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_quota_sets_the_thread_variable_and_torchs_count(
    monkeypatch: pytest.MonkeyPatch, torch_threads: None
) -> None:
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    torch.set_num_threads(2)
    respect_cpu_quota(lambda: 1.0, lambda: {0, 1})
    assert os.environ[THREADS_VARIABLE] == "1"
    assert torch.get_num_threads() == 1


def test_a_users_thread_variable_and_no_quota_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, torch_threads: None
) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    respect_cpu_quota(lambda: 1.0, lambda: {0, 1})
    assert os.environ[THREADS_VARIABLE] == "2"
    monkeypatch.delenv(THREADS_VARIABLE)
    respect_cpu_quota(lambda: None, lambda: {0, 1})
    assert THREADS_VARIABLE not in os.environ
    assert torch.get_num_threads() == 2


def test_the_command_line_respects_the_quota_before_any_command(
    monkeypatch: pytest.MonkeyPatch, torch_threads: None
) -> None:
    import localsearch.cli as cli
    from localsearch import cpu_budget

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    one_core = lambda: cpu_budget.respect_cpu_quota(lambda: 1.0, lambda: {0, 1})  # noqa: E731
    monkeypatch.setattr(cli, "respect_cpu_quota", one_core)
    cli.main(["--version"])
    assert os.environ[THREADS_VARIABLE] == "1"


def test_the_command_line_shortens_the_threads_spin_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import localsearch.cli as cli

    monkeypatch.delenv(SPIN_VARIABLE, raising=False)
    monkeypatch.setenv(WAIT_VARIABLE, "ACTIVE")  # libgomp reads a spin count over the policy
    cli.main(["--version"])
    assert (os.environ[WAIT_VARIABLE], os.environ.get(SPIN_VARIABLE)) == ("ACTIVE", None)
    monkeypatch.delenv(WAIT_VARIABLE)
    monkeypatch.setenv(SPIN_VARIABLE, "5")
    cli.main(["--version"])
    assert (os.environ.get(WAIT_VARIABLE), os.environ[SPIN_VARIABLE]) == (None, "5")
    monkeypatch.delenv(SPIN_VARIABLE)
    cli.main(["--version"])
    assert (os.environ.get(WAIT_VARIABLE), os.environ[SPIN_VARIABLE]) == (None, "10000")


def openmp_settings(folder: Path, home: Path, **env: str) -> str:
    """What torch's OpenMP runtime says it read as it loaded, in an index run of `folder`."""
    base = {k: v for k, v in os.environ.items() if k not in (WAIT_VARIABLE, SPIN_VARIABLE)}
    done = subprocess.run(
        [sys.executable, "-m", "localsearch", "index", str(folder), "--quiet"],
        env={**base, "LOCALSEARCH_HOME": str(home), "OMP_DISPLAY_ENV": "VERBOSE", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="GOMP_SPINCOUNT is libgomp's, torch's on Linux")
def test_torchs_openmp_threads_in_an_index_run_spin_briefly(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes/a.txt").write_text("Sourdough wants flour, water, salt and a starter.\n")
    # libgomp's spin count: 300,000 by default, 0 when its threads wait passively.
    brief = openmp_settings(tmp_path / "notes", tmp_path / "one")
    assert "GOMP_SPINCOUNT = '10000'" in brief
    active = openmp_settings(tmp_path / "notes", tmp_path / "two", OMP_WAIT_POLICY="active")
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in active
    assert "GOMP_SPINCOUNT = '10000'" not in active
