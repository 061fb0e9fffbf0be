"""Instances in their portable form: export one or many, import a document (all or nothing).

Secrets travel only when asked for, sealed with the passphrase in ``X-Roost-Passphrase``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstanceList, InstancePath, instance_json, json_response
from roost.domain.errors import InvalidInput
from roost.services import transfer as use
from roost.transfer import MAX_INSTANCES, Document, dump

router = APIRouter(prefix="/v1/instances", tags=["export/import"], responses=ERROR_RESPONSES)

Format = Annotated[Literal["json", "yaml"], Query(description="json or yaml")]
Passphrase = Annotated[
    str | None,
    Header(alias="X-Roost-Passphrase", description="seals (export) or opens (import) secrets"),
]
_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": Document.model_json_schema()},
            "application/yaml": {"schema": Document.model_json_schema()},
        },
        "description": "the export document",
    }
}


class BatchExport(BaseModel):
    instance_ids: Annotated[list[str] | None, Field(max_length=MAX_INSTANCES)] = None
    format: Literal["json", "yaml"] = "json"
    secrets: bool = False


def _passphrase(secrets: bool, passphrase: str | None) -> str | None:
    if not secrets:
        return None
    if not passphrase:
        raise InvalidInput(
            "exporting secrets needs a passphrase (X-Roost-Passphrase) to seal them with",
            code="PASSPHRASE_REQUIRED",
        )
    return passphrase


def _document_response(document: Document, format: str) -> Response:
    if format == "yaml":
        return Response(dump(document, "yaml"), media_type="application/yaml")
    return json_response(document.model_dump(exclude_none=True))


@router.get("/{instance_id}/export", response_class=Response, responses=_DOCUMENT)
async def export_instance(
    instance_id: InstancePath,
    ctx: Ctx,
    caller: Caller,
    format: Format = "json",
    secrets: Annotated[bool, Query(description="include sealed secrets")] = False,
    passphrase: Passphrase = None,
) -> Response:
    """One instance's registration (and, when asked, its sealed secrets)."""
    document = await use.export_document(
        ctx, caller, [instance_id], passphrase=_passphrase(secrets, passphrase)
    )
    return _document_response(document, format)


@router.post("/export", response_class=Response, responses=_DOCUMENT)
async def export_instances(
    body: BatchExport, ctx: Ctx, caller: Caller, passphrase: Passphrase = None
) -> Response:
    """Many instances in one document (``instance_ids`` omitted: all of them)."""
    document = await use.export_document(
        ctx, caller, body.instance_ids, passphrase=_passphrase(body.secrets, passphrase)
    )
    return _document_response(document, body.format)


@router.post("/import", status_code=201, response_model=InstanceList)
async def import_instances(
    body: Annotated[dict[str, Any], Body(description="an export document")],
    ctx: Ctx,
    caller: Caller,
    auto_ports: Annotated[
        bool, Query(description="move a port that is taken here instead of refusing")
    ] = False,
    passphrase: Passphrase = None,
) -> Response:
    """Create every instance of the document, or none of them."""
    created = await use.import_document(
        ctx, caller, body, passphrase=passphrase, auto_ports=auto_ports
    )
    return json_response(
        {"instances": [instance_json(i) for i in created], "next_cursor": None}, 201
    )
