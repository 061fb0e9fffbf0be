"""/v1/instances/{id}/grants: what an instance's owner shared, with whom."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import IdText, InstancePath, Strict
from roost.services import grants as use

router = APIRouter(prefix="/v1/instances", tags=["users and tokens"], responses=ERROR_RESPONSES)
UserName = Annotated[str, Path(max_length=63)]


class GrantCreate(Strict):
    user: IdText
    role: Literal["viewer", "operator", "owner"]


class GrantList(BaseModel):
    instance_id: str
    grants: dict[str, str]  # user -> role


@router.post("/{instance_id}/grants", status_code=201, response_model=GrantList)
async def share(
    instance_id: InstancePath, body: GrantCreate, ctx: Ctx, caller: Caller
) -> GrantList:
    """Give a user a role on the instance (its owner, or an admin)."""
    await use.share(ctx, caller, instance_id, body.user, body.role)
    return GrantList(instance_id=instance_id, grants=await use.grants_of(ctx, caller, instance_id))


@router.get("/{instance_id}/grants", response_model=GrantList)
async def grants(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> GrantList:
    return GrantList(instance_id=instance_id, grants=await use.grants_of(ctx, caller, instance_id))


@router.delete("/{instance_id}/grants/{user}", status_code=204, response_class=Response)
async def unshare(instance_id: InstancePath, user: UserName, ctx: Ctx, caller: Caller) -> Response:
    await use.unshare(ctx, caller, instance_id, user)
    return Response(status_code=204)
