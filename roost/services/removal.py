"""Deleting an instance and everything that hangs off it: processes, cache namespace,
uninstall hook, directory, registry entry (keys, usage, ports, secrets with it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import Conflict
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.domain.states import Action
from roost.instance_dir import InstanceDir
from roost.registry import instances as q
from roost.registry.backups import COMPLETED
from roost.services import backups, instance_files, runner
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.transitions import transition_unit


async def delete_instance(
    ctx: Context, actor: Actor, instance_id: str, *, backup: bool = False
) -> None:
    """Mark the instance ``deleting``, then remove it and everything that hangs off it;
    with ``backup``, a ``pre-delete`` backup first, kept after it is gone (if it fails,
    nothing is deleted)."""
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "instance.delete", instance_id)
    if backup:
        _, taking = await backups.take_backup(ctx, actor, instance_id, kind="pre-delete")
        taken = await taking
        if taken.status != COMPLETED:
            raise Conflict(
                f"not deleted: its pre-delete backup failed ({taken.error})",
                code="BACKUP_FAILED",
                backup=taken.name,
            )
    instance = await commit(ctx, actor, transition_unit(instance_id, Action.DELETE))
    await runner.stop_for_good(ctx, instance_id)
    await ctx.cache.drop(instance_id)
    hook = await instance_files.uninstall(ctx, instance)
    details = (
        {} if hook is None else {"uninstall_exit_code": hook.code, "uninstall_output": hook.tail}
    )
    await remove_entry(ctx, actor, instance, action="instance.deleted", details=details)


async def remove_entry(
    ctx: Context,
    actor: Actor,
    instance: Instance,
    *,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Delete the registry entry (keys, usage, ports, secrets go with it) and the
    directory; give its ordinal and ports back."""

    def remove(conn: Connection, record: Recorder) -> None:
        q.delete_instance(conn, instance.pk)
        record(action, instance, details=details or {})

    await commit(ctx, actor, remove)
    ctx.directory.deleted(instance.instance_id)
    InstanceDir(ctx.home.path, instance.instance_id).remove()
    (await ctx.ordinals.book(instance.app_pk)).release(instance.ordinal)
    ctx.ports.release(instance.ports.values())
