"""Webhooks as records (admins only): add one, list them, remove one, read its
deliveries, and ping it. The background job in ``webhook_dispatch.py`` delivers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from roost.auth import Actor
from roost.domain.clock import rfc3339, utcnow
from roost.domain.errors import InvalidInput, NotFound
from roost.domain.ids import validate_instance_id
from roost.domain.names import has_control
from roost.domain.webhooks import ALERT_EVENTS, PING, Alert
from roost.registry import webhooks as store
from roost.services.context import Context

MAX_URL = 2000
MAX_SECRET = 256
MAX_DELIVERIES = 1000


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


@dataclass(frozen=True)
class NewWebhook:
    url: str
    events: list[str] | None = None
    instances: list[str] | None = None
    apps: list[str] | None = None
    secret: str | None = None


def _checked(new: NewWebhook) -> NewWebhook:
    parts = urlsplit(new.url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(new.url) > MAX_URL
        or has_control(new.url)
    ):
        raise InvalidInput(
            f"a webhook's url is http(s)://host/..., not {new.url!r}", code="INVALID_URL"
        )
    unknown = sorted(set(new.events or ()) - set(ALERT_EVENTS))
    if unknown:
        raise InvalidInput(
            f"unknown event {unknown[0]!r}: one of {', '.join(ALERT_EVENTS)}", code="UNKNOWN_EVENT"
        )
    for instance_id in new.instances or ():
        validate_instance_id(instance_id)
    if new.secret is not None and not 1 <= len(new.secret) <= MAX_SECRET:
        raise InvalidInput(f"a secret is 1 to {MAX_SECRET} characters", code="INVALID_SECRET")
    return new


def view(row: store.WebhookRow) -> dict[str, Any]:
    return {
        "id": row.webhook_id,
        "url": row.url,
        "events": row.events,
        "instances": row.instances,
        "apps": row.apps,
        "signed": row.secret_encrypted is not None,
        "created_by": row.created_by,
        "created_at": rfc3339(row.created_at),
    }


def delivery_view(row: store.DeliveryRow) -> dict[str, Any]:
    return {
        "id": row.delivery_id,
        "event": row.event,
        "instance_id": row.instance_id,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": rfc3339(row.created_at),
        "finished_at": rfc3339(row.finished_at),
    }


async def add_webhook(ctx: Context, actor: Actor, new: NewWebhook) -> store.WebhookRow:
    await ctx.policy.authorize(actor, "webhook.manage")
    new = _checked(new)
    row = store.WebhookRow(
        pk=0,
        webhook_id=secrets.token_hex(8),
        url=new.url,
        events=sorted(set(new.events)) if new.events else None,
        instances=sorted(set(new.instances)) if new.instances else None,
        apps=sorted(set(new.apps)) if new.apps else None,
        secret_encrypted=ctx.box.encrypt(new.secret.encode()) if new.secret else None,
        created_by=actor.name,
        created_at=utcnow(),
    )
    await ctx.registry.write(store.add_webhook, row)
    ctx.alerts.hooks_changed = True
    return row


async def list_webhooks(ctx: Context, actor: Actor) -> list[store.WebhookRow]:
    await ctx.policy.authorize(actor, "webhook.manage")
    return await ctx.registry.read(store.all_webhooks)


async def get_webhook(ctx: Context, actor: Actor, webhook_id: str) -> store.WebhookRow:
    await ctx.policy.authorize(actor, "webhook.manage")
    found = await ctx.registry.read(store.get_webhook, webhook_id)
    if found is None:
        raise WebhookNotFound(f"no webhook {webhook_id!r}", webhook_id=webhook_id)
    return found


async def remove_webhook(ctx: Context, actor: Actor, webhook_id: str) -> None:
    await ctx.policy.authorize(actor, "webhook.manage")
    if not await ctx.registry.write(store.delete_webhook, webhook_id):
        raise WebhookNotFound(f"no webhook {webhook_id!r}", webhook_id=webhook_id)
    ctx.alerts.hooks_changed = True


async def deliveries(
    ctx: Context, actor: Actor, webhook_id: str, *, limit: int
) -> list[store.DeliveryRow]:
    await get_webhook(ctx, actor, webhook_id)
    if not 1 <= limit <= MAX_DELIVERIES:
        raise InvalidInput(f"limit must be between 1 and {MAX_DELIVERIES}", code="INVALID_LIMIT")
    return await ctx.registry.read(store.deliveries_of, webhook_id, limit)


async def ping(ctx: Context, actor: Actor, webhook_id: str) -> None:
    """Send the hook a ``webhook.ping`` (its delivery shows in its deliveries)."""
    await get_webhook(ctx, actor, webhook_id)
    at = rfc3339(utcnow()) or ""
    ctx.alerts.add([Alert(PING, None, None, "ok", {"webhook": webhook_id, "by": actor.name}, at)])
