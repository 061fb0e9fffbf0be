"""What runs an instance's services, as the rest of roost sees it.

The local supervisor is the one implementation today; a backend that drives systemd or
docker compose on a host would implement the same calls (DESIGN.md: runtime/). What a
runtime notices by itself (a service changed, exited, was given up) it tells its
:class:`RuntimeListener`; the services above record it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from roost.runtime.cgroups import CgroupUsage
from roost.runtime.inventory import Found
from roost.runtime.plan import ServicePlan


@dataclass(frozen=True)
class ServiceState:
    """One service of an instance, as it runs now."""

    service: str
    status: str
    pid: int | None = None
    uptime_s: float | None = None
    restarts: int = 0
    exit_code: int | None = None
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    cpu_seconds: float | None = None  # used so far (a counter)
    processes: int = 0


@dataclass(frozen=True)
class InstanceUsage:
    """What an instance's processes use now: from its cgroup where it has one that
    counts it (``source``), else summed over its services' processes."""

    services: list[ServiceState]
    cpu_seconds: float
    memory_bytes: int
    processes: int
    source: str  # "cgroup-v2", "cgroup-v1" (memory only: v1 CPU is per process), "processes"

    @classmethod
    def of(cls, services: list[ServiceState], counted: CgroupUsage | None) -> InstanceUsage:
        cpu_s = sum(s.cpu_seconds or 0.0 for s in services)
        memory = sum(s.rss_bytes or 0 for s in services)
        source = "processes"
        if counted is not None and counted.memory_bytes is not None:
            memory, source = counted.memory_bytes, counted.version
        if counted is not None and counted.cpu_seconds is not None:
            cpu_s = counted.cpu_seconds
        processes = sum(s.processes for s in services)
        return cls(services, cpu_s, memory, processes, source)


@dataclass(frozen=True)
class Recorded:
    """A process a previous server started, as the registry remembers it."""

    service: str
    pid: int
    started_at: float
    restarts: int = 0
    paused: bool = False


@dataclass(frozen=True)
class ServiceChange:
    """A service's status changed: what the registry keeps so the next server can adopt
    its process (``pid`` and ``started_at`` only while a process runs)."""

    instance_id: str
    service: str
    status: str
    pid: int | None
    started_at: float | None
    restarts: int
    exit_code: int | None


@dataclass(frozen=True)
class ServiceExit:
    """A process exited without being asked to: why, and what the runtime does next."""

    instance_id: str
    service: str
    exit_code: int | None
    reason: str  # "exited with code 3", "was killed by SIGKILL", ...
    then: str  # "restarting in 0.5 s", "gave up", "not restarted (policy)"
    oom_killed: bool = False  # the kernel killed it for its memory limit


class RuntimeListener(Protocol):
    async def service_changed(self, change: ServiceChange) -> None:
        """Returns once the change is recorded."""
        ...

    async def service_exited(self, exited: ServiceExit) -> None: ...

    async def instance_failed(self, instance_id: str, reason: str) -> None:
        """A service was given up (start limit, or a failure not restarted); the rest of
        the instance has been stopped."""
        ...


class Runtime(Protocol):
    def listen(self, listener: RuntimeListener) -> None:
        """Tell ``listener`` what happens from now on (one listener)."""
        ...

    async def start(self, plans: Sequence[ServicePlan], *, all_or_nothing: bool = True) -> None:
        """Start the services in order, each up before the next (raises StartFailed)."""
        ...

    async def stop(self, instance_id: str) -> None: ...

    async def stop_service(self, instance_id: str, service: str) -> None: ...

    async def pause(self, instance_id: str) -> None: ...

    async def resume(self, instance_id: str) -> None: ...

    async def adopt(self, plans: Sequence[ServicePlan], found: Sequence[Recorded]) -> list[str]:
        """Take over what still runs; the services that do not."""
        ...

    async def inventory(self) -> list[Found]:
        """Every live process of the home, recorded or not (``inventory.py``)."""
        ...

    async def sweep(self, found: Sequence[Found]) -> list[Found]:
        """Stop what in ``found`` no service held here is or started; the ones stopped."""
        ...

    def states(self, instance_id: str, *, measured: bool = True) -> list[ServiceState]:
        """Each service as it runs now; with ``measured``, its CPU and memory too (which
        costs a look at every process of the host)."""
        ...

    def usage(self, instance_id: str) -> InstanceUsage:
        """Each service measured, and the instance as a whole."""
        ...

    def enforcement(self, instance_id: str) -> dict[str, Any]:
        """Each limit with what enforces it, and how the instance is frozen."""
        ...

    async def forget(self, instance_id: str) -> None:
        """Stop the instance for good (it is deleted) and drop what held it."""
        ...

    async def close(self, *, stop_all: bool = False) -> None: ...
