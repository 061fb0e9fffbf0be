"""New instances made from a backup: ``roost clone ID NEWID --from-backup NAME`` (a
backup of an instance that lives) and ``roost restore NEWID --from NAME`` (an orphan, a
backup that outlived its instance).

The archive is checked first, then an instance of the backup's app and version is
created with its own id, ordinal and ports and the backup's name, tags and config; the
backup's files are swapped in and rendered again for the new ports, its cache keys put
in the new namespace, and its secrets stored again (those sealed with a key this home
no longer has are left out, and the event says how many). The key pair is not copied:
it belongs to the instance it was made for. If anything fails after the instance was
created, it is deleted again and the error says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.cache.dump import load_items
from roost.domain.backups import check_backup_name
from roost.domain.clock import utcnow
from roost.domain.model import Instance
from roost.registry import backups as store
from roost.registry import instances as q
from roost.registry import secrets as secret_store
from roost.services import backup_files, backups, instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.directory import limits_of
from roost.services.removal import delete_instance
from roost.services.restore import RestoreFailed


async def clone_from_backup(
    ctx: Context,
    actor: Actor,
    source_id: str,
    name: str,
    *,
    instance_id: str | None = None,
    new_name: str | None = None,
) -> Instance:
    row = await backups.get_backup(ctx, actor, source_id, name, "instance.restore")
    await ctx.policy.authorize(actor, "instance.clone", source_id)
    return await _create_from(ctx, actor, row, instance_id, new_name)


async def restore_orphan(
    ctx: Context,
    actor: Actor,
    name: str,
    *,
    instance_id: str | None = None,
    new_name: str | None = None,
) -> Instance:
    await ctx.policy.authorize(actor, "backup.orphans")
    rows = await ctx.registry.read(store.orphans_named, check_backup_name(name))
    if not rows:
        raise backups.BackupNotFound(f"no orphaned backup is named {name!r}", name=name)
    return await _create_from(ctx, actor, rows[0], instance_id, new_name)


async def _create_from(
    ctx: Context,
    actor: Actor,
    row: store.BackupRow,
    instance_id: str | None,
    new_name: str | None,
) -> Instance:
    manifest = (await backups.check_archive(ctx, row)).manifest
    record: dict[str, Any] = dict(manifest.instance)
    request = CreateRequest(
        app=manifest.app,
        version=manifest.version,
        instance_id=instance_id,
        name=new_name or f"{record.get('name') or manifest.instance_id} (restored)",
        tags=tuple(str(tag) for tag in record.get("tags") or ()),
        config=dict(record.get("config") or {}),
    )
    created = await create_instance(ctx, actor, request, event_action="instance.clone")
    try:
        await _fill(ctx, actor, created, row)
    except Exception as error:
        with contextlib.suppress(Exception):  # the error that matters is raised next
            await delete_instance(ctx, actor, created.instance_id)
        reason = getattr(error, "message", None) or f"{error.__class__.__name__}: {error}"
        raise RestoreFailed(
            f"not restored: {reason}; the new instance {created.instance_id!r} was removed",
            backup=row.name,
        ) from None
    refreshed = await ctx.registry.read(q.get_instance, created.instance_id)
    return refreshed or created


async def _fill(ctx: Context, actor: Actor, created: Instance, row: store.BackupRow) -> None:
    unpacked = await backup_files.unpack(ctx, row, created.instance_id)
    try:
        items = [] if unpacked.cache_dump is None else load_items(unpacked.cache_dump)
        sealed = json.loads(unpacked.sealed or b"{}").get("secrets") or {}
        await asyncio.to_thread(unpacked.swap)
    finally:
        await asyncio.to_thread(unpacked.finish)
    now_ms = int(time.time() * 1000)
    await ctx.cache.replace(created.instance_id, items, limits_of(created.config), now_ms)
    kept = {}
    for secret, token in sealed.items():
        with contextlib.suppress(Exception):  # sealed with a key this home does not have
            kept[str(secret)] = ctx.box.rotate(str(token))

    def store_secrets(conn: Connection, record: Recorder) -> None:
        for secret, token in kept.items():
            secret_store.put_secret(conn, created.pk, secret, token, utcnow())
        details = {
            "from": row.instance_id,
            "backup": row.name,
            "secrets": len(kept),
            "secrets_left_out": len(sealed) - len(kept),
        }
        record("backup.cloned", created, details=details)

    await commit(ctx, actor, store_secrets)
    await instance_files.refresh(ctx, created)  # rendered for its own ports
