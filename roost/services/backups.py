"""Backups to the ``archive`` target: take one (in the background), list them, verify
one, and hand one out for download.

An archive is written to ``<home>/backups/<instance_id>/<name>.tar.zst.partial`` in a
thread (``roost/archive.py``), flushed to disk and renamed when whole; the record then
says ``completed`` with its size and sha256. Anything that fails marks the backup
``failed`` with the reason, removes the partial file and records a ``backup.failed``
event, which is an alert (webhooks). Secrets and the instance's private key go in as
they are stored: sealed with the home's key, never in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from roost.archive import Scanned, scan_archive
from roost.auth import Actor
from roost.domain.backups import (
    TARGETS,
    ArchiveRefused,
    Transfer,
    backup_name,
    check_backup_name,
)
from roost.domain.clock import rfc3339, utcnow
from roost.domain.errors import Conflict, InvalidInput, NotFound, instance_not_found
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.domain.values import lookup_dotted
from roost.instance_dir import InstanceDir
from roost.registry import backups as store
from roost.registry import instances as q
from roost.restic import ResticFailed
from roost.services import backup_parts, instance_files, restic_target
from roost.services.backup_consistency import consistent
from roost.services.backup_files import (
    BackupCorrupt,
    archive_path,
    copy_off,
    ensure_local,
    remove_stored,
)
from roost.services.changes import Recorder, commit
from roost.services.context import Context

MAX_NOTE = 1000
log = logging.getLogger("roost.backups")


class BackupNotFound(NotFound):
    code = "BACKUP_NOT_FOUND"


def view(row: store.BackupRow, transfer: Transfer | None = None) -> dict[str, Any]:
    """The record as the API gives it; while it runs, how far it is."""
    progress = None if transfer is None else {"bytes": transfer.done, "total": transfer.total}
    return {
        "progress": progress,
        "name": row.name,
        "instance_id": row.instance_id,
        "app": row.app,
        "kind": row.kind,
        "target": row.target,
        "status": row.status,
        "error": row.error,
        "note": row.note,
        "size": row.size,
        "sha256": row.sha256,
        "created_by": row.created_by,
        "created_at": rfc3339(row.created_at),
        "finished_at": rfc3339(row.finished_at),
        "location": row.location,
    }


async def instance_for(ctx: Context, actor: Actor, instance_id: str, action: str) -> Instance:
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, action, instance_id)
    instance = await ctx.registry.read(q.get_instance, instance_id)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


async def take_backup(
    ctx: Context,
    actor: Actor,
    instance_id: str,
    *,
    note: str | None = None,
    kind: str = "manual",
    with_logs: bool = False,
    at: datetime | None = None,
    failure_event: str = "backup.failed",
    target: str | None = None,
) -> tuple[store.BackupRow, asyncio.Future[store.BackupRow]]:
    """Record a ``running`` backup and begin writing it; the record, and what finishes
    it (the record as it ends: ``completed`` or ``failed``). ``at`` is when it counts
    as taken (a schedule's clock); a failure is recorded as ``failure_event`` (a
    scheduled backup's first try is not yet an alert)."""
    instance = await instance_for(ctx, actor, instance_id, "backup.create")
    target = target or await _target_of(ctx, instance)
    if target not in TARGETS:
        raise InvalidInput(
            f"a backup target is archive or restic, not {target!r}", code="INVALID_TARGET"
        )
    if target == "restic":
        restic_target.repository(ctx)  # set up, or 400 before anything is recorded
    now = at or utcnow()
    row = store.BackupRow(
        instance_id=instance.instance_id,
        name=backup_name(now, kind),
        app=instance.app,
        kind=kind,
        target=target,
        status=store.RUNNING,
        created_by=actor.name,
        created_at=now,
        note=(note or None) and note[:MAX_NOTE],
    )

    def begin(conn: Connection, record: Recorder) -> None:
        store.add_backup(conn, row, instance.pk)
        record("backup.started", instance, details={"name": row.name, "kind": kind})

    await commit(ctx, actor, begin)
    done = ctx.background.run(_write(ctx, actor, instance, row, with_logs, failure_event))
    return row, done


async def _write(
    ctx: Context,
    actor: Actor,
    instance: Instance,
    row: store.BackupRow,
    with_logs: bool,
    failure_event: str,
) -> store.BackupRow:
    final = archive_path(ctx, instance.instance_id, row.name)
    partial = final.with_name(final.name + ".partial")
    location: str | None = None
    try:
        async with consistent(ctx, actor, instance):
            base, extras = await backup_parts.parts(ctx, instance, row)
            if row.target == "restic":
                size, digest, location = await restic_target.write(ctx, base, extras, with_logs)
            else:
                folder = InstanceDir(ctx.home.path, instance.instance_id).path
                transfer = ctx.transfers[(row.instance_id, row.name)] = Transfer()
                size, digest = await asyncio.to_thread(
                    backup_parts.write_file,
                    partial,
                    final,
                    folder,
                    base,
                    extras,
                    with_logs,
                    transfer,
                )
        if row.target == "archive":
            location = await copy_off(ctx, instance.instance_id, row.name)
    except Exception as error:  # nothing of a failed backup is kept (post may fail last)
        ctx.transfers.pop((row.instance_id, row.name), None)
        for path in (partial, final):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        reason = getattr(error, "message", None) or f"{error.__class__.__name__}: {error}"
        return await _finish(ctx, actor, instance, row, error=reason, failure_event=failure_event)
    ctx.transfers.pop((row.instance_id, row.name), None)
    return await _finish(ctx, actor, instance, row, size=size, sha256=digest, location=location)


async def _target_of(ctx: Context, instance: Instance) -> str:
    """The instance's config ``backup.target``, else its app spec's, else archive."""
    configured = lookup_dotted(instance.config, "backup.target")
    if isinstance(configured, str):
        return configured
    spec = await instance_files.spec_of(ctx, instance)
    return spec.backup.target if spec is not None else "archive"


async def _finish(
    ctx: Context,
    actor: Actor,
    instance: Instance,
    row: store.BackupRow,
    *,
    error: str | None = None,
    size: int | None = None,
    sha256: str | None = None,
    failure_event: str = "backup.failed",
    location: str | None = None,
) -> store.BackupRow:
    status = store.FAILED if error else store.COMPLETED
    now = utcnow()

    def end(conn: Connection, record: Recorder) -> None:
        store.finish_backup(
            conn,
            row.instance_id,
            row.name,
            status=status,
            at=now,
            error=error,
            size=size,
            sha256=sha256,
            location=location,
        )
        details = {"name": row.name, "kind": row.kind, "size": size, "error": error}
        if location is not None:
            details["location"] = location
        outcome = "error" if error else "ok"
        record(
            failure_event if error else "backup.completed",
            instance,
            outcome=outcome,
            details=details,
        )

    try:
        await commit(ctx, actor, end)
    except Exception as failure:  # the registry is away: the log says it at least
        log.error(
            "backup %s of %s is %s but could not be recorded: %s",
            row.name,
            row.instance_id,
            status,
            failure,
        )
    if error:
        log.warning("backup %s of %s failed: %s", row.name, row.instance_id, error)
    return store.BackupRow(
        **{
            **row.__dict__,
            "status": status,
            "error": error,
            "size": size,
            "sha256": sha256,
            "finished_at": now,
            "location": location,
        }
    )


async def list_backups(ctx: Context, actor: Actor, instance_id: str) -> list[store.BackupRow]:
    instance = await instance_for(ctx, actor, instance_id, "backup.read")
    return await ctx.registry.read(store.backups_of, instance.pk)


async def orphaned_backups(ctx: Context, actor: Actor) -> list[store.BackupRow]:
    """Backups that outlived their instance (admins: no one owns them any more)."""
    await ctx.policy.authorize(actor, "backup.orphans")
    return await ctx.registry.read(store.orphaned)


async def get_backup(
    ctx: Context, actor: Actor, instance_id: str, name: str, action: str = "backup.read"
) -> store.BackupRow:
    instance = await instance_for(ctx, actor, instance_id, action)
    return await _row_of(ctx, instance, name)


async def _row_of(ctx: Context, instance: Instance, name: str) -> store.BackupRow:
    check_backup_name(name)
    row = await ctx.registry.read(store.get_backup, instance.pk, name)
    if row is None:
        raise BackupNotFound(f"instance {instance.instance_id!r} has no backup {name!r}", name=name)
    return row


async def verify_backup(ctx: Context, actor: Actor, instance_id: str, name: str) -> Scanned:
    """Read the archive through: every entry checked, every file hashed and compared
    with the manifest, the whole compared with the recorded sha256."""
    row = await get_backup(ctx, actor, instance_id, name, "backup.verify")
    return await check_archive(ctx, row)


async def check_archive(ctx: Context, row: store.BackupRow) -> Scanned:
    """Read a completed backup's archive through and compare it with its record."""
    name = row.name
    if row.status != store.COMPLETED:
        raise Conflict(
            f"backup {name!r} is {row.status}", code="BACKUP_NOT_COMPLETED", status=row.status
        )
    if row.target == "restic":
        try:
            manifest = await restic_target.verify(ctx, row)
        except (ArchiveRefused, ResticFailed) as error:
            raise BackupCorrupt(f"backup {name!r}: {error.message}") from None
        return Scanned(manifest, row.size or 0, row.sha256 or "", {})
    path = await ensure_local(ctx, row)
    try:
        scanned = await asyncio.to_thread(scan_file, path)
    except FileNotFoundError:
        raise BackupCorrupt(f"backup {name!r}: its archive is gone") from None
    except Exception as error:
        raise BackupCorrupt(f"backup {name!r}: {getattr(error, 'message', error)}") from None
    if (scanned.size, scanned.sha256) != (row.size, row.sha256):
        raise BackupCorrupt(
            f"backup {name!r}: the archive is not the one recorded (size or sha256)"
        )
    if row.kind != "uploaded" and scanned.manifest.instance_id != row.instance_id:
        raise BackupCorrupt(f"backup {name!r} is of instance {scanned.manifest.instance_id!r}")
    return scanned


def scan_file(path: Path) -> Scanned:
    with open(path, "rb") as source:
        return scan_archive(source)


async def download_path(ctx: Context, actor: Actor, instance_id: str, name: str) -> Path:
    row = await get_backup(ctx, actor, instance_id, name, "backup.download")
    if row.target == "restic":
        raise Conflict(
            f"backup {name!r} is a restic snapshot, not an archive: restore it, or read it "
            "with restic itself",
            code="NOT_AN_ARCHIVE",
        )
    if row.status != store.COMPLETED:
        raise Conflict(
            f"backup {name!r} is {row.status}", code="BACKUP_NOT_COMPLETED", status=row.status
        )
    return await ensure_local(ctx, row)


async def delete_backup(ctx: Context, actor: Actor, instance_id: str, name: str) -> None:
    """Remove a backup: its record first, then its archive and copy, or its snapshot."""
    instance = await instance_for(ctx, actor, instance_id, "backup.delete")
    row = await _row_of(ctx, instance, name)
    if row.status == store.RUNNING:
        raise Conflict(f"backup {name!r} is still being taken", code="BACKUP_RUNNING")

    def forget(conn: Connection, record: Recorder) -> None:
        store.delete_backups(conn, instance.pk, [name])
        record("backup.deleted", instance, details={"name": name, "kind": row.kind})

    await commit(ctx, actor, forget)
    await remove_stored(ctx, [row])
