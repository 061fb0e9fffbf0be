"""/v1/exports/{exporter}: instances as files another engine runs (systemd, compose)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.runtime.exports import exporters
from roost.services.exports import export_files

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=ERROR_RESPONSES)


class ExportRequest(BaseModel):
    instance_ids: Annotated[list[str] | None, Field(max_length=10000)] = Field(
        default=None, description="the instances to export; omitted: every one with services"
    )
    out: str = Field(description="absolute folder the files will be written to")
    with_secrets: bool = Field(
        default=False, description="also write each service's secrets (files of mode 0600)"
    )


class ExportedFile(BaseModel):
    path: str
    content: str
    mode: int


class ExportOut(BaseModel):
    exporter: str
    files: list[ExportedFile]


class ExporterOut(BaseModel):
    name: str
    description: str


class ExporterList(BaseModel):
    exporters: list[ExporterOut]


@router.get("", response_model=ExporterList)
async def list_exporters() -> ExporterList:
    """The installed exporters."""
    return ExporterList(
        exporters=[
            ExporterOut(name=e.name, description=e.description)
            for e in sorted(exporters().values(), key=lambda e: e.name)
        ]
    )


@router.post("/{exporter}", response_model=ExportOut)
async def export(
    exporter: Annotated[str, Path(max_length=64)],
    body: ExportRequest,
    ctx: Ctx,
    caller: Caller,
) -> ExportOut:
    """Render the export; the files come back for the caller to write under ``out``."""
    files = await export_files(
        ctx, caller, exporter, body.instance_ids, out=body.out, with_secrets=body.with_secrets
    )
    return ExportOut(
        exporter=exporter,
        files=[ExportedFile(path=f.path, content=f.content, mode=f.mode) for f in files],
    )
