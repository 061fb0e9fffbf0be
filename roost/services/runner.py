"""Running instances: the supervisor, driven by lifecycle actions and kept in the registry.

A lifecycle action on an instance of an app with services does the work first (start,
stop, freeze, thaw its processes) and then records the new state; a start that fails
leaves the instance in ``error`` with the reason. Every process the supervisor runs is
recorded (pid and start time), so the next ``roost serve`` adopts what still runs
instead of starting it twice, and starts what should run and does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from roost.auth import LOCAL_ACTOR, Actor
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, NotFound
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import Action, State, is_noop, transition
from roost.instance_dir import InstanceDir
from roost.registry import instances as q
from roost.registry import processes as process_store
from roost.registry.events import record_event
from roost.runtime import logs
from roost.runtime.cgroups import Cgroups
from roost.runtime.plan import ServicePlan, plan_instance
from roost.runtime.protocol import Recorded, Runtime, ServiceState
from roost.runtime.supervisor import LocalSupervisor, ServiceRun, StartFailed, Status
from roost.services import instance_files
from roost.services.instances import transition_unit
from roost.services.queries import every_instance

if TYPE_CHECKING:
    from roost.services.context import Context

log = logging.getLogger("roost.runner")
RUNS = (State.ACTIVE, State.PAUSED)  # states whose services should be running
BOOT_CONCURRENCY = 8
ROTATE_EVERY = 10.0


class Runner:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        scope = hashlib.sha256(str(ctx.home.path.resolve()).encode()).hexdigest()[:10]
        self.supervisor: Runtime = LocalSupervisor(
            on_failure=self._failed,
            journal=self._journal,
            on_exit=self._exited,
            cgroups=Cgroups(scope),
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._unrecorded: dict[tuple[str, str], process_store.ProcessRow] = {}
        self._recorder: asyncio.Future[None] | None = None

    def _lock(self, instance_id: str) -> asyncio.Lock:
        return self._locks.setdefault(instance_id, asyncio.Lock())

    async def plans(
        self, instance: Instance, sealed: dict[str, str] | None = None
    ) -> list[ServicePlan]:
        """The instance's services as they should run now: files rendered again first,
        so a (re)start never runs with a stale config, port or secret (``sealed``: the
        secrets, when they were read with the instance)."""
        ctx = self._ctx
        rendering = await instance_files.rendering_of(ctx, instance, sealed)
        if rendering is None or not rendering.spec.services:
            return []
        instance_files.write_files(ctx, instance, rendering)
        return plan_instance(
            instance,
            rendering.spec,
            rendering.config,
            InstanceDir(ctx.home.path, instance.instance_id).path,
            rendering.secrets,
            ctx.settings.url,
            os.environ,
        )

    async def act(self, actor: Actor, instance: Instance, action: Action) -> Instance:
        """Apply a lifecycle action to an instance whose app has services."""
        async with self._lock(instance.instance_id):
            current = await self._ctx.registry.read(
                instance_files.instance_and_sealed_secrets, instance.instance_id
            )
            instance, sealed = current or (instance, None)
            transition(instance.state, action)  # refused here, before any process is touched
            if is_noop(instance.state, action):
                return instance
            if action in (Action.START, Action.RESTART):
                plans = await self.plans(instance, sealed)  # a bad config fails before a stop
                if instance.state is State.ACTIVE:
                    await self.supervisor.stop(instance.instance_id)
                try:
                    await self.supervisor.start(plans)
                except StartFailed as exc:
                    await self._record_failure(actor, instance.instance_id, exc.message)
                    raise
            elif action is Action.STOP:
                await self.supervisor.stop(instance.instance_id)
            elif action is Action.PAUSE:
                await self.supervisor.pause(instance.instance_id)
            elif action is Action.RESUME:
                await self.supervisor.resume(instance.instance_id)
            return await self._record_transition(actor, instance, action)

    async def remove(self, instance_id: str) -> None:
        """Stop the instance's services for good (it is being deleted): recorded, and
        its cgroups gone."""
        async with self._lock(instance_id):
            await self.supervisor.forget(instance_id)

    def limits(self, instance_id: str) -> dict[str, Any]:
        """Each limit of the instance's last start with what enforces it, and the freezer."""
        return self.supervisor.enforcement(instance_id)

    async def services(self, instance: Instance) -> list[dict[str, Any]]:
        """Seed 003's service shape, per service, with what the process uses."""
        spec = await instance_files.spec_of(self._ctx, instance)
        if spec is None:
            return []
        states = {state.service: state for state in self.supervisor.states(instance.instance_id)}
        views = []
        for name in spec.start_order():
            ports = spec.service_ports(name)
            state = states.get(name, ServiceState(name, Status.STOPPED.value))
            views.append(
                {
                    "service": f"{name}@{instance.instance_id}",
                    "name": instance.name,
                    "instance_id": instance.instance_id,
                    "ip": "127.0.0.1",
                    "port": instance.ports.get(ports[0]) if ports else None,
                    "status": state.status,
                    "pid": state.pid,
                    "uptime_s": state.uptime_s,
                    "restarts": state.restarts,
                    "exit_code": state.exit_code,
                    "cpu_percent": state.cpu_percent,
                    "rss_bytes": state.rss_bytes,
                }
            )
        return views

    async def log_files(self, instance: Instance, service: str | None) -> dict[str, Path]:
        """The log file of each service (or of ``service``), in start order."""
        spec = await instance_files.spec_of(self._ctx, instance)
        names = spec.start_order() if spec is not None else []
        if service is not None:
            if service not in names:
                raise _no_such_service(instance, service)
            names = [service]
        folder = InstanceDir(self._ctx.home.path, instance.instance_id).path / "logs"
        return {name: folder / f"{name}.log" for name in names}

    async def rotate_logs_forever(self) -> None:
        """Every little while, rotate the service logs that grew past the limit."""
        while True:
            await asyncio.sleep(ROTATE_EVERY)
            await self.rotate_logs()

    async def rotate_logs(self) -> list[Path]:
        """Rotate every service log past ``ROOST_LOG_MAX_BYTES``; the ones rotated."""
        settings = self._ctx.settings
        root = self._ctx.home.path / "instances"
        rotated = []
        for path in await asyncio.to_thread(lambda: sorted(root.glob("*/logs/*.log"))):
            try:
                if await asyncio.to_thread(
                    logs.rotate, path, max_bytes=settings.log_max_bytes, keep=settings.log_keep
                ):
                    rotated.append(path)
            except OSError as exc:
                log.warning("could not rotate %s: %s", path, exc)
        return rotated

    async def service_action(
        self, actor: Actor, instance: Instance, service: str, verb: str
    ) -> None:
        """``start``, ``stop`` or ``restart`` one service of an active instance."""
        spec = await instance_files.spec_of(self._ctx, instance)
        if spec is None or service not in spec.services:
            raise _no_such_service(instance, service)
        async with self._lock(instance.instance_id):
            current = await self._ctx.registry.read(q.get_instance, instance.instance_id)
            if current is None or current.state is not State.ACTIVE:
                state = current.state.value if current else "gone"
                raise Conflict(
                    f"instance {instance.instance_id!r} is {state}: start it first",
                    code="INVALID_TRANSITION",
                    state=state,
                    action=f"service {verb}",
                )
            if verb in ("stop", "restart"):
                await self.supervisor.stop_service(instance.instance_id, service)
            if verb in ("start", "restart"):
                plans = [p for p in await self.plans(current) if p.service == service]
                await self.supervisor.start(plans, all_or_nothing=False)

        def record(conn: Connection) -> None:
            record_event(
                conn,
                actor=actor.name,
                action=f"service.{verb}",
                instance_id=instance.instance_id,
                app=instance.app,
                details={"service": service},
            )

        await self._ctx.registry.write(record)

    async def _record_transition(
        self, actor: Actor, instance: Instance, action: Action
    ) -> Instance:
        moved = await self._ctx.registry.write(transition_unit(actor, instance.instance_id, action))
        self._ctx.directory.forget(instance.instance_id)
        return moved

    async def _record_failure(self, actor: Actor, instance_id: str, reason: str) -> None:
        """Any state but ``deleting`` may fail: to ``error``, with the reason."""

        reason = reason[:2000]

        def apply(conn: Connection) -> None:
            instance = q.get_instance(conn, instance_id, for_update=True)
            if instance is None or instance.state is State.DELETING:
                return
            q.compare_and_set_state(
                conn,
                instance.pk,
                expected=instance.state,
                new=State.ERROR,
                at=utcnow(),
                error=reason,
            )
            record_event(
                conn,
                actor=actor.name,
                action="instance.failed",
                instance_id=instance_id,
                app=instance.app,
                outcome="error",
                details={"from": instance.state.value, "reason": reason},
            )

        await self._ctx.registry.write(apply)
        self._ctx.directory.forget(instance_id)

    async def _failed(self, instance_id: str, reason: str) -> None:
        """The supervisor gave a service up (start limit, or a failure not restarted)."""
        await self._record_failure(LOCAL_ACTOR, instance_id, reason)

    async def _exited(self, run: ServiceRun, reason: str, then: str) -> None:
        """An event for every exit the supervisor did not ask for, with why and what next."""

        def apply(conn: Connection) -> None:
            instance = q.get_instance(conn, run.plan.instance_id)
            record_event(
                conn,
                actor="supervisor",
                action="service.exited",
                instance_id=run.plan.instance_id,
                app=instance.app if instance else None,
                outcome="error" if run.exit_code != 0 else "ok",
                details={
                    "service": run.plan.service,
                    "exit_code": run.exit_code,
                    "reason": reason,
                    "then": then,
                },
            )

        try:
            await self._ctx.registry.write(apply)
        except Exception:
            log.exception("could not record the exit of %s", run.plan.unit)

    async def _journal(self, run: ServiceRun) -> None:
        """Record the run's process; returns once it is in the registry. The runs that
        change meanwhile are recorded together, in one write."""
        spawned = run.spawned
        running = run.status in (Status.RUNNING, Status.PAUSED, Status.STARTING)
        self._unrecorded[(run.plan.instance_id, run.plan.service)] = process_store.ProcessRow(
            run.plan.instance_id,
            run.plan.service,
            pid=spawned.pid if spawned and running else None,
            started_at=spawned.started_at if spawned and running else None,
            status=run.status.value,
            restarts=run.restarts,
            exit_code=run.exit_code,
        )
        if self._recorder is None:
            self._recorder = asyncio.ensure_future(self._record_unrecorded())
        await asyncio.shield(self._recorder)

    async def _record_unrecorded(self) -> None:
        try:
            while self._unrecorded:
                rows = list(self._unrecorded.values())
                self._unrecorded.clear()
                try:
                    await self._ctx.registry.write(
                        functools.partial(process_store.record_processes, rows=rows, at=utcnow())
                    )
                except Exception:  # the registry may be closing; the next change records again
                    log.exception("could not record %d processes", len(rows))
        finally:
            self._recorder = None

    async def boot(self) -> None:
        """At server start: adopt what still runs; start the instances that should run
        and do not, or (autostart off) put them in ``error`` with what does not run."""
        ctx = self._ctx
        rows = await ctx.registry.read(process_store.processes_of, None)
        recorded: dict[str, list[Recorded]] = {}
        for row in rows:
            if row.pid is not None and row.started_at is not None:
                recorded.setdefault(row.instance_id, []).append(
                    Recorded(
                        row.service,
                        row.pid,
                        row.started_at,
                        row.restarts,
                        paused=row.status == Status.PAUSED.value,
                    )
                )
        gate = asyncio.Semaphore(BOOT_CONCURRENCY)

        async def one(instance: Instance) -> None:
            async with gate, self._lock(instance.instance_id):
                plans = await self.plans(instance)
                missing = await self.supervisor.adopt(plans, recorded.get(instance.instance_id, []))
                if not missing:
                    return
                if not ctx.settings.autostart:  # it should run and does not: say so
                    units = ", ".join(f"{name}@{instance.instance_id}" for name in missing)
                    await self._failed(
                        instance.instance_id,
                        f"{units} did not run when the server started, and autostart is "
                        "off: start the instance to run them",
                    )
                    return
                try:
                    await self.supervisor.start(plans)
                except StartFailed as exc:
                    await self._failed(instance.instance_id, exc.message)

        wanted = [
            instance
            for state in RUNS
            for instance in await every_instance(ctx, InstanceFilter(state=state))
        ]
        results = await asyncio.gather(*(one(i) for i in wanted), return_exceptions=True)
        for instance, result in zip(wanted, results, strict=True):
            if isinstance(result, BaseException):
                log.error("could not bring up %s: %s", instance.instance_id, result)

    async def close(self, *, stop_all: bool) -> None:
        with contextlib.suppress(Exception):
            await self.supervisor.close(stop_all=stop_all)


def _no_such_service(instance: Instance, service: str) -> NotFound:
    return NotFound(
        f"instance {instance.instance_id!r} has no service {service!r}",
        code="SERVICE_NOT_FOUND",
    )
