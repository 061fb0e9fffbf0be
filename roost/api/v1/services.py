"""/v1/instances/{id}/services: each service's process (seed 003's shape), and actions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstancePath, json_response
from roost.runtime import logs
from roost.services import runner
from roost.services.instances import get_instance
from roost.services.logs import log_files
from roost.services.service_view import listing_of, service_listing

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
    limits: dict[str, Any]  # {"memory": {"value", "enforced_by"}, ..., "freezer": "..."}
    services: list[ServiceOut]


@router.get("/{instance_id}/services", response_model=ServiceList)
async def services(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Every service of the instance, in start order, with its process."""
    return json_response(await service_listing(ctx, caller, instance_id))


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
    await runner.service_action(ctx, caller, instance, service, verb)
    return json_response(await listing_of(ctx, instance))


@router.get(
    "/{instance_id}/logs",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def service_logs(
    instance_id: InstancePath,
    ctx: Ctx,
    caller: Caller,
    service: Annotated[str | None, Query(max_length=63)] = None,
    tail: Annotated[int, Query(ge=0, le=100_000)] = 100,
    follow: bool = False,
) -> StreamingResponse:
    """The last ``tail`` lines of each service's log (``<service> | line`` when there are
    several), then, with ``follow``, new lines as they are written, across rotation."""
    files = await log_files(ctx, caller, instance_id, service)
    prefixed = len(files) > 1

    def shown(label: str, line: str) -> str:
        return f"{label} | {line}\n" if prefixed else f"{line}\n"

    async def lines() -> AsyncIterator[str]:
        offsets = {}
        for label, path in files.items():
            history, offsets[label] = await asyncio.to_thread(logs.last_lines, path, tail)
            for line in history:
                yield shown(label, line)
        if follow:
            async for label, line in logs.follow(files, offsets):
                yield shown(label, line)

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")
