"""/v1/instances: create, list, get, patch, delete, lifecycle actions, keys, usage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import (
    IdText,
    InstanceClone,
    InstanceCreate,
    InstanceIds,
    InstanceList,
    InstanceOut,
    InstancePatch,
    InstancePath,
    RestartMany,
    Tag,
    UpgradeMany,
    UsageConsume,
    UsageList,
    UsageOut,
    UsageReset,
    UsageResetOut,
    Version,
    instance_json,
    json_response,
)
from roost.domain.errors import RoostError
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import Action, Health, State
from roost.services import (
    backup_clone,
    clean,
    clone,
    create,
    keys,
    lifecycle,
    removal,
    rolling,
    upgrades,
    usage,
)
from roost.services import instances as use


def _instance_response(instance: Instance) -> Response:
    return json_response(instance_json(instance))


router = APIRouter(prefix="/v1/instances", tags=["instances"], responses=ERROR_RESPONSES)
PEM = "application/x-pem-file"


@router.post("", status_code=201, response_model=InstanceOut)
async def create_instance(body: InstanceCreate, ctx: Ctx, caller: Caller) -> Response:
    """Create an instance of an app (the default app when none is named)."""
    made = await create.create_instance(ctx, caller, body.to_request())
    return json_response(instance_json(made), 201)


@router.get("", response_model=InstanceList)
async def list_instances(
    ctx: Ctx,
    caller: Caller,
    app: Annotated[IdText | None, Query()] = None,
    version: Annotated[Version | None, Query()] = None,
    state: Annotated[State | None, Query()] = None,
    health: Annotated[Health | None, Query()] = None,
    tag: Annotated[list[Tag] | None, Query(description="repeat to require several")] = None,
    q: Annotated[str | None, Query(max_length=200, description="substring of id or name")] = None,
    limit: Annotated[int, Query(ge=1, le=use.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Instances in creation order, filtered, one page at a time (``next_cursor``)."""
    where = InstanceFilter(
        app=app, version=version, state=state, health=health, tags=tuple(tag or ()), q=q
    )
    page = await use.list_instances(ctx, caller, where, limit=limit, cursor=cursor)
    return json_response(
        {"instances": [instance_json(i) for i in page.instances], "next_cursor": page.next_cursor}
    )


@router.get("/{instance_id}", response_model=InstanceOut)
async def get_instance(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    return _instance_response(await use.get_instance(ctx, caller, instance_id))


class InstancePorts(BaseModel):
    instance_id: str
    ports: dict[str, int]


@router.get("/{instance_id}/ports", response_model=InstancePorts)
async def instance_ports(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> InstancePorts:
    """The instance's allocated ports by name."""
    instance = await use.get_instance(ctx, caller, instance_id)
    return InstancePorts(instance_id=instance_id, ports=instance.ports)


@router.patch("/{instance_id}", response_model=InstanceOut)
async def patch_instance(
    instance_id: InstancePath, body: InstancePatch, ctx: Ctx, caller: Caller
) -> Response:
    """Change the name, the tags (replaced) or the config (JSON merge patch)."""
    patch = use.Patch(
        name=body.name,
        tags=None if body.tags is None else tuple(body.tags),
        config=body.config,
    )
    return _instance_response(await use.update_instance(ctx, caller, instance_id, patch))


@router.delete("/{instance_id}", status_code=204, response_class=Response)
async def delete_instance(
    instance_id: InstancePath,
    ctx: Ctx,
    caller: Caller,
    backup: Annotated[bool, Query(description="a pre-delete backup first, kept")] = False,
) -> Response:
    await removal.delete_instance(ctx, caller, instance_id, backup=backup)
    return Response(status_code=204)


def _action_route(action: Action) -> None:
    async def route(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
        return _instance_response(await lifecycle.act(ctx, caller, instance_id, action))

    route.__name__ = f"{action.value}_instance"
    router.add_api_route(
        f"/{{instance_id}}/{action.value}",
        route,
        methods=["POST"],
        response_model=InstanceOut,
        summary=f"{action.value.capitalize()} an instance",
    )


NDJSON = "application/x-ndjson"


def _stream(outcomes: AsyncIterator[tuple[str, Instance | RoostError]]) -> StreamingResponse:
    """One JSON line per instance, as each outcome is known."""

    async def lines() -> AsyncIterator[bytes]:
        async for instance_id, outcome in outcomes:
            line = (
                {"instance_id": instance_id, "instance": instance_json(outcome)}
                if isinstance(outcome, Instance)
                else {"instance_id": instance_id, "status": outcome.status, **outcome.body()}
            )
            yield json.dumps(line, separators=(",", ":")).encode() + b"\n"

    return StreamingResponse(lines(), media_type=NDJSON)


async def _restart_many(body: RestartMany, ctx: Ctx, caller: Caller) -> StreamingResponse:
    if body.rolling is not None:
        roll = rolling.Roll(body.rolling.max_unavailable, body.rolling.timeout)
        return _stream(rolling.restart_rolling(ctx, caller, body.instance_ids, roll))
    return _stream(lifecycle.act_many(ctx, caller, body.instance_ids, Action.RESTART))


def _batch_action_route(action: Action) -> None:
    async def act_on_all(body: InstanceIds, ctx: Ctx, caller: Caller) -> StreamingResponse:
        return _stream(lifecycle.act_many(ctx, caller, body.instance_ids, action))

    route = _restart_many if action is Action.RESTART else act_on_all
    route.__name__ = f"{action.value}_instances"
    route.__doc__ = (
        f"{action.value.capitalize()} many instances at once. The answer is a stream of "
        "JSON lines, one per instance as soon as it is done: "
        '``{"instance_id", "instance"}``, or ``{"instance_id", "status", "error", "code"}`` '
        "when that instance failed; one failure does not stop the others."
    )
    if action is Action.RESTART:
        route.__doc__ += (
            " With ``rolling`` ({max_unavailable, timeout}), ``max_unavailable`` at a time,"
            " each healthy again within ``timeout`` seconds before the next; the first that"
            " is not (``NOT_HEALTHY``) stops the roll, and the rest are ``ROLL_STOPPED``."
        )
    router.add_api_route(
        f"/{action.value}",
        route,
        methods=["POST"],
        response_class=StreamingResponse,
        responses={200: {"content": {NDJSON: {}}, "description": "one JSON line per instance"}},
        summary=f"{action.value.capitalize()} many instances",
    )


for _action in (Action.START, Action.STOP, Action.RESTART, Action.PAUSE, Action.RESUME):
    _action_route(_action)
    _batch_action_route(_action)


@router.post("/{instance_id}/clone", status_code=201, response_model=InstanceOut)
async def clone_instance(
    instance_id: InstancePath, ctx: Ctx, caller: Caller, body: InstanceClone | None = None
) -> Response:
    """A copy with its own id, ordinal and ports: config, tags, secrets, files and data;
    with ``from_backup``, as that backup of the instance holds them (and its cache keys)."""
    options = body or InstanceClone()
    if options.from_backup is not None:
        restored = await backup_clone.clone_from_backup(
            ctx,
            caller,
            instance_id,
            options.from_backup,
            instance_id=options.instance_id,
            new_name=options.name,
        )
        return json_response(instance_json(restored), 201)
    copy = await clone.clone_instance(
        ctx,
        caller,
        instance_id,
        instance_id=options.instance_id,
        name=options.name,
        with_data=options.with_data,
    )
    return json_response(instance_json(copy), 201)


@router.post("/{instance_id}/clean", response_model=InstanceOut)
async def clean_instance(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Remove the instance's rendered files, logs and data; keep it and its ports."""
    return _instance_response(await clean.clean_instance(ctx, caller, instance_id))


@router.post(
    "/{instance_id}/keys",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {PEM: {"schema": {"type": "string"}}}}},
)
async def create_keys(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """Give the instance its own RSA 2048 key pair; answers with the public key."""
    pem = await keys.create_keys(ctx, caller, instance_id)
    return Response(pem, status_code=201, media_type=PEM)


@router.get(
    "/{instance_id}/public-key",
    response_class=Response,
    responses={200: {"content": {PEM: {"schema": {"type": "string"}}}}},
)
async def public_key(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> Response:
    """The instance's public key as SubjectPublicKeyInfo PEM."""
    return Response(await keys.public_key(ctx, caller, instance_id), media_type=PEM)


@router.post("/{instance_id}/usage", response_model=UsageOut)
async def consume_usage(
    instance_id: InstancePath, body: UsageConsume, ctx: Ctx, caller: Caller
) -> UsageOut:
    """Consume units of a feature's quota; 429 ``QUOTA_EXCEEDED`` past the limit."""
    instance = await use.get_instance(ctx, caller, instance_id)
    return UsageOut.of(await usage.consume(ctx, caller, instance, body.feature_id, body.units))


@router.get("/{instance_id}/usage", response_model=UsageList)
async def list_usage(instance_id: InstancePath, ctx: Ctx, caller: Caller) -> UsageList:
    instance = await use.get_instance(ctx, caller, instance_id)
    return UsageList(
        instance_id=instance_id,
        usage=[UsageOut.of(u) for u in await usage.usage_of(ctx, caller, instance)],
    )


@router.post("/{instance_id}/usage/reset", response_model=UsageResetOut)
async def reset_usage(
    instance_id: InstancePath, ctx: Ctx, caller: Caller, body: UsageReset | None = None
) -> UsageResetOut:
    """Reset one feature's consumption (or all): recorded as an event."""
    feature = body.feature_id if body else None
    return UsageResetOut(
        instance_id=instance_id, reset=await usage.reset(ctx, caller, instance_id, feature)
    )


class InstanceUpgrade(BaseModel):
    version: Version | None = None


@router.post(
    "/upgrade",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "one JSON line per instance"}},
)
async def upgrade_instances(body: UpgradeMany, ctx: Ctx, caller: Caller) -> StreamingResponse:
    """Move many instances to ``version`` (default: their app's current one), streamed
    as the lifecycle actions on many are; with ``rolling``, ``max_unavailable`` at a
    time, each healthy again before the next, the first that is not stopping the roll."""
    if body.rolling is not None:
        roll = rolling.Roll(body.rolling.max_unavailable, body.rolling.timeout)
        return _stream(rolling.upgrade_rolling(ctx, caller, body.instance_ids, roll, body.version))
    return _stream(
        lifecycle.on_each(
            ctx,
            body.instance_ids,
            lambda i: upgrades.upgrade_instance(ctx, caller, i, body.version),
            "upgrade",
        )
    )


@router.post("/{instance_id}/upgrade", response_model=InstanceOut)
async def upgrade_instance(
    instance_id: InstancePath, ctx: Ctx, caller: Caller, body: InstanceUpgrade | None = None
) -> Response:
    """Move to another version of the app (default: its current one): ports kept where
    the new version still declares them, files rendered again, an active one restarted."""
    version = (body or InstanceUpgrade()).version
    upgraded = await upgrades.upgrade_instance(ctx, caller, instance_id, version)
    return json_response(instance_json(upgraded))
