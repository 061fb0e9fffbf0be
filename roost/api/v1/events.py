"""/v1/events: the audit trail of control-plane changes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import EventList, EventOut, IdText, Name
from roost.domain.clock import parse_rfc3339
from roost.domain.errors import InvalidInput
from roost.services.events import list_events

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)


@router.get("", response_model=EventList)
async def events(
    ctx: Ctx,
    caller: Caller,
    instance_id: Annotated[IdText | None, Query()] = None,
    since: Annotated[str | None, Query(max_length=64, description="RFC 3339 time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Annotated[Name | None, Query(description="who: a user, local, anonymous")] = None,
    outcome: Annotated[Literal["ok", "error", "denied"] | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, description="only events older than this id")] = None,
) -> EventList:
    """Events oldest first: from ``since`` on, else the latest ``limit`` (before the event
    ``before``: the page older than one seen); of one actor, with one outcome
    (``denied``: every refusal)."""
    try:
        since_at = parse_rfc3339(since) if since else None
    except ValueError:
        raise InvalidInput(f"invalid since {since!r}: use RFC 3339", code="INVALID_TIME") from None
    found = await list_events(
        ctx,
        caller,
        instance_id=instance_id,
        since=since_at,
        limit=limit,
        by=actor,
        outcome=outcome,
        before=before,
    )
    return EventList(events=[EventOut.of(e) for e in found])
