"""Every live process of a home, whoever started it and whether or not it was recorded:
what the next server reconciles at boot (as systemd finds a unit's processes through
its cgroup, not through what it remembers).

Two ways to know a process, joined: the home's cgroups, where every process of an
instance is (``cgroup.procs``), and a marker in the environment each service is started
with (``ROOST_RUN=<home scope>/<instance id>/<service>``), which its children inherit,
for hosts without cgroups roost may write and for what left them. A service's own
process leads its session (it is started with one of its own), so a process belongs to
a service if its session or process group is the service's, or the service is one of
its ancestors.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

MARKER = "ROOST_RUN"


def marker(scope: str, instance_id: str, service: str) -> str:
    return f"{scope}/{instance_id}/{service}"


@dataclass(frozen=True)
class Found:
    pid: int
    started_at: float
    instance_id: str
    service: str | None  # None: in the instance's cgroup, its marker gone (env cleared)
    session: int
    group: int
    ancestors: tuple[int, ...]

    @property
    def leader(self) -> bool:
        """A service's own process (what roost started), not something it started."""
        return self.session == self.pid


def find(scope: str, cgroup_folders: Iterable[Path]) -> list[Found]:
    """Every live process of the home whose cgroups are under ``cgroup_folders`` (one
    per hierarchy: ``.../roost-<scope>``) or whose marker names ``scope``."""
    in_cgroup: dict[int, str] = {}
    for base in cgroup_folders:
        with contextlib.suppress(OSError):
            for folder in base.iterdir():
                if folder.is_dir():
                    for pid in _pids(folder / "cgroup.procs"):
                        in_cgroup[pid] = folder.name
    prefix = f"{scope}/"
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environment = process.environ()
        except psutil.Error:
            environment = {}
        mark = environment.get(MARKER, "")
        instance_id = service = None
        if mark.startswith(prefix):
            instance_id, _, service = mark[len(prefix) :].partition("/")
        if instance_id is None:
            instance_id = in_cgroup.get(process.pid)
        if instance_id is None:
            continue
        try:
            with process.oneshot():
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                found.append(
                    Found(
                        pid=process.pid,
                        started_at=process.create_time(),
                        instance_id=instance_id,
                        service=service or None,
                        session=os.getsid(process.pid),
                        group=os.getpgid(process.pid),
                        ancestors=tuple(parent.pid for parent in process.parents()),
                    )
                )
        except (psutil.Error, ProcessLookupError):
            continue  # gone meanwhile
    return found


def belongs(process: Found, leaders: set[int]) -> bool:
    """Whether ``process`` is one of ``leaders`` (services held) or theirs."""
    return (
        process.pid in leaders
        or process.session in leaders
        or process.group in leaders
        or not leaders.isdisjoint(process.ancestors)
    )


def _pids(procs: Path) -> list[int]:
    try:
        return [int(line) for line in procs.read_text().split()]
    except (OSError, ValueError):
        return []
