"""/v1/instances/{id}/backups: take, list, verify and download an instance's backups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import (
    InstanceOut,
    InstancePath,
    OrphanRestore,
    Strict,
    instance_json,
    json_response,
)
from roost.domain.backups import Target
from roost.services import backup_clone, backup_uploads, restore
from roost.services import backups as use

router = APIRouter(
    prefix="/v1/instances/{instance_id}/backups", tags=["backups"], responses=ERROR_RESPONSES
)
orphans = APIRouter(tags=["backups"], responses=ERROR_RESPONSES)
BackupName = Annotated[str, Path(max_length=64)]


class BackupCreate(Strict):
    note: str | None = Field(default=None, max_length=use.MAX_NOTE)
    with_logs: bool = False
    target: Target | None = None  # default: the app's or config's


class Progress(BaseModel):
    bytes: int  # of the instance's files read so far
    total: int  # of them all (0: not known)


class BackupOut(BaseModel):
    progress: Progress | None  # while it runs
    name: str
    instance_id: str
    app: str
    kind: str
    target: str
    status: str  # running, completed, failed
    error: str | None
    note: str | None
    size: int | None
    sha256: str | None
    created_by: str
    created_at: str | None
    finished_at: str | None
    location: str | None  # its copy off the host (s3://...), if any


class BackupList(BaseModel):
    backups: list[BackupOut]


class Verified(BaseModel):
    name: str
    ok: bool
    files: int
    size: int
    sha256: str
    details: dict[str, Any]


@orphans.get("/v1/backups/orphaned", response_model=BackupList)
async def orphaned_backups(ctx: Ctx, caller: Caller) -> Response:
    """Backups kept after their instance was deleted (``pre-delete`` ones), newest first;
    admins only."""
    rows = await use.orphaned_backups(ctx, caller)
    return json_response({"backups": [use.view(row) for row in rows]})


@orphans.post("/v1/backups/orphaned/{name}/restore", status_code=201, response_model=InstanceOut)
async def restore_orphan(
    name: BackupName, ctx: Ctx, caller: Caller, body: OrphanRestore | None = None
) -> Response:
    """A new instance (its own id, ordinal and ports) from a backup that outlived its
    instance: the backup's app, version, config, tags, files, cache keys and secrets."""
    asked = body or OrphanRestore()
    created = await backup_clone.restore_orphan(
        ctx, caller, name, instance_id=asked.instance_id, new_name=asked.name
    )
    return json_response(instance_json(created), 201)


@router.post("", status_code=202, response_model=BackupOut)
async def take_backup(
    instance_id: InstancePath, ctx: Ctx, caller: Caller, body: BackupCreate | None = None
) -> Response:
    """Begin a backup (202 with its record, ``running``); it ends ``completed`` or
    ``failed`` with the reason (``GET .../backups/{name}``)."""
    asked = body or BackupCreate()
    row, _ = await use.take_backup(
        ctx, caller, instance_id, note=asked.note, with_logs=asked.with_logs, target=asked.target
    )
    return json_response(use.view(row), 202)


@router.get("", response_model=BackupList)
async def list_backups(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Newest first, failed ones with their reason."""
    rows = await use.list_backups(ctx, caller, instance_id)
    return json_response({"backups": [use.view(row) for row in rows]})


@router.get("/{name}", response_model=BackupOut)
async def get_backup(
    instance_id: InstancePath, name: BackupName, ctx: Ctx, caller: Caller
) -> Response:
    row = await use.get_backup(ctx, caller, instance_id, name)
    return json_response(use.view(row, ctx.transfers.get((row.instance_id, row.name))))


@router.delete("/{name}", status_code=204)
async def delete_backup(
    instance_id: InstancePath, name: BackupName, ctx: Ctx, caller: Caller
) -> Response:
    """Remove the backup: its record, then its archive (and its copy off the host) or
    its restic snapshot; owners. 409 ``BACKUP_RUNNING`` while it is being taken."""
    await use.delete_backup(ctx, caller, instance_id, name)
    return Response(status_code=204)


@router.put("/{name}", status_code=201, response_model=BackupOut)
async def upload_backup(
    instance_id: InstancePath, name: BackupName, request: Request, ctx: Ctx, caller: Caller
) -> Response:
    """Store an archive taken elsewhere (the body, as ``download`` gave it; at most
    ``ROOST_MAX_UPLOAD_BYTES``): checked through before it is kept, and refused (400
    ``ARCHIVE_REFUSED``, with why) if it is damaged, hostile or of another app."""
    row = await backup_uploads.upload_backup(ctx, caller, instance_id, name, request.stream())
    return json_response(use.view(row), 201)


@router.post("/{name}/verify", response_model=Verified)
async def verify_backup(
    instance_id: InstancePath, name: BackupName, ctx: Ctx, caller: Caller
) -> Response:
    """Read the archive through and compare it with its manifest and its record; 409
    ``BACKUP_CORRUPT`` with what differs."""
    scanned = await use.verify_backup(ctx, caller, instance_id, name)
    return json_response(
        {
            "name": name,
            "ok": True,
            "files": len(scanned.manifest.files),
            "size": scanned.size,
            "sha256": scanned.sha256,
            "details": {"app": scanned.manifest.app, "version": scanned.manifest.version},
        }
    )


@router.get("/{name}/download", response_class=FileResponse)
async def download_backup(
    instance_id: InstancePath, name: BackupName, ctx: Ctx, caller: Caller
) -> FileResponse:
    """The archive (``application/zstd``: a tar stream); owners and admins."""
    path = await use.download_path(ctx, caller, instance_id, name)
    return FileResponse(path, media_type="application/zstd", filename=path.name)


@router.post("/{name}/restore", response_model=InstanceOut)
async def restore_backup(
    instance_id: InstancePath, name: BackupName, ctx: Ctx, caller: Caller
) -> Response:
    """Put the backup back: checked first (a damaged or hostile archive changes
    nothing), a ``pre-restore`` backup taken, the instance ``migrating`` meanwhile (its
    data-plane writes refused with 409 ``RESTORE_IN_PROGRESS``), its directory swapped,
    then back to its previous state; any failure before the swap leaves all as it was."""
    restored = await restore.restore_backup(ctx, caller, instance_id, name)
    return json_response(instance_json(restored))
