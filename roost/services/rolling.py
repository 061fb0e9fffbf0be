"""Rolling restarts and upgrades: a few instances at a time, each healthy again
before the next.

``max_unavailable`` instances are restarted (or upgraded) together; each must then pass
its health checks within ``timeout`` seconds. The first that does not (or whose restart
fails) stops the roll: the instances after it are not touched, and say so.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from roost.auth import Actor
from roost.domain.errors import Conflict, RoostError
from roost.domain.model import Instance
from roost.domain.states import Action, Health
from roost.services import health, lifecycle, upgrades
from roost.services.context import Context

RECHECK_S = 0.25  # between health checks of a restarted instance


@dataclass(frozen=True)
class Roll:
    max_unavailable: int = 1
    timeout: float = 60.0  # seconds for each instance to be healthy again


async def restart_rolling(
    ctx: Context, actor: Actor, instance_ids: list[str], roll: Roll
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    """Each instance's outcome in order: restarted and healthy, or why not; once one
    fails, every one after it is a ``ROLL_STOPPED`` refusal."""
    step = functools.partial(lifecycle.act, ctx, actor, action=Action.RESTART)
    async for outcome in _rolling(ctx, actor, instance_ids, roll, step, "restarted"):
        yield outcome


async def upgrade_rolling(
    ctx: Context, actor: Actor, instance_ids: list[str], roll: Roll, version: str | None
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    """As :func:`restart_rolling`, each instance moved to ``version`` (an active one is
    restarted by its upgrade; one that is not active is not checked)."""
    step = functools.partial(upgrades.upgrade_instance, ctx, actor, version=version)
    async for outcome in _rolling(ctx, actor, instance_ids, roll, step, "upgraded"):
        yield outcome


async def _rolling(
    ctx: Context,
    actor: Actor,
    instance_ids: list[str],
    roll: Roll,
    step: Callable[[str], Awaitable[Instance]],
    done: str,
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    ids = list(dict.fromkeys(instance_ids))
    stopped_at: str | None = None
    for start in range(0, len(ids), roll.max_unavailable):
        batch = ids[start : start + roll.max_unavailable]
        if stopped_at is not None:
            for instance_id in batch:
                yield instance_id, _not_touched(instance_id, stopped_at, done)
            continue
        outcomes = await asyncio.gather(*(_one(ctx, actor, i, roll, step) for i in batch))
        for instance_id, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, RoostError) and stopped_at is None:
                stopped_at = instance_id
            yield instance_id, outcome


async def _one(
    ctx: Context,
    actor: Actor,
    instance_id: str,
    roll: Roll,
    step: Callable[[str], Awaitable[Instance]],
) -> Instance | RoostError:
    try:
        instance = await step(instance_id)
        return await _healthy_again(ctx, actor, instance, within=roll.timeout)
    except RoostError as exc:
        return exc


async def _healthy_again(
    ctx: Context, actor: Actor, instance: Instance, *, within: float
) -> Instance:
    deadline = time.monotonic() + within
    while True:
        [checked] = await health.check_many(ctx, [instance], actor=actor)
        if checked.now.health is Health.HEALTHY or not checked.now.services:
            return instance  # healthy, or nothing of it runs to be healthy
        if time.monotonic() >= deadline:
            raise Conflict(
                f"instance {instance.instance_id!r} was not healthy {within:g}s after its"
                f" restart ({checked.now.health.value}: {checked.now.error or 'no answer'})",
                code="NOT_HEALTHY",
                instance_id=instance.instance_id,
                health=checked.now.health.value,
            )
        await asyncio.sleep(RECHECK_S)


def _not_touched(instance_id: str, stopped_at: str, done: str) -> Conflict:
    return Conflict(
        f"not {done}: the roll stopped at {stopped_at!r}",
        code="ROLL_STOPPED",
        instance_id=instance_id,
        stopped_at=stopped_at,
    )
