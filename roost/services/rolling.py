"""Rolling restarts: a few instances at a time, each healthy again before the next.

``max_unavailable`` instances are restarted together; each must then pass its health
checks within ``timeout`` seconds. The first that does not (or whose restart fails)
stops the roll: the instances after it are not touched, and say so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from roost.auth import Actor
from roost.domain.errors import Conflict, RoostError
from roost.domain.model import Instance
from roost.domain.states import Action, Health
from roost.services import health, lifecycle
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
    ids = list(dict.fromkeys(instance_ids))
    stopped_at: str | None = None
    for start in range(0, len(ids), roll.max_unavailable):
        batch = ids[start : start + roll.max_unavailable]
        if stopped_at is not None:
            for instance_id in batch:
                yield instance_id, _not_touched(instance_id, stopped_at)
            continue
        outcomes = await asyncio.gather(*(_one(ctx, actor, i, roll) for i in batch))
        for instance_id, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, RoostError) and stopped_at is None:
                stopped_at = instance_id
            yield instance_id, outcome


async def _one(ctx: Context, actor: Actor, instance_id: str, roll: Roll) -> Instance | RoostError:
    try:
        instance = await lifecycle.act(ctx, actor, instance_id, Action.RESTART)
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


def _not_touched(instance_id: str, stopped_at: str) -> Conflict:
    return Conflict(
        f"not restarted: the roll stopped at {stopped_at!r}",
        code="ROLL_STOPPED",
        instance_id=instance_id,
        stopped_at=stopped_at,
    )
