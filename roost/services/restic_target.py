"""The ``restic`` backup target: each backup a snapshot in one restic repository
(``ROOST_BACKUP_RESTIC``), so unchanged chunks are stored once, across an instance's
backups and across instances of the same app.

A snapshot holds two folders, relative to the home: ``instances/<id>`` (the instance's
files; logs only when asked) and ``backups/.restic/<id>`` (this backup's
``manifest.json``, ``cache.ndjson`` and ``sealed.json``, written there first). The
manifest lists every file with its sha256, read only for files that changed since the
last backup (``roost/backup_tree.py``); a file that changes while restic reads it fails
the backup, as it does for an archive. Verify and restore restore the snapshot (restic
checks every chunk against its hash), then hold the folder to the archive's rules
(``check_tree``). The record's ``location`` is ``restic:<snapshot id>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from roost.backup_tree import check_tree, list_files
from roost.domain.backups import FILES, MANIFEST, FileEntry, Manifest
from roost.domain.errors import InvalidInput
from roost.registry.backups import BackupRow
from roost.restic import Restic, ResticFailed
from roost.services.backup_parts import without_logs
from roost.services.context import Context

PREFIX = "restic:"
STAGE = Path("backups") / ".restic"


class TargetNotConfigured(InvalidInput):
    code = "TARGET_NOT_CONFIGURED"


class FileChangedDuringBackup(OSError):
    pass


def repository(ctx: Context) -> Restic:
    if ctx.restic is None:
        raise TargetNotConfigured(
            "the restic target is not set up on this server (ROOST_BACKUP_RESTIC)"
        )
    return ctx.restic


async def write(
    ctx: Context,
    base: Manifest,
    extras: Mapping[str, bytes],
    with_logs: bool,
) -> tuple[int, str, str]:
    """Back the instance up as a snapshot: its logical size, the manifest's sha256,
    and the snapshot's location."""
    restic = repository(ctx)
    instance_id = base.instance_id
    async with restic_lock(ctx, instance_id):
        return await asyncio.to_thread(_write, restic, ctx.home.path, base, extras, with_logs)


def restic_lock(ctx: Context, instance_id: str) -> asyncio.Lock:
    """One snapshot of an instance at a time: they share its stage folder."""
    return ctx.locks(f"restic:{instance_id}")


def _write(
    restic: Restic,
    home: Path,
    base: Manifest,
    extras: Mapping[str, bytes],
    with_logs: bool,
) -> tuple[int, str, str]:
    instance_id = base.instance_id
    folder = Path("instances") / instance_id
    stage = STAGE / instance_id
    (home / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / stage).mkdir(parents=True, exist_ok=True, mode=0o700)
    include = without_logs(with_logs)
    files = list_files(home / folder, include, home / STAGE / f"{instance_id}.hashes.json")
    manifest = replace(base, files=files)
    manifest_bytes = json.dumps(manifest.to_json(), separators=(",", ":")).encode()
    for name, data in {**extras, MANIFEST: manifest_bytes}.items():
        (home / stage / name).write_bytes(data)
        os.chmod(home / stage / name, 0o600)
    excludes = [] if with_logs else [str(home / folder / "logs")]
    summary = restic.backup(
        [folder, stage], cwd=home, tags=["roost", f"instance={instance_id}"], excludes=excludes
    )
    changed = _changed(home / folder, files)
    if changed:
        restic.forget([summary.snapshot_id])
        raise FileChangedDuringBackup(f"{changed} changed while it was backed up")
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    return summary.bytes_processed, digest, f"{PREFIX}{summary.snapshot_id}"


def _changed(folder: Path, files: Sequence[FileEntry]) -> str | None:
    """The first file whose size is not what it was when it was hashed."""
    for entry in files:
        try:
            if (folder / entry.path).stat().st_size != entry.size:
                return entry.path
        except OSError:
            return entry.path
    return None


def snapshot_of(row: BackupRow) -> str:
    location = row.location or ""
    if not location.startswith(PREFIX):
        raise ResticFailed(f"backup {row.name!r} has no snapshot")
    return location[len(PREFIX) :]


def fill_from(restic: Restic, row: BackupRow) -> Callable[[Path], Manifest]:
    """What puts the backup's snapshot in a staging folder, checked (``Unpacked``)."""

    def fill(staging: Path) -> Manifest:
        raw = staging / f".raw-{secrets.token_hex(4)}"
        restic.restore(snapshot_of(row), raw)
        folder = raw / "instances" / row.instance_id
        parts = raw / STAGE / row.instance_id
        if folder.is_dir():
            os.rename(folder, staging / FILES.rstrip("/"))
        if parts.is_dir():
            for part in parts.iterdir():
                os.rename(part, staging / part.name)
        shutil.rmtree(raw)
        return check_tree(staging)

    return fill


async def verify(ctx: Context, row: BackupRow) -> Manifest:
    """Restore the snapshot aside (restic checks every chunk) and compare it with its
    manifest; the repository's structure is checked too."""
    restic = repository(ctx)
    aside = ctx.home.path / STAGE / f".verify-{secrets.token_hex(4)}"

    def work() -> Manifest:
        aside.mkdir(parents=True, mode=0o700)
        try:
            manifest = fill_from(restic, row)(aside)
            restic.check()
            return manifest
        finally:
            shutil.rmtree(aside, ignore_errors=True)

    return await asyncio.to_thread(work)


async def forget(ctx: Context, rows: Sequence[BackupRow]) -> None:
    """Forget the rows' snapshots and prune what no snapshot uses any more."""
    ids = [snapshot_of(row) for row in rows if (row.location or "").startswith(PREFIX)]
    if ids:
        await asyncio.to_thread(repository(ctx).forget, ids)
