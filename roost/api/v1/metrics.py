"""Metrics as JSON: one instance's series, usage over a window, and ``top``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import InstancePath, json_response
from roost.domain.durations import parse_duration
from roost.services import metrics

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES)
Duration = Annotated[str, Query(max_length=20, description="such as 15m, 1h, 7d")]


class SeriesOut(BaseModel):
    series: dict[str, list[list[float]]]  # name -> [[unix_time, value], ...]


class UsageOut(BaseModel):
    since: float
    instances: list[dict[str, Any]]
    top_cpu: list[dict[str, Any]]
    top_memory: list[dict[str, Any]]


class TopOut(BaseModel):
    instances: list[dict[str, Any]]


@router.get("/v1/instances/{instance_id}/metrics", response_model=SeriesOut)
async def instance_metrics(
    instance_id: InstancePath,
    ctx: Ctx,
    caller: Caller,
    name: Annotated[list[str] | None, Query(max_length=50)] = None,
    since: Duration = "1h",
    step: Duration | None = None,
) -> Response:
    """The instance's samples from ``since`` ago, each ``name`` (default: all) as a list
    of ``[unix_time, value]``; with ``step``, merged to one point per step (gauges
    averaged, counts summed)."""
    found = await metrics.series_of(
        ctx,
        caller,
        instance_id,
        names=name or [],
        since_s=parse_duration(since, field="since"),
        step=parse_duration(step, field="step") if step else 0.0,
    )
    return json_response({"series": found})


@router.get("/v1/usage", response_model=UsageOut)
async def usage(ctx: Ctx, caller: Caller, since: Duration = "24h") -> Response:
    """Per instance the caller may see, over ``since``: uptime %, restarts, health
    checks and failures, cache operations, CPU and memory, quota consumption."""
    report = await metrics.usage_report(ctx, caller, since_s=parse_duration(since, field="since"))
    return json_response(report)


@router.get("/v1/top", response_model=TopOut)
async def top(
    ctx: Ctx,
    caller: Caller,
    sort: Annotated[str, Query(max_length=20)] = "cpu",
    limit: Annotated[int, Query()] = 100,
) -> Response:
    """The running instances the caller may see, measured now, busiest first."""
    return json_response({"instances": await metrics.top(ctx, caller, sort=sort, limit=limit)})
