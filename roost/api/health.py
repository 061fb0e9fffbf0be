"""GET /health in seed 001's shape. It never creates or touches an instance. The served
home's identity (a hash of its path) rides in a header, so the body keeps the seed's shape
and a CLI can tell another home's server from its own."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, text

from roost.api.deps import Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.instance_context import instance_id_of
from roost.api.schemas import HealthOut, IdText
from roost.domain.ids import validate_instance_id
from roost.home import IDENTITY_HEADER

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(
    ctx: Ctx,
    request: Request,
    x_instance_id: Annotated[IdText | None, Header(description="as on the data plane")] = None,
    instance_id: Annotated[IdText | None, Query(description="as on the data plane")] = None,
) -> JSONResponse:
    """``healthy`` when the registry answers; ``instance_id`` echoes the caller's context,
    read as the data plane reads it."""
    del x_instance_id, instance_id  # documented; read below, the data plane's way
    context_id = instance_id_of(request.scope)
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
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=code,
        headers={IDENTITY_HEADER: ctx.home.identity},
    )
