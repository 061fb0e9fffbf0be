"""The events table: who changed what, when, and how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from roost.domain.clock import utcnow
from roost.domain.model import Event
from roost.registry import users as user_store
from roost.registry.tables import events, instances

_INSERT_EVENT = insert(events)


def record_event(
    conn: Connection,
    *,
    actor: str,
    action: str,
    instance_id: str | None = None,
    app: str | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    token: str | None = None,
) -> None:
    conn.execute(
        _INSERT_EVENT,
        {
            "at": utcnow(),
            "actor": actor,
            "token": token,
            "action": action,
            "instance_id": instance_id,
            "app": app,
            "outcome": outcome,
            "details": details or {},
        },
    )


def list_events(
    conn: Connection,
    *,
    instance_id: str | None,
    since: datetime | None,
    limit: int,
    actor: str | None = None,
    outcome: str | None = None,
    visible_to: str | None = None,
    before: int | None = None,
) -> list[Event]:
    """Events in the order they happened: from ``since`` on, or else the latest ``limit``
    (of those before the event ``before``: the page before one seen).
    ``visible_to``: only the events of instances that user owns or was given."""
    query = select(events)
    if instance_id is not None:
        query = query.where(events.c.instance_id == instance_id)
    if actor is not None:
        query = query.where(events.c.actor == actor)
    if outcome is not None:
        query = query.where(events.c.outcome == outcome)
    if visible_to is not None:
        theirs = select(instances.c.instance_id).where(
            (instances.c.owner == visible_to)
            | instances.c.pk.in_(user_store.shared_with(visible_to))
        )
        query = query.where(events.c.instance_id.in_(theirs))
    if before is not None:
        query = query.where(events.c.pk < before)
    if since is not None:
        query = query.where(events.c.at >= since).order_by(events.c.pk).limit(limit)
        rows = list(conn.execute(query))
    else:
        rows = list(conn.execute(query.order_by(events.c.pk.desc()).limit(limit)))
        rows.reverse()
    return [
        Event(
            pk=row.pk,
            at=row.at,
            actor=row.actor,
            action=row.action,
            outcome=row.outcome,
            instance_id=row.instance_id,
            app=row.app,
            details=row.details,
            token=row.token,
        )
        for row in rows
    ]
