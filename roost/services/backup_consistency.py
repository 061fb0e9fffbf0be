"""What keeps a backup consistent, from the app's ``backup`` rules: ``pre`` (flush a
save, pause writes) before the copy, the services stopped or frozen (``mode = "stop"``
or ``"pause"``) while it is taken and back after, and ``post`` after, even when the
copy failed. A hook that exits non-zero fails the backup, saying why."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from roost.auth import Actor
from roost.domain.errors import RoostError
from roost.domain.model import Instance
from roost.domain.spec import AppSpec
from roost.domain.states import State
from roost.services import instance_files, runner
from roost.services.context import Context


class BackupHookFailed(RoostError):
    status = 409
    code = "BACKUP_HOOK_FAILED"


@asynccontextmanager
async def consistent(ctx: Context, actor: Actor, instance: Instance) -> AsyncIterator[None]:
    """The app's ``backup`` rules around the copy: ``pre`` first (flush a save), then
    its services stopped or frozen (``mode``) while it is copied, then back, then
    ``post``, which runs even when the copy failed."""
    spec = await instance_files.spec_of(ctx, instance)
    rules = spec.backup if spec is not None else None
    if spec is None or rules is None:
        yield
        return
    instance_id = instance.instance_id
    running = instance.state is State.ACTIVE and bool(
        ctx.runtime.states(instance_id, measured=False)
    )
    if rules.pre:
        await _hook(ctx, instance, spec, rules.pre, "backup.pre")
    if running and rules.mode == "stop":
        await ctx.runtime.stop(instance_id)
    elif running and rules.mode == "pause":
        await ctx.runtime.pause(instance_id)
    try:
        yield
    finally:
        if running and rules.mode == "stop":
            await runner.start_again(ctx, actor, instance_id)
        elif running and rules.mode == "pause":
            await ctx.runtime.resume(instance_id)
        copied = sys.exc_info()[0] is None
        if rules.post:
            try:
                await _hook(ctx, instance, spec, rules.post, "backup.post")
            except BackupHookFailed:
                if copied:  # else the copy's own failure says more
                    raise


async def _hook(
    ctx: Context, instance: Instance, spec: AppSpec, argv: list[str], which: str
) -> None:
    result = await instance_files.run_spec_hook(ctx, instance, spec, argv)
    if not result.ok:
        said = f": {result.tail}" if result.tail else ""
        raise BackupHookFailed(f"{which} exited {result.code}{said}")
