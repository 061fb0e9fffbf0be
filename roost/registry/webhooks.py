"""Queries over ``webhooks`` and ``webhook_deliveries``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from roost.registry.tables import webhook_deliveries, webhooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class WebhookRow:
    pk: int
    webhook_id: str
    url: str
    events: list[str] | None
    instances: list[str] | None
    apps: list[str] | None
    secret_encrypted: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: str
    webhook_id: str
    event: str
    instance_id: str | None
    body: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def add_webhook(conn: Connection, row: WebhookRow) -> None:
    values = {k: v for k, v in row.__dict__.items() if k != "pk"}
    conn.execute(insert(webhooks).values(**values))


def all_webhooks(conn: Connection) -> list[WebhookRow]:
    return [
        WebhookRow(**r) for r in conn.execute(select(webhooks).order_by(webhooks.c.pk)).mappings()
    ]


def get_webhook(conn: Connection, webhook_id: str) -> WebhookRow | None:
    found = conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).mappings()
    row = found.first()
    return None if row is None else WebhookRow(**row)


def delete_webhook(conn: Connection, webhook_id: str) -> bool:
    return bool(conn.execute(delete(webhooks).where(webhooks.c.webhook_id == webhook_id)).rowcount)


_DELIVERY_COLUMNS = (
    webhook_deliveries.c.delivery_id,
    webhooks.c.webhook_id,
    webhook_deliveries.c.event,
    webhook_deliveries.c.instance_id,
    webhook_deliveries.c.body,
    webhook_deliveries.c.status,
    webhook_deliveries.c.attempts,
    webhook_deliveries.c.last_status_code,
    webhook_deliveries.c.last_error,
    webhook_deliveries.c.created_at,
    webhook_deliveries.c.finished_at,
)


def add_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Store new deliveries (``webhook_id`` naming the hook); those of hooks deleted
    meanwhile are skipped. How many were stored."""
    ids = sorted({row["webhook_id"] for row in rows})
    pks = dict(
        conn.execute(
            select(webhooks.c.webhook_id, webhooks.c.pk).where(webhooks.c.webhook_id.in_(ids))
        ).all()
    )
    kept = [
        {
            **{k: v for k, v in row.items() if k != "webhook_id"},
            "webhook_pk": pks[row["webhook_id"]],
        }
        for row in rows
        if row["webhook_id"] in pks
    ]
    if kept:
        conn.execute(insert(webhook_deliveries), kept)
    return len(kept)


def record_attempt(
    conn: Connection,
    delivery_id: str,
    *,
    status: str,
    attempts: int,
    status_code: int | None,
    error: str | None,
    finished_at: datetime | None,
) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.delivery_id == delivery_id)
        .values(
            status=status,
            attempts=attempts,
            last_status_code=status_code,
            last_error=error,
            finished_at=finished_at,
        )
    )


def deliveries_of(conn: Connection, webhook_id: str, limit: int) -> list[DeliveryRow]:
    """The hook's latest deliveries, newest first."""
    query = (
        select(*_DELIVERY_COLUMNS)
        .join(webhooks, webhooks.c.pk == webhook_deliveries.c.webhook_pk)
        .where(webhooks.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.pk.desc())
        .limit(limit)
    )
    return [DeliveryRow(*row) for row in conn.execute(query)]


def pending_deliveries(conn: Connection) -> list[DeliveryRow]:
    """What a previous server had not finished, oldest first."""
    query = (
        select(*_DELIVERY_COLUMNS)
        .join(webhooks, webhooks.c.pk == webhook_deliveries.c.webhook_pk)
        .where(webhook_deliveries.c.status == PENDING)
        .order_by(webhook_deliveries.c.pk)
    )
    return [DeliveryRow(*row) for row in conn.execute(query)]
