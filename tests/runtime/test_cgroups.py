"""Confinement where cgroups are not writable (rlimits) and on a cgroup v2 layout.

This host has writable cgroup v1 hierarchies, exercised in tests/api/test_limits.py;
a v2 hierarchy with controllers cannot exist here, so its file layout is built in a
folder (the wrapper and the files written are what is checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from roost.runtime.cgroups import Cgroups
from roost.runtime.limits import Limits

MEG = 1024 * 1024


def test_without_cgroups_memory_and_pids_fall_back_to_rlimits(tmp_path: Path) -> None:
    cgroups = Cgroups("t", root=tmp_path)  # nothing there: no hierarchy to write
    confinement = cgroups.confine("1", Limits(memory=128 * MEG, cpu=0.5, pids=64))
    assert cgroups.version == "none"
    assert confinement.enforced_by == {"memory": "rlimit", "pids": "rlimit", "cpu": "none"}
    assert confinement.freezer == "signals"
    hog = "x = bytearray(512 * 1024 * 1024)"
    ran = subprocess.run(
        [*confinement.wrapper(), sys.executable, "-c", hog], capture_output=True, text=True
    )
    assert ran.returncode != 0 and "MemoryError" in ran.stderr
    fine = subprocess.run(
        [*confinement.wrapper(), sys.executable, "-c", "print('ok')"],
        capture_output=True,
        text=True,
    )
    assert fine.stdout == "ok\n"


def test_no_limits_no_wrapper(tmp_path: Path) -> None:
    assert Cgroups("t", root=tmp_path).confine("1", Limits()).wrapper() == []


def test_cgroup_v2_files_and_join(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    cgroups = Cgroups("t", root=tmp_path)
    confinement = cgroups.confine("1", Limits(memory=256 * MEG, cpu=1.5, pids=100))
    folder = tmp_path / "roost-t" / "1"
    assert cgroups.version == "cgroup-v2"
    assert (folder / "memory.max").read_text() == f"{256 * MEG}\n"
    assert (folder / "cpu.max").read_text() == "150000 100000\n"
    assert (folder / "pids.max").read_text() == "100\n"
    assert set(confinement.enforced_by.values()) == {"cgroup-v2"}
    assert confinement.freezer == "cgroup-v2"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    ran = subprocess.run(
        [*confinement.wrapper(), "sh", "-c", "echo $$"], capture_output=True, text=True
    )
    assert (folder / "cgroup.procs").read_text().strip() == ran.stdout.strip()  # joined itself
    assert cgroups.freeze("1", True) and (folder / "cgroup.freeze").read_text() == "1\n"
    unlimited = cgroups.confine("1", Limits())
    assert (folder / "memory.max").read_text() == "max\n"
    assert (folder / "cpu.max").read_text() == "max 100000\n"
    assert unlimited.enforced_by == {}
