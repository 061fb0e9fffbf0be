"""The lifecycle of instances: start, stop, restart, pause, resume one or many, and the
restore and move transitions that backups and migration go through.

An instance of an app with services has its processes acted on first
(``runner.py``); any other instance only moves along the table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from roost.auth import Actor
from roost.domain.errors import InternalError, InvalidInput, RoostError
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.domain.states import Action
from roost.services import instance_files, runner
from roost.services.changes import commit
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.transitions import migration_end_unit, transition_unit

ACT_CONCURRENCY = 64  # instances acted on at once by one batch: starts mostly wait on ports
MIGRATIONS = (Action.RESTORE, Action.MOVE)
log = logging.getLogger("roost.lifecycle")


async def act(ctx: Context, actor: Actor, instance_id: str, action: Action) -> Instance:
    """Apply a lifecycle action; an action that changes nothing succeeds quietly."""
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, f"instance.{action.value}", instance_id)
    instance = await get_instance(ctx, actor, instance_id)
    spec = await instance_files.spec_of(ctx, instance)
    if spec is not None and spec.services:
        return await runner.act_on_services(ctx, actor, instance, action)
    return await commit(ctx, actor, transition_unit(instance_id, action))


async def act_many(
    ctx: Context, actor: Actor, instance_ids: list[str], action: Action
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    """Apply a lifecycle action to many instances at once (a bounded number at a time);
    each outcome as soon as it is known. One failure does not stop the others, and an
    action under way finishes even if nobody reads its outcome any more."""
    async for outcome in on_each(
        ctx, instance_ids, lambda i: act(ctx, actor, i, action), action.value
    ):
        yield outcome


async def on_each(
    ctx: Context,
    instance_ids: list[str],
    work: Callable[[str], Awaitable[Instance]],
    what: str,
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    """``work`` on each instance (once per id), :data:`ACT_CONCURRENCY` at a time, each
    outcome (the instance, or why not) as soon as it is known."""
    gate = asyncio.Semaphore(ACT_CONCURRENCY)

    async def one(instance_id: str) -> tuple[str, Instance | RoostError]:
        async with gate:
            try:
                return instance_id, await work(instance_id)
            except RoostError as exc:
                return instance_id, exc
            except Exception:
                log.exception("%s of %s failed", what, instance_id)
                return instance_id, InternalError("internal server error")

    tasks = [ctx.background.run(one(i)) for i in dict.fromkeys(instance_ids)]
    for outcome in asyncio.as_completed(tasks):
        yield await outcome


@asynccontextmanager
async def migrating(
    ctx: Context, actor: Actor, instance_id: str, action: Action
) -> AsyncIterator[Instance]:
    """Hold the instance in ``migrating`` while a restore or move works on it, then put
    it back in the state it had, as recorded when the migration began (also when the
    work fails: the caller rolls its own work back, or records the failure after)::

        async with migrating(ctx, actor, instance_id, Action.RESTORE) as instance:
            ...  # the data plane still serves it; start, stop and the rest are refused
    """
    if action not in MIGRATIONS:
        raise InvalidInput(f"{action.value} is not a migration", code="INVALID_ACTION")
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, f"instance.{action.value}", instance_id)
    async with ctx.locks(instance_id):
        instance = await commit(ctx, actor, transition_unit(instance_id, action))
    try:
        yield instance
    finally:
        async with ctx.locks(instance_id):
            await commit(ctx, actor, migration_end_unit(instance_id))
