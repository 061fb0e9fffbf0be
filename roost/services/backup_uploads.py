"""Archives taken elsewhere, uploaded into an instance's backups (``PUT
.../backups/{name}``): written to disk as they come, then checked like any backup."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.backups import ArchiveRefused, check_backup_name
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, TooLarge
from roost.registry import backups as store
from roost.services import backup_files, backups
from roost.services.changes import Recorder, commit
from roost.services.context import Context


async def upload_backup(
    ctx: Context, actor: Actor, instance_id: str, name: str, body: AsyncIterator[bytes]
) -> store.BackupRow:
    """Store an archive taken elsewhere as ``name``: written to disk as it comes (at
    most ``ROOST_MAX_UPLOAD_BYTES``), then read through and checked like any backup; a
    damaged, hostile or foreign one (another app) is refused and removed."""
    instance = await backups.instance_for(ctx, actor, instance_id, "backup.upload")
    check_backup_name(name)
    if await ctx.registry.read(store.name_taken, instance_id, name):
        raise Conflict(
            f"instance {instance_id!r} has a backup {name!r} already", code="BACKUP_EXISTS"
        )
    final = backup_files.archive_path(ctx, instance_id, name)
    partial = final.with_name(f"{final.name}.upload-{secrets.token_hex(4)}")
    partial.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    limit = ctx.settings.max_upload_bytes
    try:
        out = await asyncio.to_thread(open, partial, "xb")
        with out:  # chunks go to the page cache as they come; the flush waits in a thread
            os.fchmod(out.fileno(), 0o600)
            async for chunk in body:
                if out.tell() + len(chunk) > limit:
                    raise TooLarge(
                        f"the archive is larger than the limit of {limit} bytes", limit=limit
                    )
                out.write(chunk)
            await asyncio.to_thread(os.fsync, out.fileno())
        scanned = await asyncio.to_thread(backups.scan_file, partial)
        if scanned.manifest.app != instance.app:
            raise ArchiveRefused(
                f"it is a backup of app {scanned.manifest.app!r}, not {instance.app!r}"
            )
        os.rename(partial, final)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    now = utcnow()
    row = store.BackupRow(
        instance_id=instance_id,
        name=name,
        app=instance.app,
        kind="uploaded",
        target="archive",
        status=store.COMPLETED,
        created_by=actor.name,
        created_at=now,
        size=scanned.size,
        sha256=scanned.sha256,
        finished_at=now,
        note=f"uploaded; taken {scanned.manifest.created_at} of {scanned.manifest.instance_id!r}",
    )

    def keep(conn: Connection, record: Recorder) -> None:
        store.add_backup(conn, row, instance.pk)
        record("backup.uploaded", instance, details={"name": name, "size": scanned.size})

    try:
        await commit(ctx, actor, keep)
    except Exception:
        final.unlink(missing_ok=True)
        raise
    return row
