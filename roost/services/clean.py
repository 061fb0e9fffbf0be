"""Seed 004's ``clean``: an instance's rendered files, logs and data go; the instance,
its registry entry and its ports stay. The next start or config change renders again."""

from __future__ import annotations

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import Conflict
from roost.domain.model import Instance
from roost.domain.states import State
from roost.instance_dir import InstanceDir
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance

RUNNING = (State.ACTIVE, State.PAUSED, State.MIGRATING)  # too busy to be cleaned


async def clean_instance(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "instance.clean", instance_id)
    if instance.state in RUNNING:
        raise Conflict(
            f"instance {instance_id!r} is {instance.state.value}: stop it before cleaning",
            code="INVALID_TRANSITION",
            state=instance.state.value,
            action="clean",
        )
    InstanceDir(ctx.home.path, instance_id).clean()

    def apply(conn: Connection, record: Recorder) -> None:
        record("instance.clean", instance)

    await commit(ctx, actor, apply)
    return instance
