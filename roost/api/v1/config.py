"""/v1/instances/{id}/config: the effective config, and the instance's overrides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstancePath
from roost.domain.model import Instance
from roost.services import instance_files
from roost.services import instances as use
from roost.services.context import Context

router = APIRouter(prefix="/v1/instances", tags=["config"], responses=ERROR_RESPONSES)
ConfigBody = Annotated[dict[str, Any], Body(description="a JSON object")]


class ConfigOut(BaseModel):
    instance_id: str
    config: dict[str, Any]
    overrides: dict[str, Any]


async def _out(ctx: Context, instance: Instance) -> ConfigOut:
    return ConfigOut(
        instance_id=instance.instance_id,
        config=await instance_files.effective_config(ctx, instance),
        overrides=instance.config,
    )


@router.get("/{instance_id}/config", response_model=ConfigOut)
async def get_config(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> ConfigOut:
    """``config``: the app's defaults under the overrides; ``overrides``: the instance's own."""
    return await _out(ctx, await use.get_instance(ctx, caller, instance_id))


@router.put("/{instance_id}/config", response_model=ConfigOut)
async def put_config(
    instance_id: InstancePath, body: ConfigBody, ctx: Ctx, caller: Caller
) -> ConfigOut:
    """Replace the instance's overrides."""
    patch = use.Patch(config=body, replace_config=True)
    return await _out(ctx, await use.update_instance(ctx, caller, instance_id, patch))


@router.patch("/{instance_id}/config", response_model=ConfigOut)
async def patch_config(
    instance_id: InstancePath, body: ConfigBody, ctx: Ctx, caller: Caller
) -> ConfigOut:
    """Merge-patch the overrides (RFC 7396: ``null`` removes a key)."""
    return await _out(
        ctx, await use.update_instance(ctx, caller, instance_id, use.Patch(config=body))
    )
