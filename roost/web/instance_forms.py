"""The instance page's forms: save its config, reveal a secret (an audited read, shown
once, never cached), restore a backup, clone it, delete it (after typing its id). Each
calls the service its REST route calls, as the signed-in actor; a refusal comes back
as a page saying why."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from roost.api.deps import Caller, Ctx
from roost.api.schemas import InstancePath
from roost.domain.errors import InvalidInput
from roost.services import clone, instances, removal, restore, secrets
from roost.web.forms import field_of, form_of
from roost.web.render import page

router = APIRouter(include_in_schema=False)


def _back_to(instance_id: str) -> Response:
    return RedirectResponse("/instances/" + quote(instance_id, safe=""), status_code=303)


@router.post("/instances/{instance_id}/config", response_model=None)
async def save_config(
    instance_id: InstancePath, request: Request, ctx: Ctx, caller: Caller
) -> Response:
    """Replace the instance's config overrides with the posted JSON object."""
    text = field_of(await form_of(request), "config").strip() or "{}"
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the config is not JSON: {exc}", code="INVALID_CONFIG") from None
    if not isinstance(config, dict):
        raise InvalidInput("the config must be a JSON object", code="INVALID_CONFIG")
    patch = instances.Patch(config=config, replace_config=True)
    await instances.update_instance(ctx, caller, instance_id, patch)
    return _back_to(instance_id)


@router.post("/instances/{instance_id}/reveal", response_class=HTMLResponse)
async def reveal_secret(
    instance_id: InstancePath, request: Request, ctx: Ctx, caller: Caller
) -> HTMLResponse:
    """One secret's value, on a page of its own (the read is an event)."""
    name = field_of(await form_of(request), "name")
    value = await secrets.read_secret(ctx, caller, instance_id, name)
    return page(request, "secret.html", instance_id=instance_id, name=name, value=value)


@router.post("/instances/{instance_id}/restore", response_model=None)
async def restore_from(
    instance_id: InstancePath, request: Request, ctx: Ctx, caller: Caller
) -> Response:
    name = field_of(await form_of(request), "backup")
    await restore.restore_backup(ctx, caller, instance_id, name)
    return _back_to(instance_id)


@router.post("/instances/{instance_id}/clone", response_model=None)
async def clone_it(
    instance_id: InstancePath, request: Request, ctx: Ctx, caller: Caller
) -> Response:
    new_id = field_of(await form_of(request), "new_id").strip() or None
    made = await clone.clone_instance(ctx, caller, instance_id, instance_id=new_id)
    return _back_to(made.instance_id)


@router.post("/instances/{instance_id}/delete", response_model=None)
async def delete_it(
    instance_id: InstancePath, request: Request, ctx: Ctx, caller: Caller
) -> Response:
    """Delete the instance once its id was typed to confirm."""
    fields = await form_of(request)
    if field_of(fields, "confirm") != instance_id:
        raise InvalidInput(
            f"type the instance's id, {instance_id!r}, to delete it", code="NOT_CONFIRMED"
        )
    await removal.delete_instance(
        ctx, caller, instance_id, backup=field_of(fields, "backup") == "on"
    )
    return RedirectResponse("/", status_code=303)
