"""The operating system under the supervisor: spawn, watch, stop and look at processes.

The supervisor decides; a :class:`Host` acts. :class:`LocalHost` is this machine (real
processes, pidfds, the kernel's listening sockets); a test hands the supervisor a small
fake instead and replays a scripted history in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from roost import host_ports
from roost.runtime import processes
from roost.runtime.errors import PortTaken
from roost.runtime.inventory import MARKER, Found, find, marker
from roost.runtime.listeners import RecentListeners
from roost.runtime.plan import ServicePlan
from roost.runtime.readiness import ready
from roost.runtime.runs import Spawned, Usage

SPAWN_THREADS = 16  # starts spawning at once (each thread mostly waits on the kernel)

Unwatch = Callable[[], None]


class Host(Protocol):
    async def spawn(self, plan: ServicePlan, prepare: Callable[[], Sequence[str]]) -> Spawned:
        """Run ``prepare`` (it confines the service and returns the wrapper to put before
        its argv), then start the process; raises what ``prepare`` raises, or SpawnFailed."""
        ...

    def watch(self, spawned: Spawned, on_exit: Callable[[], None]) -> Unwatch | None:
        """Through a pidfd in the event loop: no polling, and a zombie counts as gone."""
        fd = processes.exit_watch(spawned.pid)
        if fd is None:
            return None
        return _ExitWatch(fd, on_exit).close

    def exit_code(self, spawned: Spawned) -> int | None:
        """Its code once it exited (negative: the signal); None while it runs or when it
        is not our child."""
        ...

    async def terminate(self, spawned: Spawned, grace: float) -> None:
        """SIGTERM to it and everything it started, SIGKILL after ``grace``; returns when
        none of them runs."""
        ...

    def alive(self, pid: int, started_at: float) -> bool:
        """The same process (pid and start time) runs; a zombie counts as gone."""
        ...

    def freeze(self, spawned: Spawned) -> None: ...

    def thaw(self, spawned: Spawned) -> None: ...

    def let_go(self, spawned: Spawned) -> None:
        """Stop being its watching parent: it keeps running without us."""
        ...

    def usage(self, spawned: Spawned) -> Usage | None: ...

    def uptime(self, spawned: Spawned) -> float: ...

    async def ready(self, plan: ServicePlan, spawned: Spawned) -> bool:
        """Its probe passes, or else every port it uses listens on a socket of its own."""
        ...

    def log_tail(self, plan: ServicePlan, lines: int) -> str: ...

    def inventory(self, cgroup_folders: Sequence[Path]) -> list[Found]:
        """Every live process of this home (``inventory.py``), recorded or not."""
        ...

    def close(self) -> None: ...


class LocalHost:
    def __init__(self, scope: str | None = None) -> None:
        # the home's: each process started is marked with it (none given: its own)
        self._scope = scope or f"host-{secrets.token_hex(4)}"
        self._listeners = RecentListeners()  # one dump of listening ports serves every start
        self._spawner = ThreadPoolExecutor(SPAWN_THREADS, thread_name_prefix="roost-spawn")
        self._table = processes.ProcessTable()  # one look at /proc serves every measure

    async def spawn(self, plan: ServicePlan, prepare: Callable[[], Sequence[str]]) -> Spawned:
        # in a thread: a cgroup's files wait on the kernel's cgroup lock (which every
        # join holds for a while), and fork and exec wait on the child; on a busy host
        # both take milliseconds the event loop spends on other starts meanwhile
        mark = {MARKER: marker(self._scope, plan.instance_id, plan.service)}

        def confined() -> Spawned:
            for port in plan.ports:  # another process's: the service could not listen
                if host_ports.in_use(port):
                    holder = host_ports.holder(port) or "another process"
                    raise PortTaken(f"port {port} is taken by {holder}")
            return processes.spawn(plan, list(prepare()), mark)

        return await asyncio.get_running_loop().run_in_executor(self._spawner, confined)

    def watch(self, spawned: Spawned, on_exit: Callable[[], None]) -> Unwatch | None:
        """Through a pidfd in the event loop: no polling, and a zombie counts as gone."""
        watch = processes.exit_watch(spawned.pid)
        if watch is None:
            return None
        loop = asyncio.get_running_loop()
        open_ = [True]

        def fired() -> None:
            unwatch()
            on_exit()

        def unwatch() -> None:
            # once only: a closed fd's number is soon another's, whose reader must stay
            if open_.pop() if open_ else False:
                loop.remove_reader(watch)
                with contextlib.suppress(OSError):
                    os.close(watch)

        loop.add_reader(watch, fired)
        return unwatch

    def exit_code(self, spawned: Spawned) -> int | None:
        return processes.exit_code(spawned)

    async def terminate(self, spawned: Spawned, grace: float) -> None:
        await processes.terminate(spawned, grace)

    def alive(self, pid: int, started_at: float) -> bool:
        return processes.alive(pid, started_at)

    def freeze(self, spawned: Spawned) -> None:
        processes.freeze(spawned)

    def thaw(self, spawned: Spawned) -> None:
        processes.thaw(spawned)

    def let_go(self, spawned: Spawned) -> None:
        processes.let_go(spawned)

    def usage(self, spawned: Spawned) -> Usage | None:
        return processes.usage(spawned, self._table)

    def uptime(self, spawned: Spawned) -> float:
        return processes.uptime(spawned)

    async def ready(self, plan: ServicePlan, spawned: Spawned) -> bool:
        return await ready(plan, self._listeners, lambda: processes.socket_inodes(spawned))

    def log_tail(self, plan: ServicePlan, lines: int) -> str:
        return processes.log_tail(plan, lines)

    def inventory(self, cgroup_folders: Sequence[Path]) -> list[Found]:
        return find(self._scope, cgroup_folders)

    def close(self) -> None:
        self._spawner.shutdown(wait=False, cancel_futures=True)


class _ExitWatch:
    """A pidfd the event loop watches; it becomes readable when the process exits."""

    def __init__(self, fd: int, on_exit: Callable[[], None]) -> None:
        self._fd: int | None = fd
        self._on_exit = on_exit
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._fired)

    def _fired(self) -> None:
        self.close()
        self._on_exit()

    def close(self) -> None:
        # once only: a closed fd's number is soon another's, whose reader must stay
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        self._loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
