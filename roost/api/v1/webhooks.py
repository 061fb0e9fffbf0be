"""/v1/webhooks: where alerts are POSTed (admins only), and each delivery's fate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import IdText, Name, Strict, json_response
from roost.services import webhooks as use

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)
WebhookId = Annotated[str, Path(max_length=32)]


class WebhookCreate(Strict):
    url: str = Field(max_length=use.MAX_URL)
    events: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=20)
    instances: list[IdText] | None = Field(default=None, max_length=10_000)
    apps: list[Name] | None = Field(default=None, max_length=1000)
    secret: str | None = Field(default=None, max_length=use.MAX_SECRET)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str] | None
    instances: list[str] | None
    apps: list[str] | None
    signed: bool
    created_by: str
    created_at: str | None


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryList(BaseModel):
    deliveries: list[dict[str, Any]]


@router.post("", status_code=201, response_model=WebhookOut)
async def add_webhook(body: WebhookCreate, ctx: Ctx, caller: Caller) -> Response:
    """POST alerts (health changes, give-ups, exits and OOM kills, failed backups) to
    ``url``: ``events`` (default: all of them), narrowed to ``instances`` or ``apps``;
    with a ``secret``, each body is signed (``X-Roost-Signature-256: sha256=<hex>``)."""
    new = use.NewWebhook(body.url, body.events, body.instances, body.apps, body.secret)
    return json_response(use.view(await use.add_webhook(ctx, caller, new)), 201)


@router.get("", response_model=WebhookList)
async def list_webhooks(ctx: Ctx, caller: Caller) -> Response:
    rows = await use.list_webhooks(ctx, caller)
    return json_response({"webhooks": [use.view(row) for row in rows]})


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: WebhookId, ctx: Ctx, caller: Caller) -> Response:
    return json_response(use.view(await use.get_webhook(ctx, caller, webhook_id)))


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
async def remove_webhook(webhook_id: WebhookId, ctx: Ctx, caller: Caller) -> Response:
    """The hook and its deliveries; what is on its way is not sent again."""
    await use.remove_webhook(ctx, caller, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
async def deliveries(
    webhook_id: WebhookId, ctx: Ctx, caller: Caller, limit: Annotated[int, Query()] = 100
) -> Response:
    """The latest deliveries, newest first: status (pending, delivered, failed),
    attempts, the last status code and error."""
    rows = await use.deliveries(ctx, caller, webhook_id, limit=limit)
    return json_response({"deliveries": [use.delivery_view(row) for row in rows]})


@router.post("/{webhook_id}/ping", status_code=202, response_class=Response)
async def ping(webhook_id: WebhookId, ctx: Ctx, caller: Caller) -> Response:
    """Send the hook a ``webhook.ping`` now (see its deliveries for the outcome)."""
    await use.ping(ctx, caller, webhook_id)
    return Response(status_code=202)
