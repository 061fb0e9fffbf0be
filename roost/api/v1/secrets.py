"""/v1/instances/{id}/secrets: names listed, values set and read one at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstancePath
from roost.domain.clock import rfc3339
from roost.services import secrets as use

router = APIRouter(tags=["secrets"], responses=ERROR_RESPONSES)
SecretName = Annotated[str, Path(json_schema_extra={"pattern": use.SECRET_NAME.pattern})]


class SecretValue(BaseModel):
    value: Annotated[str, Field(max_length=use.MAX_SECRET_BYTES)]


class SecretOut(BaseModel):
    name: str
    value: str


class SecretEntry(BaseModel):
    name: str
    updated_at: str


class SecretList(BaseModel):
    instance_id: str
    secrets: list[SecretEntry]


class Rotated(BaseModel):
    reencrypted: int


@router.put("/v1/instances/{instance_id}/secrets/{name}", status_code=204, response_class=Response)
async def put_secret(
    instance_id: InstancePath, name: SecretName, body: SecretValue, ctx: Ctx, caller: Caller
) -> Response:
    """Set a secret (encrypted at rest; the event records the name only)."""
    await use.set_secret(ctx, caller, instance_id, name, body.value)
    return Response(status_code=204)


@router.get("/v1/instances/{instance_id}/secrets", response_model=SecretList)
async def list_secrets(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> SecretList:
    """Names and update times only, never values."""
    found = await use.list_secrets(ctx, caller, instance_id)
    return SecretList(
        instance_id=instance_id,
        secrets=[SecretEntry(name=s.name, updated_at=rfc3339(s.updated_at) or "") for s in found],
    )


@router.get("/v1/instances/{instance_id}/secrets/{name}", response_model=SecretOut)
async def get_secret(
    instance_id: InstancePath, name: SecretName, ctx: Ctx, caller: Caller
) -> SecretOut:
    """Read one value: an explicit, audited call."""
    return SecretOut(name=name, value=await use.read_secret(ctx, caller, instance_id, name))


@router.delete(
    "/v1/instances/{instance_id}/secrets/{name}", status_code=204, response_class=Response
)
async def delete_secret(
    instance_id: InstancePath, name: SecretName, ctx: Ctx, caller: Caller
) -> Response:
    await use.delete_secret(ctx, caller, instance_id, name)
    return Response(status_code=204)


@router.post("/v1/secret-key/rotate", response_model=Rotated)
async def rotate(ctx: Ctx, caller: Caller) -> Rotated:
    """Re-encrypt every secret and private key under a new home key."""
    return Rotated(reencrypted=await use.rotate_key(ctx, caller))
