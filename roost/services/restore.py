"""Restoring a backup into its instance, all or nothing.

The archive is read through and checked first (entries, manifest, the recorded sha256,
the app): a damaged or hostile one is refused before anything is touched. Then a
``pre-restore`` backup of the current state is taken; if it fails, so does the restore.
The instance goes to ``migrating`` (the data plane serves reads and refuses writes
with 409 ``RESTORE_IN_PROGRESS``), its services stop, the archive is unpacked beside
the instance's directory and swapped in by renames; any failure up to the swap puts
the old directory back. The instance then returns to its previous state, its services
started again if it was active.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from sqlalchemy import Connection

from roost.auth import Actor
from roost.cache.backend import Limits
from roost.cache.dump import load_items
from roost.domain.backups import ArchiveRefused
from roost.domain.errors import Conflict
from roost.domain.model import Instance
from roost.domain.states import Action, State
from roost.registry import backups as store
from roost.registry import instances as q
from roost.services import backup_files, backups, runner
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.directory import limits_of
from roost.services.lifecycle import migrating

UNLIMITED = Limits(max_bytes=2**62, max_keys=2**62)  # putting back what was there


class RestoreFailed(Conflict):
    code = "RESTORE_FAILED"


async def restore_backup(ctx: Context, actor: Actor, instance_id: str, name: str) -> Instance:
    row = await backups.get_backup(ctx, actor, instance_id, name, "instance.restore")
    instance = await ctx.registry.read(q.get_instance, instance_id)
    assert instance is not None  # get_backup found it
    scanned = await backups.verify_backup(ctx, actor, instance_id, name)
    if scanned.manifest.app != instance.app:
        raise ArchiveRefused(
            f"backup {name!r} is of app {scanned.manifest.app!r}, not {instance.app!r}"
        )
    _, taking = await backups.take_backup(ctx, actor, instance_id, kind="pre-restore")
    before = await taking
    if before.status != store.COMPLETED:
        raise RestoreFailed(
            f"not restored: the backup of the current state failed ({before.error})",
            pre_restore=before.name,
        )
    ctx.directory.restoring.add(instance_id)
    try:
        async with migrating(ctx, actor, instance_id, Action.RESTORE) as held:
            if held.previous_state is State.ACTIVE:
                await ctx.runtime.stop(instance_id)
            try:
                await _put_in_place(ctx, instance, row)
            except Exception as error:
                reason = getattr(error, "message", None) or f"{error.__class__.__name__}: {error}"
                raise RestoreFailed(
                    f"not restored, nothing changed: {reason}", pre_restore=before.name
                ) from None
            finally:
                if held.previous_state is State.ACTIVE:
                    await runner.start_again(ctx, actor, instance_id)
    finally:
        ctx.directory.restoring.discard(instance_id)

    def done(conn: Connection, record: Recorder) -> Instance:
        restored = q.get_instance(conn, instance_id)
        assert restored is not None
        record("backup.restored", restored, details={"name": name, "pre_restore": before.name})
        return restored

    return await commit(ctx, actor, done)


async def _put_in_place(ctx: Context, instance: Instance, row: store.BackupRow) -> None:
    """The backup's files swapped in and its cache dump made the namespace's content;
    if either fails, the old files and keys are put back."""
    instance_id = instance.instance_id
    unpacked = await backup_files.unpack(ctx, row, instance_id)
    try:
        items = None if unpacked.cache_dump is None else load_items(unpacked.cache_dump)
        kept = await ctx.cache.snapshot(instance_id) if items is not None else []
        await asyncio.to_thread(unpacked.swap)
        try:
            if items is not None:
                now_ms = int(time.time() * 1000)
                await ctx.cache.replace(instance_id, items, limits_of(instance.config), now_ms)
        except Exception:
            await asyncio.to_thread(unpacked.undo)
            if items is not None:
                with contextlib.suppress(Exception):  # the error that matters is raised next
                    await ctx.cache.replace(instance_id, kept, UNLIMITED, 0)
            raise
    finally:
        await asyncio.to_thread(unpacked.finish)
