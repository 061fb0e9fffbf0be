"""Reading the audit trail of control-plane changes."""

from __future__ import annotations

from datetime import datetime

from roost.auth import Actor
from roost.domain.model import Event
from roost.registry import events as store
from roost.services.context import Context


async def list_events(
    ctx: Context,
    actor: Actor,
    *,
    instance_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    by: str | None = None,
    outcome: str | None = None,
    before: int | None = None,
) -> list[Event]:
    """Events oldest first: from ``since`` on, else the latest ``limit``; ``by`` an actor,
    with an ``outcome``. Who is no admin sees the events of the instances it may see."""
    await ctx.policy.authorize(actor, "events.read", instance_id)
    return await ctx.registry.read(
        store.list_events,
        instance_id=instance_id,
        since=since,
        limit=limit,
        actor=by,
        outcome=outcome,
        visible_to=None if actor.admin else actor.user or "",
        before=before,
    )
