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
import os
import secrets
import shutil
from pathlib import Path

from sqlalchemy import Connection

from roost.archive import scan_archive
from roost.auth import Actor
from roost.domain.backups import FILES, ArchiveRefused
from roost.domain.errors import Conflict
from roost.domain.model import Instance
from roost.domain.states import Action, State
from roost.instance_dir import instances_root
from roost.registry import backups as store
from roost.registry import instances as q
from roost.services import backups, runner
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.lifecycle import migrating


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
    archive = backups.archive_path(ctx, instance_id, row.name)
    ctx.directory.restoring.add(instance_id)
    try:
        async with migrating(ctx, actor, instance_id, Action.RESTORE) as held:
            if held.previous_state is State.ACTIVE:
                await ctx.runtime.stop(instance_id)
            try:
                await asyncio.to_thread(swap_in, ctx.home.path, instance_id, archive)
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


def swap_in(home: Path, instance_id: str, archive: Path, *, unpack_in: Path | None = None) -> None:
    """Unpack ``archive`` beside the instance's directory (or in ``unpack_in``), then
    swap it in by renames; the old directory is put back if the swap fails, and removed
    once it is done."""
    root = instances_root(home)
    current = root / instance_id
    token = secrets.token_hex(4)
    staging = (unpack_in or root) / f".{instance_id}.restore-{token}"
    old = root / f".{instance_id}.old-{token}"
    staging.mkdir(mode=0o700)
    try:
        with open(archive, "rb") as source:
            scan_archive(source, into=staging)
        unpacked = staging / FILES.rstrip("/")
        unpacked.mkdir(mode=0o700, exist_ok=True)
        moved = False
        if current.exists():
            os.rename(current, old)
            moved = True
        try:
            os.rename(unpacked, current)
        except OSError:
            if moved:
                os.rename(old, current)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
