"""GET /health in seed 001's shape. It never creates or touches an instance."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, text

from roost.api.deps import Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import HealthOut, IdText
from roost.domain.errors import InvalidInput
from roost.domain.ids import validate_instance_id

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(
    ctx: Ctx,
    x_instance_id: Annotated[IdText | None, Header()] = None,
    instance_id: Annotated[IdText | None, Query()] = None,
) -> JSONResponse:
    """``healthy`` when the registry answers; ``instance_id`` echoes the caller's context."""
    if x_instance_id and instance_id and x_instance_id != instance_id:
        raise InvalidInput(
            "X-Instance-ID and ?instance_id= name different instances",
            code="CONFLICTING_INSTANCE_ID",
        )
    context_id = x_instance_id or instance_id
    if context_id is not None:
        validate_instance_id(context_id)
    try:
        await ctx.registry.read(_ping)
        status, code = "healthy", 200
    except Exception:
        status, code = "unhealthy", 503
    body = HealthOut(
        status=status, mode="primary", timestamp=int(time.time()), instance_id=context_id
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=code)
