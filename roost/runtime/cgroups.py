"""Confining an instance's processes: cgroups v2 or v1, whichever this host lets roost
write, else rlimits (the thin OS layer; which one enforces each limit is reported).

Every process of an instance joins one cgroup, ``roost-<scope>/<instance_id>``, before
its command runs: a tiny ``sh`` wrapper writes its own pid into each ``cgroup.procs``
(``prlimit`` sets rlimits where cgroups cannot) and then ``exec``s the service, so nothing it forks
escapes. The same cgroup freezes the whole instance (the freezer) on pause.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from roost.runtime.limits import Limits

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "pids", "freezer")
CPU_PERIOD_US = 100_000
# $1.. are cgroup.procs files up to "--", then the command: join, then become the service
JOIN = 'for f in "$@"; do shift; [ "$f" = -- ] && break; echo $$ > "$f" || exit 126; done; '
CGROUP_V2, CGROUP_V1, RLIMIT, NONE = "cgroup-v2", "cgroup-v1", "rlimit", "none"
PRLIMIT = shutil.which("prlimit")  # util-linux: sets rlimits, then execs the command


@dataclass
class Confinement:
    """What confines one instance: the files a process joins through, each limit's
    mechanism, and the freezer."""

    procs: list[Path] = field(default_factory=list)
    enforced_by: dict[str, str] = field(default_factory=dict)
    rlimits: list[str] = field(default_factory=list)  # prlimit options
    freezer: str = "signals"

    def wrapper(self) -> list[str]:
        """The argv prefix that puts a process in place before its command runs."""
        prefix: list[str] = []
        if self.procs:
            prefix += ["/bin/sh", "-c", JOIN + 'exec "$@"', "roost", *map(str, self.procs), "--"]
        if self.rlimits:
            prefix += [PRLIMIT or "prlimit", *self.rlimits, "--"]
        return prefix


@dataclass(frozen=True)
class CgroupUsage:
    """What an instance's cgroup counted; None where none of its cgroups counts it (v1
    keeps CPU time in cpuacct, which roost does not join)."""

    cpu_seconds: float | None
    memory_bytes: int | None
    version: str


class Cgroups:
    def __init__(self, scope: str, root: Path = ROOT) -> None:
        self.scope = f"roost-{scope}"
        self.root = root
        self._detected: tuple[str, dict[str, Path]] | None = None

    @property
    def version(self) -> str:
        return self._detect()[0]

    @property
    def bases(self) -> dict[str, Path]:
        """Each controller's folder for this home (made on first use)."""
        return self._detect()[1]

    def _detect(self) -> tuple[str, dict[str, Path]]:
        """v2 when its unified hierarchy has the controllers and is writable, else every
        writable v1 hierarchy, else none. Looked up once, when first needed."""
        if self._detected is None:
            self._detected = self._look()
        return self._detected

    def _look(self) -> tuple[str, dict[str, Path]]:
        for unified in (self.root, self.root / "unified"):
            controllers = unified / "cgroup.controllers"
            if not controllers.is_file():
                continue
            available = set(controllers.read_text().split()) & {"memory", "cpu", "pids"}
            if available == {"memory", "cpu", "pids"} and _writable(unified):
                (unified / self.scope).mkdir(exist_ok=True)
                _enable(unified / self.scope, available)
                base = unified / self.scope
                return CGROUP_V2, {name: base for name in ("memory", "cpu", "pids", "freezer")}
        bases = {
            name: self.root / name / self.scope
            for name in V1_CONTROLLERS
            if (self.root / name / "cgroup.procs").is_file() and _writable(self.root / name)
        }
        return (CGROUP_V1 if bases else NONE), bases

    def confine(self, instance_id: str, limits: Limits) -> Confinement:
        """Make (or update) the instance's cgroup and say how each limit is enforced."""
        confinement = Confinement()
        folders: dict[str, Path] = {}
        wanted = {"freezer", *(name for name, value in limits.as_dict().items() if value)}
        for name, base in self.bases.items():
            folder = base / instance_id
            # v1: a hierarchy only where a limit is set (the freezer always), or where one
            # was set before and must be lifted; each costs a mkdir and a join per start
            if self.version == CGROUP_V1 and name not in wanted and not folder.is_dir():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            folders[name] = folder
        if self.version == CGROUP_V2 and folders:
            folder = folders["memory"]
            confinement.procs = [folder / "cgroup.procs"]
            _write(folder / "memory.max", limits.memory, "max")
            _write(folder / "pids.max", limits.pids, "max")
            quota = None if limits.cpu is None else f"{round(limits.cpu * CPU_PERIOD_US)}"
            (folder / "cpu.max").write_text(f"{quota or 'max'} {CPU_PERIOD_US}\n")
            confinement.freezer = CGROUP_V2
            for limit in ("memory", "cpu", "pids"):
                confinement.enforced_by[limit] = CGROUP_V2
        else:
            confinement.procs = [folder / "cgroup.procs" for folder in folders.values()]
            if "memory" in folders:
                memory = folders["memory"]
                # memory <= memory+swap at every step: raising needs memsw first, lowering
                # memory first; the second round settles whichever failed (no swap
                # accounting on some hosts: memsw does not exist there)
                for last in (False, True):
                    with contextlib.suppress(OSError):
                        _write(memory / "memory.memsw.limit_in_bytes", limits.memory, "-1")
                    try:
                        _write(memory / "memory.limit_in_bytes", limits.memory, "-1")
                    except OSError:
                        if last:
                            raise
                confinement.enforced_by["memory"] = CGROUP_V1
            if "cpu" in folders:
                cpu = folders["cpu"]
                (cpu / "cpu.cfs_period_us").write_text(f"{CPU_PERIOD_US}\n")
                cpu_quota = -1 if limits.cpu is None else round(limits.cpu * CPU_PERIOD_US)
                (cpu / "cpu.cfs_quota_us").write_text(f"{cpu_quota}\n")
                confinement.enforced_by["cpu"] = CGROUP_V1
            if "pids" in folders:
                _write(folders["pids"] / "pids.max", limits.pids, "max")
                confinement.enforced_by["pids"] = CGROUP_V1
            if "freezer" in folders:
                confinement.freezer = CGROUP_V1
        if PRLIMIT and limits.memory is not None and "memory" not in confinement.enforced_by:
            confinement.rlimits.append(f"--as={limits.memory}")
            confinement.enforced_by["memory"] = RLIMIT  # address space: a rough stand-in
        if PRLIMIT and limits.pids is not None and "pids" not in confinement.enforced_by:
            confinement.rlimits.append(f"--nproc={limits.pids}")
            confinement.enforced_by["pids"] = RLIMIT  # per user, not per instance
        for limit, value in limits.as_dict().items():
            if value is None:
                confinement.enforced_by.pop(limit, None)
            else:
                confinement.enforced_by.setdefault(limit, NONE)
        return confinement

    def oom_kills(self, instance_id: str) -> int:
        """How many of the instance's processes the kernel killed for its memory limit."""
        if "memory" not in self.bases:
            return 0
        folder = self.bases["memory"] / instance_id
        name = "memory.events" if self.version == CGROUP_V2 else "memory.oom_control"
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def usage(self, instance_id: str, joined: list[Path]) -> CgroupUsage:
        """CPU seconds and memory of the instance's cgroup, each where its processes
        joined one that counts it (``joined``: the ``cgroup.procs`` they joined)."""
        cpu_s: float | None = None
        memory: int | None = None
        if "memory" in self.bases:
            folder = self.bases["memory"] / instance_id
            if folder / "cgroup.procs" in joined:
                name = "memory.current" if self.version == CGROUP_V2 else "memory.usage_in_bytes"
                memory = _read_int(folder / name)
        if self.version == CGROUP_V2 and "cpu" in self.bases:
            folder = self.bases["cpu"] / instance_id
            if folder / "cgroup.procs" in joined:
                with contextlib.suppress(OSError, ValueError):
                    for line in (folder / "cpu.stat").read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "usage_usec":
                            cpu_s = int(value) / 1e6
        return CgroupUsage(cpu_s, memory, self.version)

    def freeze(self, instance_id: str, frozen: bool) -> bool:
        """Freeze or thaw the whole instance; False when no freezer is available."""
        if "freezer" not in self.bases:
            return False
        folder = self.bases["freezer"] / instance_id
        try:
            if self.version == CGROUP_V2:
                (folder / "cgroup.freeze").write_text("1\n" if frozen else "0\n")
            else:
                (folder / "freezer.state").write_text("FROZEN\n" if frozen else "THAWED\n")
        except OSError:
            return False
        return True

    def remove(self, instance_id: str) -> None:
        """Remove the instance's cgroups (once no process is left in them)."""
        for base in set(self.bases.values()):
            with contextlib.suppress(OSError):
                (base / instance_id).rmdir()

    def close(self) -> None:
        """Remove this home's cgroups that no process is in any more (the kernel refuses
        to remove one that still holds a process), then its folders if they are empty."""
        for base in set(self.bases.values()):
            for folder in base.glob("*/"):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            with contextlib.suppress(OSError):
                base.rmdir()


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _enable(folder: Path, controllers: set[str]) -> None:
    with contextlib.suppress(OSError):
        (folder.parent / "cgroup.subtree_control").write_text(
            " ".join(f"+{name}" for name in sorted(controllers)) + "\n"
        )
        (folder / "cgroup.subtree_control").write_text(
            " ".join(f"+{name}" for name in sorted(controllers)) + "\n"
        )


def _write(path: Path, value: int | None, unlimited: str) -> None:
    path.write_text(f"{unlimited if value is None else value}\n")
