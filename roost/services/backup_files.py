"""Where a backup's archive is: ``<home>/backups/<instance_id>/<name>.tar.zst``, and its
copy off the host when the server has a bucket (``ROOST_BACKUP_S3``).

A copy is made once the archive is written and checked by size and checksum
(``roost/s3_copies.py``). An archive whose local file is gone (a lost disk, a new host
with the same registry) is fetched back from its copy before it is read, and checked
against the size and sha256 recorded when it was taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from roost.backup_tree import file_sha256
from roost.domain.errors import Conflict, RoostError
from roost.failures import log_failure
from roost.registry.backups import BackupRow
from roost.services import restic_target
from roost.services.context import Context
from roost.services.restore_files import Unpacked

SUFFIX = ".tar.zst"
log = logging.getLogger("roost.backups")


class BackupCorrupt(Conflict):
    code = "BACKUP_CORRUPT"


class BackupCopyFailed(RoostError):
    status = 502
    code = "BACKUP_COPY_FAILED"


def archive_path(ctx: Context, instance_id: str, name: str) -> Path:
    return ctx.home.path / "backups" / instance_id / f"{name}{SUFFIX}"


async def copy_off(ctx: Context, instance_id: str, name: str) -> str | None:
    """Copy the archive to the bucket, if there is one; the copy's URL."""
    if ctx.offsite is None:
        return None
    key = ctx.offsite.key(instance_id, name, SUFFIX)
    url = ctx.offsite.location.url(key)
    try:
        return await asyncio.to_thread(
            ctx.offsite.upload, archive_path(ctx, instance_id, name), key
        )
    except Exception as error:
        with contextlib.suppress(Exception):  # a copy that does not match is no copy
            await asyncio.to_thread(ctx.offsite.delete, url)
        raise BackupCopyFailed(f"the copy to {url} failed: {error}") from None


async def ensure_local(ctx: Context, row: BackupRow) -> Path:
    """The archive's path, fetched back from its copy first if the file is gone."""
    path = archive_path(ctx, row.instance_id, row.name)
    if path.is_file():
        return path
    if row.location is None or ctx.offsite is None:
        raise BackupCorrupt(f"backup {row.name!r}: its archive is gone")
    try:
        await asyncio.to_thread(_fetch, ctx, row, path)
    except BackupCorrupt:
        raise
    except Exception as error:
        raise BackupCorrupt(
            f"backup {row.name!r}: its archive is gone and its copy at {row.location} "
            f"could not be fetched: {error}"
        ) from None
    return path


def _fetch(ctx: Context, row: BackupRow, path: Path) -> None:
    assert ctx.offsite is not None and row.location is not None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f"{path.name}.fetch-{secrets.token_hex(4)}")
    try:
        ctx.offsite.download(row.location, partial)
        os.chmod(partial, 0o600)
        if (partial.stat().st_size, file_sha256(partial)) != (row.size, row.sha256):
            raise BackupCorrupt(
                f"backup {row.name!r}: its copy at {row.location} is not the archive recorded"
            )
        os.rename(partial, path)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


async def remove_stored(ctx: Context, rows: Sequence[BackupRow]) -> None:
    """What the backups of ``rows`` stored, gone once their records are: archives and
    their copies, and restic snapshots (one forget and prune for all). What cannot be
    removed is logged: the records are gone, it only takes room."""
    for row in rows:
        if row.target != "archive":
            continue
        try:
            archive_path(ctx, row.instance_id, row.name).unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not remove the archive of backup %s: %s", row.name, error)
        if row.location is not None and ctx.offsite is not None:
            try:
                await asyncio.to_thread(ctx.offsite.delete, row.location)
            except Exception as error:
                log.warning("could not remove the copy %s: %s", row.location, error)
    snapshots = [row for row in rows if row.target == "restic"]
    if snapshots:
        try:
            await restic_target.forget(ctx, snapshots)
        except Exception as error:
            log_failure(log, error, "could not forget the snapshots of %d backups", len(snapshots))


async def unpack(ctx: Context, row: BackupRow, instance_id: str) -> Unpacked:
    """The backup unpacked and checked beside ``instance_id``'s directory, ready to be
    swapped in: read from its archive (fetched back first if need be), or restored
    from its restic snapshot."""
    home = ctx.home.path
    if row.target == "restic":
        fill = restic_target.fill_from(restic_target.repository(ctx), row)
        return await asyncio.to_thread(Unpacked.filled, home, instance_id, fill)
    archive = await ensure_local(ctx, row)
    return await asyncio.to_thread(Unpacked.beside, home, instance_id, archive)
