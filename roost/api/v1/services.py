"""/v1/instances/{id}/services: each service's process (seed 003's shape), and actions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstancePath, json_response
from roost.auth import authorize
from roost.services.instances import get_instance

router = APIRouter(prefix="/v1/instances", tags=["services"], responses=ERROR_RESPONSES)


class ServiceOut(BaseModel):
    service: str  # <service>@<instance_id>
    name: str  # the instance's name (seed 003)
    instance_id: str
    ip: str
    port: int | None
    status: str
    pid: int | None
    uptime_s: float | None
    restarts: int
    exit_code: int | None
    cpu_percent: float | None
    rss_bytes: int | None


class ServiceList(BaseModel):
    instance_id: str
    services: list[ServiceOut]


@router.get("/{instance_id}/services", response_model=ServiceList)
async def services(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Every service of the instance, in start order, with its process."""
    instance = await get_instance(ctx, caller, instance_id)
    return json_response(
        {"instance_id": instance_id, "services": await ctx.runner.services(instance)}
    )


@router.post("/{instance_id}/services/{service}/{verb}", response_model=ServiceList)
async def service_action(
    instance_id: InstancePath,
    service: Annotated[str, Path(max_length=63)],
    verb: Literal["start", "stop", "restart"],
    ctx: Ctx,
    caller: Caller,
) -> Response:
    """Start, stop or restart one service of an active instance."""
    instance = await get_instance(ctx, caller, instance_id)
    await authorize(caller, f"service.{verb}", instance_id)
    await ctx.runner.service_action(caller, instance, service, verb)
    return json_response(
        {"instance_id": instance_id, "services": await ctx.runner.services(instance)}
    )
