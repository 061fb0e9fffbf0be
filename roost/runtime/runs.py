"""One service as the supervisor runs it: its status, and what it spawned (pure).

A service's status changes only through :meth:`ServiceRun.move`, against the one table
below (supervisor's ``STOPPED/STARTING/RUNNING/BACKOFF``, written once):

    stopped  -> starting (start) | running, paused (adopted from a previous server)
    starting -> running (ready) | failed (exited, timed out, could not spawn) | stopping
                | stopped (abandoned before a process ran)
    running  -> backoff (exited, restarting) | exited (not restarted) | failed (given up)
                | paused | stopping
    backoff  -> running (restarted) | failed (could not restart) | stopping
    paused   -> running (resumed) | stopping
    stopping -> stopped | failed (it had failed: a failure stays on record)
    exited   -> failed (a failure the policy does not restart) | stopping | stopped
    failed   -> stopping | stopped

Staying in the same status is always allowed.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from roost.runtime.plan import ServicePlan
from roost.runtime.policy import RestartBook
from roost.runtime.protocol import ServiceChange, ServiceExit, ServiceState

if TYPE_CHECKING:
    import asyncio


class Status(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"  # exited, restarting after a delay
    STOPPING = "stopping"
    STOPPED = "stopped"
    EXITED = "exited"  # exited and not restarted (policy)
    FAILED = "failed"  # given up: start limit, or a failure the policy does not restart
    PAUSED = "paused"  # frozen


S = Status
MOVES: dict[Status, frozenset[Status]] = {
    S.STOPPED: frozenset({S.STARTING, S.RUNNING, S.PAUSED}),
    S.STARTING: frozenset({S.RUNNING, S.FAILED, S.STOPPING, S.STOPPED}),
    S.RUNNING: frozenset({S.BACKOFF, S.EXITED, S.FAILED, S.PAUSED, S.STOPPING}),
    S.BACKOFF: frozenset({S.RUNNING, S.FAILED, S.STOPPING}),
    S.PAUSED: frozenset({S.RUNNING, S.STOPPING}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED}),
    S.EXITED: frozenset({S.FAILED, S.STOPPING, S.STOPPED}),
    S.FAILED: frozenset({S.STOPPING, S.STOPPED}),
}
LIVE = frozenset({S.RUNNING, S.PAUSED, S.STARTING, S.STOPPING})  # a process may run
HAS_PROCESS = frozenset({S.RUNNING, S.PAUSED, S.STARTING})  # what the journal records


class BadMove(AssertionError):
    """A status change the table does not have: a bug in the supervisor, never input."""


@dataclass
class Spawned:
    """A process: its pid and its start time are its identity (a recycled pid is not
    it). ``handle`` is what the process layer keeps of its own child (None: adopted)."""

    pid: int
    started_at: float
    handle: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class Usage:
    cpu_percent: float  # since the previous reading (0.0 on the first)
    rss_bytes: int  # the leader and its descendants
    cpu_seconds: float = 0.0  # used so far by the leader, its descendants and reaped ones
    processes: int = 1


@dataclass
class ServiceRun:
    plan: ServicePlan
    book: RestartBook
    status: Status = Status.STOPPED
    spawned: Spawned | None = None
    restarts: int = 0
    exit_code: int | None = None
    started: float = 0.0  # monotonic time of the last spawn
    reason: str = ""  # why it last exited, in words
    gone: bool = False  # the process exited
    oom_before: int = 0  # the cgroup's OOM kills when it was spawned
    oom_killed: bool = False  # its last exit was the kernel's, for the memory limit
    unwatch: Any = field(default=None, repr=False)  # stops the exit watch
    pending: asyncio.Future[None] | None = field(default=None, repr=False)

    def move(self, to: Status) -> None:
        if to is not self.status and to not in MOVES[self.status]:
            raise BadMove(f"{self.plan.unit}: {self.status.value} -> {to.value}")
        self.status = to

    @property
    def live(self) -> Spawned | None:
        """The process, while one may run."""
        return self.spawned if self.status in LIVE else None

    def change(self) -> ServiceChange:
        """What the journal keeps of the run now (the process only while it runs)."""
        spawned = self.spawned if self.status in HAS_PROCESS else None
        return ServiceChange(
            self.plan.instance_id,
            self.plan.service,
            self.status.value,
            pid=spawned.pid if spawned else None,
            started_at=spawned.started_at if spawned else None,
            restarts=self.restarts,
            exit_code=self.exit_code,
        )

    def exit(self, then: str) -> ServiceExit:
        """Its last exit, as the listener is told of it, with what follows (``then``)."""
        plan = self.plan
        return ServiceExit(
            plan.instance_id, plan.service, self.exit_code, self.reason, then, self.oom_killed
        )

    def state(self, usage: Usage | None, uptime: float | None) -> ServiceState:
        """The run as it is shown, with what its live process uses (measured by the host)."""
        live = self.live
        return ServiceState(
            service=self.plan.service,
            status=self.status.value,
            pid=live.pid if live else None,
            uptime_s=round(uptime, 3) if live and uptime is not None else None,
            restarts=self.restarts,
            exit_code=self.exit_code,
            cpu_percent=usage.cpu_percent if usage else None,
            rss_bytes=usage.rss_bytes if usage else None,
            cpu_seconds=usage.cpu_seconds if usage else None,
            processes=usage.processes if usage else 0,
        )


def memory_kill(limit: int | None) -> str:
    return f"was killed for going over its memory limit ({limit} bytes)"


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"
