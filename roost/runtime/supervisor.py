"""The local supervisor: runs every service of every instance as a process of its host.

Services start in ``depends_on`` order, each waited for until it listens (or its probe
passes) before the next; stop goes in reverse. The host tells it when a process exits
(no polling), and the restart policy, backoff and start limit decide what follows; when
a service is given up, the rest of its instance is stopped and the listener is told why.

It decides and its collaborators act, as in honcho's manager: the :class:`Host` does
everything to processes, the :class:`Clock` every wait, so a test replays a scripted
history with tiny fakes of both. Each service's status moves only along the table in
``runs.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from roost.domain.clock import SYSTEM_CLOCK, Clock
from roost.jobs import Background
from roost.runtime.cgroups import Cgroups
from roost.runtime.confiner import Confiner
from roost.runtime.errors import CannotConfine, PortTaken, SpawnFailed, StartFailed
from roost.runtime.host import Host, LocalHost
from roost.runtime.inventory import Found, belongs
from roost.runtime.plan import ServicePlan
from roost.runtime.policy import RestartBook, restart_wanted
from roost.runtime.protocol import (
    InstanceUsage,
    Recorded,
    RuntimeListener,
    ServiceState,
)
from roost.runtime.readiness import ready_polls
from roost.runtime.runs import ServiceRun, Spawned, Status, describe_exit, memory_kill

TAIL_LINES = 10
STRAY_GRACE = 5.0  # seconds a stray has to act on SIGTERM


class LocalSupervisor:
    def __init__(
        self,
        host: Host | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        cgroups: Cgroups | None = None,
        restart_book: Callable[[], RestartBook] = RestartBook,
        listener: RuntimeListener | None = None,
    ) -> None:
        self.host: Host = host if host is not None else LocalHost()
        self.clock = clock
        self.confiner = Confiner(cgroups)
        self._listener = listener
        self._restart_book = restart_book
        self._instances: dict[str, dict[str, ServiceRun]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._background = Background()  # exits told, give-ups, restarts after a backoff
        self._journaling = Background()  # changes told, which settle() waits for

    def listen(self, listener: RuntimeListener) -> None:
        self._listener = listener

    def services(self, instance_id: str) -> list[ServiceRun]:
        return list(self._instances.get(instance_id, {}).values())

    def _lock(self, instance_id: str) -> asyncio.Lock:
        return self._locks.setdefault(instance_id, asyncio.Lock())

    # -- starting -----------------------------------------------------------------------

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
        run.move(Status.STARTING)
        spawned = await self._spawn(run)
        deadline = self.clock.monotonic() + plan.start_timeout
        pauses = ready_polls(probe=plan.probe is not None)
        while True:
            if run.gone:  # the host said so: no need to ask on every poll
                run.exit_code = self.host.exit_code(spawned)
                run.move(Status.FAILED)
                raise StartFailed(self._reason(run, "while starting"))
            if await self.host.ready(plan, spawned):
                run.move(Status.RUNNING)
                self._changed(run)
                return
            if self.clock.monotonic() >= deadline:
                waited = (
                    "its health probe to pass"
                    if plan.probe
                    else f"port {', '.join(map(str, plan.ports))} to listen"
                )
                run.move(Status.FAILED)
                raise StartFailed(
                    f"{plan.unit} did not become ready in {plan.start_timeout:g} s "
                    f"(waited for {waited})" + self._tail(plan),
                    code="START_TIMEOUT",
                )
            await self.clock.sleep(next(pauses))

    async def _spawn(self, run: ServiceRun) -> Spawned:
        try:
            spawned = await self.host.spawn(run.plan, lambda: self._confine(run))
        except CannotConfine as exc:
            run.move(Status.FAILED)
            raise StartFailed(f"{run.plan.unit}: cannot apply its limits: {exc.message}") from None
        except SpawnFailed as exc:
            run.move(Status.FAILED)
            code = exc.code if isinstance(exc, PortTaken) else None  # else START_FAILED
            raise StartFailed(f"{run.plan.unit}: {exc.message}", code=code) from None
        run.spawned = spawned
        run.exit_code = None
        run.started = self.clock.monotonic()
        run.gone = not self._watch(run)  # not watchable: it exited already
        return spawned

    def _confine(self, run: ServiceRun) -> list[str]:
        """The wrapper that puts the service in its instance's cgroups (runs where the
        host spawns, off the event loop)."""
        prefix = self.confiner.wrapper(run.plan.instance_id, run.plan.limits)
        run.oom_before = self.confiner.oom_kills(run.plan.instance_id)
        return prefix

    def _watch(self, run: ServiceRun) -> bool:
        """Have ``_exited`` called when the process exits; False when it is gone."""
        assert run.spawned is not None
        run.unwatch = self.host.watch(run.spawned, lambda: self._exited(run))
        return run.unwatch is not None

    def _unwatch(self, run: ServiceRun) -> None:
        if run.unwatch is not None:
            run.unwatch()
            run.unwatch = None

    # -- exits, restarts, giving up -------------------------------------------------------

    def _exited(self, run: ServiceRun) -> None:
        """The process exited (it may still be a zombie)."""
        run.gone = True
        self._unwatch(run)
        if run.spawned is not None:
            run.exit_code = self.host.exit_code(run.spawned)
        oom = self.confiner.killed_for_memory(run.plan.instance_id, run.exit_code, run.oom_before)
        run.oom_killed = oom
        run.reason = memory_kill(run.plan.limits.memory) if oom else describe_exit(run.exit_code)
        if run.status is not Status.RUNNING:
            return  # starting (the start loop reports it) or stopping (expected)
        if not restart_wanted(run.plan.restart, run.exit_code):
            run.move(Status.EXITED)
            self._changed(run)
            self._tell_exit(run, "not restarted (policy)" if run.exit_code == 0 else "gave up")
            if run.exit_code != 0:
                self._give_up(run)
            return
        now = self.clock.monotonic()
        run.book.exited(now=now, ran_for=now - run.started)
        if run.book.limit_hit:
            self._tell_exit(run, "gave up")
            self._give_up(run)
            return
        run.move(Status.BACKOFF)
        self._changed(run)
        self._tell_exit(run, f"restarting in {run.book.delay:g} s")
        run.pending = self._background.run(self._restart_later(run, run.book.delay))

    def _tell_exit(self, run: ServiceRun, then: str) -> None:
        if self._listener is not None:
            self._background.run(self._listener.service_exited(run.exit(then)))

    async def _restart_later(self, run: ServiceRun, delay: float) -> None:
        await self.clock.sleep(delay)
        if run.status is not Status.BACKOFF:
            return
        try:
            await self._spawn(run)
        except StartFailed:
            self._give_up(run)
            return
        run.restarts += 1
        run.move(Status.RUNNING)
        self._changed(run)
        if run.gone:  # exited before it could be watched: as any exit while running
            self._exited(run)

    def _give_up(self, run: ServiceRun) -> None:
        run.move(Status.FAILED)
        self._changed(run)
        reason = self._reason(run, "")
        if run.book.limit_hit:
            reason = (
                f"{run.plan.unit} {run.reason}, {len(run.book.recent)} "
                f"failures in {run.book.interval:g} s: giving up" + self._tail(run.plan)
            )
        self._background.run(self._fail_instance(run.plan.instance_id, reason))

    async def _fail_instance(self, instance_id: str, reason: str) -> None:
        async with self._lock(instance_id):
            await self._stop_all(instance_id, keep_status=True)
        if self._listener is not None:
            await self._listener.instance_failed(instance_id, reason)

    def _reason(self, run: ServiceRun, when: str) -> str:
        return (
            f"{run.plan.unit} {run.reason or describe_exit(run.exit_code)}"
            + (f" {when}" if when else "")
            + self._tail(run.plan)
        )

    def _tail(self, plan: ServicePlan) -> str:
        tail = self.host.log_tail(plan, TAIL_LINES)
        return f"; last output:\n{tail}" if tail else ""

    # -- telling the listener ---------------------------------------------------------------

    def _changed(self, run: ServiceRun) -> None:
        if self._listener is not None:
            self._journaling.run(self._listener.service_changed(run.change()))

    async def settle(self) -> None:
        """Wait until every change told so far is recorded."""
        await self._journaling.settle()

    # -- stopping -----------------------------------------------------------------------

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
        self.confiner.release(instance_id)

    async def _stop_runs(self, runs: list[ServiceRun], *, keep_status: bool = False) -> None:
        """Stop ``runs`` (in start order), dependents first."""
        for run in reversed(runs):
            if run.pending is not None:
                run.pending.cancel()
                run.pending = None
            final = run.status if keep_status and run.status is Status.FAILED else Status.STOPPED
            if run.spawned is not None and run.status is not Status.STOPPED:
                run.move(Status.STOPPING)
                await self.host.terminate(run.spawned, run.plan.stop_timeout)
                self._unwatch(run)
                code = self.host.exit_code(run.spawned)
                run.exit_code = code if code is not None else run.exit_code
            run.move(final)
            self._changed(run)

    # -- adopting, pausing, looking -------------------------------------------------------

    async def adopt(self, plans: Sequence[ServicePlan], found: Sequence[Recorded]) -> list[str]:
        """Supervise processes a previous server started, if they still run (same pid
        and start time), and record them; the services that do not run, to start."""
        if not plans:
            return []
        by_service = {record.service: record for record in found}
        missing = []
        async with self._lock(plans[0].instance_id):
            runs = self._instances.setdefault(plans[0].instance_id, {})
            for plan in plans:
                record = by_service.get(plan.service)
                if record is None or not self.host.alive(record.pid, record.started_at):
                    missing.append(plan.service)
                    continue
                run = ServiceRun(plan, self._restart_book(), restarts=record.restarts)
                run.spawned = Spawned(record.pid, record.started_at)
                run.move(Status.PAUSED if record.paused else Status.RUNNING)
                run.started = self.clock.monotonic()
                if not self._watch(run):  # exited since it was looked at
                    missing.append(plan.service)
                    continue
                runs[plan.service] = run
                self._changed(run)
        return missing

    async def inventory(self) -> list[Found]:
        folders = sorted(set(c.bases.values())) if (c := self.confiner.cgroups) else []
        return await asyncio.to_thread(self.host.inventory, folders)

    async def sweep(self, found: Sequence[Found]) -> list[Found]:
        """Stop every process in ``found`` that is not a service held here or one of its
        own: what a server left behind (killed before it recorded a start, or of an
        instance that should not run). The ones stopped."""
        held = {
            r.spawned.pid for runs in self._instances.values() for r in runs.values() if r.spawned
        }
        strays = [process for process in found if not belongs(process, held)]
        await asyncio.gather(
            *(self.host.terminate(Spawned(p.pid, p.started_at), STRAY_GRACE) for p in strays)
        )
        return strays

    async def pause(self, instance_id: str) -> None:
        """Freeze every process of the instance: the cgroup freezer where there is one,
        else SIGSTOP to each group and descendant."""
        async with self._lock(instance_id):
            frozen = self.confiner.freeze(instance_id, True)
            for run in self.services(instance_id):
                if run.spawned is not None and run.status is Status.RUNNING:
                    if not frozen:
                        self.host.freeze(run.spawned)
                    run.move(Status.PAUSED)
                    self._changed(run)

    async def resume(self, instance_id: str) -> None:
        async with self._lock(instance_id):
            self._thaw(instance_id)
            for run in self.services(instance_id):
                if run.status is Status.PAUSED:
                    run.move(Status.RUNNING)
                    self._changed(run)

    def _thaw(self, instance_id: str) -> None:
        """Thaw through whichever way froze it (both are harmless when not frozen)."""
        self.confiner.freeze(instance_id, False)
        for run in self.services(instance_id):
            if run.spawned is not None and run.status is Status.PAUSED:
                self.host.thaw(run.spawned)

    def states(self, instance_id: str, *, measured: bool = True) -> list[ServiceState]:
        states = []
        for run in self.services(instance_id):
            live = run.live
            if live is None:
                states.append(run.state(None, None))
            else:
                usage = self.host.usage(live) if measured else None
                states.append(run.state(usage, self.host.uptime(live)))
        return states

    def usage(self, instance_id: str) -> InstanceUsage:
        return InstanceUsage.of(self.states(instance_id), self.confiner.usage(instance_id))

    def enforcement(self, instance_id: str) -> dict[str, Any]:
        runs = self.services(instance_id)
        return self.confiner.enforcement(instance_id, runs[0].plan.limits if runs else None)

    # -- leaving --------------------------------------------------------------------------

    async def forget(self, instance_id: str) -> None:
        await self.stop(instance_id)
        await self.settle()
        self.confiner.release(instance_id)
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
                self.host.let_go(run.spawned)
        for work in (self._journaling, self._background):
            await work.settle(within=5)
            work.cancel()
        self.host.close()
        self.confiner.close()
