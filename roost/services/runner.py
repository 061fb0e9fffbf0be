"""Running instances: lifecycle actions drive the runtime, then the registry records them.

A lifecycle action on an instance of an app with services does the work first (start,
stop, freeze, thaw its processes) and then records the new state; a start that fails
leaves the instance in ``error`` with the reason. Every process the runtime runs is
recorded (``process_journal.py``), and the next ``roost serve`` makes what runs match
what should (``boot.py``).
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import Conflict, NotFound
from roost.domain.model import Instance
from roost.domain.states import Action, State, is_noop, transition
from roost.instance_dir import InstanceDir
from roost.registry import instances as q
from roost.runtime.errors import StartFailed
from roost.runtime.plan import ServicePlan, plan_instance
from roost.services import instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.transitions import record_failure, transition_unit
from roost.tokens import cache_token

log = logging.getLogger("roost.runner")
RUNS = (State.ACTIVE, State.PAUSED)  # states whose services should be running
BOOT_CONCURRENCY = 8


def start_failed(exc: StartFailed) -> Conflict:
    """What a failed start is to the caller: 409, with the runtime's code and reason."""
    return Conflict(exc.message, code=exc.code)


async def plans(
    ctx: Context, instance: Instance, sealed: dict[str, str] | None = None
) -> list[ServicePlan]:
    """The instance's services as they should run now: files rendered again first, so a
    (re)start never runs with a stale config, port or secret (``sealed``: the secrets,
    when they were read with the instance)."""
    return await _plans(ctx, instance, sealed, write=True)


async def probe_plans(ctx: Context, instance: Instance) -> list[ServicePlan]:
    """The instance's services as they run, for their health probes (nothing written)."""
    return await _plans(ctx, instance, None, write=False)


async def _plans(
    ctx: Context, instance: Instance, sealed: dict[str, str] | None, *, write: bool
) -> list[ServicePlan]:
    rendering = await instance_files.rendering_of(ctx, instance, sealed)
    if rendering is None or not rendering.spec.services:
        return []
    if write:
        instance_files.write_files(ctx, instance, rendering)
    return plan_instance(
        instance,
        rendering.spec,
        rendering.config,
        InstanceDir(ctx.home.path, instance.instance_id).path,
        rendering.secrets,
        ctx.settings.url,
        os.environ,
        cache_token=cache_token(ctx.box.keys, instance.instance_id),
    )


async def act_on_services(
    ctx: Context, actor: Actor, instance: Instance, action: Action
) -> Instance:
    """Apply a lifecycle action to an instance whose app has services."""
    async with ctx.locks(instance.instance_id):
        current = await ctx.registry.read(
            instance_files.instance_and_sealed_secrets, instance.instance_id
        )
        instance, sealed = current or (instance, None)
        transition(instance.state, action)  # refused here, before any process is touched
        if is_noop(instance.state, action):
            return instance
        runtime = ctx.runtime
        if action in (Action.START, Action.RESTART):
            planned = await plans(ctx, instance, sealed)  # a bad config fails before a stop
            if instance.state is State.ACTIVE:
                await runtime.stop(instance.instance_id)
            try:
                await runtime.start(planned)
            except StartFailed as exc:
                await record_failure(ctx, actor, instance.instance_id, exc.message)
                raise start_failed(exc) from None
        elif action is Action.STOP:
            await runtime.stop(instance.instance_id)
        elif action is Action.PAUSE:
            await runtime.pause(instance.instance_id)
        elif action is Action.RESUME:
            await runtime.resume(instance.instance_id)
        return await commit(ctx, actor, transition_unit(instance.instance_id, action))


async def start_again(ctx: Context, actor: Actor, instance_id: str) -> None:
    """Start the services of an instance that stayed active while they were stopped
    (a restore, a backup in stop mode); a start that fails puts it in ``error``."""
    current = await ctx.registry.read(q.get_instance, instance_id)
    if current is None:
        return
    try:
        await ctx.runtime.start(await plans(ctx, current, None))
    except StartFailed as exc:
        await record_failure(ctx, actor, instance_id, exc.message)


async def stop_for_good(ctx: Context, instance_id: str) -> None:
    """Stop the instance's services for good (it is being deleted): recorded, and its
    cgroups gone."""
    async with ctx.locks(instance_id):
        await ctx.runtime.forget(instance_id)


async def service_action(
    ctx: Context, actor: Actor, instance: Instance, service: str, verb: str
) -> None:
    """``start``, ``stop`` or ``restart`` one service of an active instance."""
    await ctx.policy.authorize(actor, f"service.{verb}", instance.instance_id)
    spec = await instance_files.spec_of(ctx, instance)
    if spec is None or service not in spec.services:
        raise no_such_service(instance, service)
    async with ctx.locks(instance.instance_id):
        current = await ctx.registry.read(q.get_instance, instance.instance_id)
        if current is None or current.state is not State.ACTIVE:
            state = current.state.value if current else "gone"
            raise Conflict(
                f"instance {instance.instance_id!r} is {state}: start it first",
                code="INVALID_TRANSITION",
                state=state,
                action=f"service {verb}",
            )
        if verb in ("stop", "restart"):
            await ctx.runtime.stop_service(instance.instance_id, service)
        if verb in ("start", "restart"):
            try:
                await start_service(ctx, current, service)
            except StartFailed as exc:
                raise start_failed(exc) from None

    def apply(conn: Connection, record: Recorder) -> None:
        record(f"service.{verb}", instance, details={"service": service})

    await commit(ctx, actor, apply)


async def start_service(ctx: Context, instance: Instance, service: str) -> None:
    """Start one service of an instance whose others run, its files rendered again first
    (the caller holds the instance's lock)."""
    planned = [p for p in await plans(ctx, instance) if p.service == service]
    await ctx.runtime.start(planned, all_or_nothing=False)


def no_such_service(instance: Instance, service: str) -> NotFound:
    return NotFound(
        f"instance {instance.instance_id!r} has no service {service!r}",
        code="SERVICE_NOT_FOUND",
    )
