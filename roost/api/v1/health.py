"""Health checks on demand: one instance, or many at once (seed 002's bulk checks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import IdText, InstancePath, Strict, Tag, json_response
from roost.services import health

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


class ServiceHealthOut(BaseModel):
    health: str
    error: str | None
    latency_ms: float | None
    passed: bool | None
    failures_in_a_row: int


class HealthOut(BaseModel):
    health: str  # healthy, unhealthy, unknown, error
    error: str | None
    checked_at: str | None
    services: dict[str, ServiceHealthOut]


class HealthResults(BaseModel):
    results: dict[str, dict[str, Any]]  # instance id -> HealthOut (or an error and code)


class HealthCheckMany(Strict):
    instance_ids: list[IdText] | None = Field(default=None, min_length=1, max_length=10_000)
    app: IdText | None = None
    tag: list[Tag] = Field(default_factory=list, max_length=20)


@router.post("/v1/instances/{instance_id}/health-check", response_model=HealthOut)
async def check_one(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Probe the instance's services now; its health as recorded."""
    return json_response(health.result_view(await health.check_one(ctx, caller, instance_id)))


@router.post("/v1/health-checks", response_model=HealthResults)
async def check_many(body: HealthCheckMany, ctx: Ctx, caller: Caller) -> Response:
    """Check the named instances (or every one of ``app`` and ``tag`` the caller may see)
    concurrently, at most 100 at once; one that cannot be checked is a result with its
    ``error`` and ``code``, never a failure of the request."""
    results = await health.check_selected(ctx, caller, body.instance_ids, body.app, tuple(body.tag))
    return json_response({"results": results})
