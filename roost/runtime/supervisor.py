"""The local supervisor: runs every service of every instance as a real process.

Services start in ``depends_on`` order, each waited for until it listens (or its probe
passes) before the next; stop goes in reverse. Exits are noticed through a pidfd (no
polling), and the restart policy, backoff and start limit decide what follows; when a
service is given up, the rest of its instance is stopped and ``on_failure`` is told why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from roost.domain.errors import RoostError
from roost.runtime import processes
from roost.runtime.cgroups import Cgroups, Confinement
from roost.runtime.listeners import RecentListeners
from roost.runtime.plan import ServicePlan
from roost.runtime.policy import RestartBook, restart_wanted
from roost.runtime.protocol import Recorded, ServiceState
from roost.runtime.readiness import ready

LIVE = ("running", "paused", "starting", "stopping")
SPAWN_THREADS = 16  # starts spawning at once (each thread mostly waits on the kernel)
READY_POLL_FIRST = 0.01  # a small service is up within tens of milliseconds
READY_POLL_GROWTH = 1.5  # each wait longer than the last, so a slow service costs few checks,
# but never so long that a ready service waits long for its next check: a port check asks
# the shared dump of listening ports (next to free), a probe does real work each time
READY_POLL_MAX_PORTS = 0.02
READY_POLL_MAX_PROBE = 0.2

FailureHandler = Callable[[str, str], Awaitable[None]]  # (instance id, reason)
Journal = Callable[["ServiceRun"], Awaitable[None]]  # records a run's current state
ExitHandler = Callable[["ServiceRun", str, str], Awaitable[None]]  # (run, what, what next)


class StartFailed(RoostError):
    status = 409
    code = "START_FAILED"


class Status(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"  # exited, restarting after a delay
    STOPPING = "stopping"
    STOPPED = "stopped"
    EXITED = "exited"  # exited and not restarted (policy)
    FAILED = "failed"  # given up: start limit, or a failure the policy does not restart
    PAUSED = "paused"  # frozen


@dataclass
class ServiceRun:
    plan: ServicePlan
    book: RestartBook
    status: Status = Status.STOPPED
    spawned: processes.Spawned | None = None
    restarts: int = 0
    exit_code: int | None = None
    started: float = 0.0  # loop time of the last spawn
    reason: str = ""  # why it last exited, in words
    gone: bool = False  # its pidfd fired: the process exited
    oom_before: int = 0  # the cgroup's OOM kills when it was spawned
    watch: int | None = field(default=None, repr=False)
    pending: asyncio.Task[None] | None = field(default=None, repr=False)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class LocalSupervisor:
    def __init__(
        self,
        on_failure: FailureHandler | None = None,
        restart_book: Callable[[], RestartBook] = RestartBook,
        journal: Journal | None = None,
        on_exit: ExitHandler | None = None,
        cgroups: Cgroups | None = None,
    ) -> None:
        self._on_failure = on_failure
        self._journal = journal
        self._on_exit = on_exit
        self.cgroups = cgroups
        self.confinements: dict[str, Confinement] = {}
        self._restart_book = restart_book
        self._instances: dict[str, dict[str, ServiceRun]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._journaling: set[asyncio.Task[None]] = set()
        self._listeners = RecentListeners()  # one dump of listening ports serves every start
        self._spawner = ThreadPoolExecutor(SPAWN_THREADS, thread_name_prefix="roost-spawn")

    def services(self, instance_id: str) -> list[ServiceRun]:
        return list(self._instances.get(instance_id, {}).values())

    def _lock(self, instance_id: str) -> asyncio.Lock:
        return self._locks.setdefault(instance_id, asyncio.Lock())

    async def start(self, plans: Sequence[ServicePlan], *, all_or_nothing: bool = True) -> None:
        """Start the instance's services in order; each must be up within its start
        timeout. On failure StartFailed says why, and everything of the instance is
        stopped again (``all_or_nothing``) or just the service that failed."""
        if not plans:
            return
        instance_id = plans[0].instance_id
        async with self._lock(instance_id):
            runs = self._instances.setdefault(instance_id, {})
            for plan in plans:
                run = runs.get(plan.service)
                if run is not None and run.status in (Status.RUNNING, Status.BACKOFF):
                    continue
                run = ServiceRun(plan, self._restart_book())
                runs[plan.service] = run
                try:
                    await self._start_one(run)
                except StartFailed:
                    if all_or_nothing:
                        await self._stop_all(instance_id)
                    else:
                        await self._stop_runs([run])
                    raise

    async def _start_one(self, run: ServiceRun) -> None:
        plan = run.plan
        run.status = Status.STARTING
        await self._spawn(run)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + plan.start_timeout
        pause = READY_POLL_FIRST
        longest = READY_POLL_MAX_PORTS if plan.probe is None else READY_POLL_MAX_PROBE
        while True:
            assert run.spawned is not None
            if run.gone:  # the pidfd said so: no need to ask /proc on every poll
                run.exit_code = run.spawned.exit_code()
                run.status = Status.FAILED
                raise StartFailed(self._reason(run, "while starting"), code="START_FAILED")
            if await ready(plan, self._listeners):
                run.status = Status.RUNNING
                self._changed(run)
                return
            if loop.time() >= deadline:
                waited = (
                    "its health probe to pass"
                    if plan.probe
                    else f"port {', '.join(map(str, plan.ports))} to listen"
                )
                run.status = Status.FAILED
                raise StartFailed(
                    f"{plan.unit} did not become ready in {plan.start_timeout:g} s "
                    f"(waited for {waited})" + _tail(plan),
                    code="START_TIMEOUT",
                )
            await asyncio.sleep(pause)
            pause = min(pause * READY_POLL_GROWTH, longest)

    async def _spawn(self, run: ServiceRun) -> None:
        try:
            # in a thread: a cgroup's files wait on the kernel's cgroup lock (which every
            # join holds for a while), and fork and exec wait on the child; on a busy host
            # both take milliseconds the event loop spends on other starts meanwhile
            loop = asyncio.get_running_loop()
            run.spawned = await loop.run_in_executor(self._spawner, self._confine_and_spawn, run)
        except _CannotConfine as exc:
            run.status = Status.FAILED
            raise StartFailed(
                f"{run.plan.unit}: cannot apply its limits: {exc.reason}", code="START_FAILED"
            ) from None
        except processes.SpawnFailed as exc:
            run.status = Status.FAILED
            raise StartFailed(f"{run.plan.unit}: {exc}", code="START_FAILED") from None
        run.exit_code = None
        run.started = asyncio.get_running_loop().time()
        run.gone = not self._watch(run)  # not watchable: it exited already

    def _confine_and_spawn(self, run: ServiceRun) -> processes.Spawned:
        prefix: list[str] = []
        if self.cgroups is not None:
            instance_id = run.plan.instance_id
            try:
                confinement = self.cgroups.confine(instance_id, run.plan.limits)
            except OSError as exc:
                raise _CannotConfine(exc.strerror or str(exc)) from None
            self.confinements[instance_id] = confinement
            prefix = confinement.wrapper()
            run.oom_before = self.cgroups.oom_kills(instance_id)
        return processes.spawn(run.plan, prefix)

    def _watch(self, run: ServiceRun) -> bool:
        """Have ``_exited`` called when the process exits; False when it is gone."""
        assert run.spawned is not None
        run.watch = processes.exit_watch(run.spawned.pid)
        if run.watch is None:
            return False
        asyncio.get_running_loop().add_reader(run.watch, self._exited, run)
        return True

    def _unwatch(self, run: ServiceRun) -> None:
        if run.watch is not None:
            asyncio.get_running_loop().remove_reader(run.watch)
            with contextlib.suppress(OSError):
                os.close(run.watch)
            run.watch = None

    def _exited(self, run: ServiceRun) -> None:
        """The pidfd fired: the process exited (it may still be a zombie)."""
        run.gone = True
        self._unwatch(run)
        if run.spawned is not None:
            run.exit_code = run.spawned.exit_code()
        run.reason = describe_exit(run.exit_code)
        if self._out_of_memory(run):
            limit = run.plan.limits.memory
            run.reason = f"was killed for going over its memory limit ({limit} bytes)"
        if run.status is not Status.RUNNING:
            return  # starting (the start loop reports it) or stopping (expected)
        loop = asyncio.get_running_loop()
        if not restart_wanted(run.plan.restart, run.exit_code):
            run.status = Status.EXITED
            self._changed(run)
            self._tell_exit(run, "not restarted (policy)" if run.exit_code == 0 else "gave up")
            if run.exit_code != 0:
                self._give_up(run)
            return
        run.book.exited(now=loop.time(), ran_for=loop.time() - run.started)
        if run.book.limit_hit:
            self._tell_exit(run, "gave up")
            self._give_up(run)
            return
        run.status = Status.BACKOFF
        self._changed(run)
        self._tell_exit(run, f"restarting in {run.book.delay:g} s")
        run.pending = self._in_background(self._restart_later(run, run.book.delay))

    def _out_of_memory(self, run: ServiceRun) -> bool:
        return (
            self.cgroups is not None
            and run.exit_code == -signal.SIGKILL
            and self.cgroups.oom_kills(run.plan.instance_id) > run.oom_before
        )

    def _tell_exit(self, run: ServiceRun, then: str) -> None:
        if self._on_exit is not None:
            self._in_background(self._on_exit(run, run.reason, then))

    async def _restart_later(self, run: ServiceRun, delay: float) -> None:
        await asyncio.sleep(delay)
        if run.status is not Status.BACKOFF:
            return
        try:
            await self._spawn(run)
        except StartFailed:
            self._give_up(run)
            return
        run.restarts += 1
        run.status = Status.RUNNING
        self._changed(run)

    def _give_up(self, run: ServiceRun) -> None:
        run.status = Status.FAILED
        self._changed(run)
        reason = self._reason(run, "")
        if run.book.limit_hit:
            reason = (
                f"{run.plan.unit} {run.reason}, {len(run.book.recent)} "
                f"failures in {run.book.interval:g} s: giving up" + _tail(run.plan)
            )
        self._in_background(self._fail_instance(run.plan.instance_id, reason))

    async def _fail_instance(self, instance_id: str, reason: str) -> None:
        async with self._lock(instance_id):
            await self._stop_all(instance_id, keep_status=True)
        if self._on_failure is not None:
            await self._on_failure(instance_id, reason)

    def _reason(self, run: ServiceRun, when: str) -> str:
        return (
            f"{run.plan.unit} {run.reason or describe_exit(run.exit_code)}"
            + (f" {when}" if when else "")
            + _tail(run.plan)
        )

    def _changed(self, run: ServiceRun) -> None:
        if self._journal is not None:
            task = self._in_background(self._journal(run))
            self._journaling.add(task)
            task.add_done_callback(self._journaling.discard)

    async def settle(self) -> None:
        """Wait until every journal write scheduled so far is done."""
        pending = [task for task in self._journaling if not task.done()]
        if pending:
            await asyncio.wait(pending)

    def _in_background(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def stop(self, instance_id: str) -> None:
        """Stop every service of the instance, dependents first."""
        async with self._lock(instance_id):
            await self._stop_all(instance_id)

    async def stop_service(self, instance_id: str, service: str) -> None:
        async with self._lock(instance_id):
            run = self._instances.get(instance_id, {}).get(service)
            if run is not None:
                await self._stop_runs([run])

    async def _stop_all(self, instance_id: str, *, keep_status: bool = False) -> None:
        self._thaw(instance_id)  # a frozen process cannot act on SIGTERM
        runs = self._instances.get(instance_id, {})
        await self._stop_runs(list(runs.values()), keep_status=keep_status)
        if self.cgroups is not None:
            self.cgroups.remove(instance_id)  # made again, with current limits, at start
            self.confinements.pop(instance_id, None)

    async def _stop_runs(self, runs: list[ServiceRun], *, keep_status: bool = False) -> None:
        """Stop ``runs`` (in start order), dependents first."""
        for run in reversed(runs):
            if run.pending is not None:
                run.pending.cancel()
                run.pending = None
            final = run.status if keep_status and run.status is Status.FAILED else Status.STOPPED
            if run.spawned is not None and run.status is not Status.STOPPED:
                run.status = Status.STOPPING
                await processes.terminate(run.spawned, run.plan.stop_timeout)
                self._unwatch(run)
                code = run.spawned.exit_code()
                run.exit_code = code if code is not None else run.exit_code
            run.status = final
            self._changed(run)

    async def adopt(self, plans: Sequence[ServicePlan], found: Sequence[Recorded]) -> list[str]:
        """Supervise processes a previous server started, if they still run (same pid
        and start time); the services that do not run, for the caller to start."""
        if not plans:
            return []
        by_service = {record.service: record for record in found}
        missing = []
        async with self._lock(plans[0].instance_id):
            runs = self._instances.setdefault(plans[0].instance_id, {})
            for plan in plans:
                record = by_service.get(plan.service)
                if record is None or not processes.alive(record.pid, record.started_at):
                    missing.append(plan.service)
                    continue
                run = ServiceRun(plan, self._restart_book(), restarts=record.restarts)
                run.spawned = processes.Spawned(record.pid, record.started_at)
                run.status = Status.PAUSED if record.paused else Status.RUNNING
                run.started = asyncio.get_running_loop().time()
                if not self._watch(run):  # exited since it was looked at
                    missing.append(plan.service)
                    continue
                runs[plan.service] = run
        return missing

    async def pause(self, instance_id: str) -> None:
        """Freeze every process of the instance: the cgroup freezer where there is one,
        else SIGSTOP to each group and descendant."""
        async with self._lock(instance_id):
            frozen = self._freezer(instance_id, True)
            for run in self.services(instance_id):
                if run.spawned is not None and run.status is Status.RUNNING:
                    if not frozen:
                        processes.freeze(run.spawned)
                    run.status = Status.PAUSED
                    self._changed(run)

    async def resume(self, instance_id: str) -> None:
        async with self._lock(instance_id):
            self._thaw(instance_id)
            for run in self.services(instance_id):
                if run.status is Status.PAUSED:
                    run.status = Status.RUNNING
                    self._changed(run)

    def _freezer(self, instance_id: str, frozen: bool) -> bool:
        confinement = self.confinements.get(instance_id)
        if self.cgroups is None or confinement is None or confinement.freezer == "signals":
            return False
        return self.cgroups.freeze(instance_id, frozen)

    def _thaw(self, instance_id: str) -> None:
        """Thaw through whichever way froze it (both are harmless when not frozen)."""
        self._freezer(instance_id, False)
        for run in self.services(instance_id):
            if run.spawned is not None and run.status is Status.PAUSED:
                processes.thaw(run.spawned)

    def states(self, instance_id: str) -> list[ServiceState]:
        states = []
        for run in self.services(instance_id):
            live = run.spawned if run.status in LIVE else None
            used = processes.usage(live) if live is not None else None
            states.append(
                ServiceState(
                    service=run.plan.service,
                    status=run.status.value,
                    pid=live.pid if live else None,
                    uptime_s=round(processes.uptime(live), 3) if live else None,
                    restarts=run.restarts,
                    exit_code=run.exit_code,
                    cpu_percent=used.cpu_percent if used else None,
                    rss_bytes=used.rss_bytes if used else None,
                )
            )
        return states

    def enforcement(self, instance_id: str) -> dict[str, Any]:
        runs = self.services(instance_id)
        confinement = self.confinements.get(instance_id)
        values = runs[0].plan.limits.as_dict() if runs else {}
        enforced = confinement.enforced_by if confinement is not None else {}
        shown: dict[str, Any] = {
            name: {"value": value, "enforced_by": enforced.get(name, "none")}
            for name, value in values.items()
            if value is not None
        }
        shown["freezer"] = confinement.freezer if confinement is not None else "signals"
        return shown

    async def forget(self, instance_id: str) -> None:
        await self.stop(instance_id)
        await self.settle()
        if self.cgroups is not None:
            self.cgroups.remove(instance_id)
        self._instances.pop(instance_id, None)

    async def close(self, *, stop_all: bool = False) -> None:
        """Stop watching (the services keep running), or stop everything first. Pending
        journal writes are let finish; restarts waiting on a backoff are dropped."""
        if stop_all:
            for instance_id in list(self._instances):
                await self.stop(instance_id)
        for run in (r for runs in self._instances.values() for r in runs.values()):
            self._unwatch(run)
            if run.pending is not None:
                run.pending.cancel()
            if run.spawned is not None:
                processes.let_go(run.spawned)
        if self._background:
            await asyncio.wait(list(self._background), timeout=5)
        for task in list(self._background):
            task.cancel()
        self._spawner.shutdown(wait=False, cancel_futures=True)
        if self.cgroups is not None:
            self.cgroups.close()  # only what no process is in: running services keep theirs


class _CannotConfine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _tail(plan: ServicePlan) -> str:
    tail = processes.log_tail(plan, lines=10)
    return f"; last output:\n{tail}" if tail else ""
