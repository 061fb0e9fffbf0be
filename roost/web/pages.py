"""The dashboard's pages (reading): the instances, one instance, the apps, the events.

Each page calls the same services the REST routes call, as the same actor, so it shows
only what its user may see; buttons are drawn only for what the user may do
(``Policy.allows``), and the server refuses the rest anyway (``forms.py``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from roost.api.deps import Caller, Ctx
from roost.api.schemas import IdText, InstancePath
from roost.auth import Actor
from roost.domain.access import Role
from roost.domain.errors import InvalidInput, RoostError
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import Health, State
from roost.runtime import logs as runtime_logs
from roost.services import app_specs, backups, events, instances, metrics, secrets, service_view
from roost.services.context import Context
from roost.services.logs import log_files
from roost.web.charts import Chart, chart
from roost.web.render import ago, page, percent, short_size

router = APIRouter(include_in_schema=False)
PAGE = 100
LOG_LINES = 200  # of each service's log, on the page
EVENTS_PAGE = 200
BULK = ("start", "stop", "restart", "backup")
SORTS = {
    "created": lambda row: 0,
    "id": lambda row: row["id"],
    "name": lambda row: (row["name"] or row["id"]).lower(),
    "app": lambda row: (row["app"], row["version"]),
    "state": lambda row: row["state"],
    "health": lambda row: ("error", "unhealthy", "unknown", "healthy").index(row["health"]),
    "cpu": lambda row: -(row["cpu"] or 0.0),
    "memory": lambda row: -(row["memory"] or 0.0),
    "restarts": lambda row: -(row["restarts"] or 0),
}


def _row(ctx: Context, instance: Instance) -> dict[str, Any]:
    """An instance as a row shows it, every cell made here: the template reads them by
    key (Jinja's sandbox checks every attribute it reads; a key of a dict, it does not)."""
    latest = ctx.metrics.of(instance.instance_id)
    values = latest.values if latest is not None else {}
    restarts = values.get("restarts")
    return {
        "id": instance.instance_id,
        "href": "/instances/" + quote(instance.instance_id, safe=""),
        "name": instance.name if instance.name != instance.instance_id else "",
        "app": instance.app,
        "version": instance.version,
        "state": instance.state.value,
        "health": instance.health.value,
        "ports": " ".join(str(port) for _, port in sorted(instance.ports.items())),
        "cpu": values.get("cpu_percent"),
        "memory": values.get("memory_bytes"),
        "restarts": values.get("restarts"),
        "cpu_text": percent(values.get("cpu_percent")),
        "memory_text": short_size(values.get("memory_bytes")),
        "restarts_text": "-" if restarts is None else str(int(restarts)),
        "active_text": ago(instance.last_active_at),
        "tags": instance.tags,
    }


E = TypeVar("E", State, Health)


def _choice(kind: type[E], field: str, value: str | None) -> E | None:
    """A filter's value from a form: empty means any; anything else must be one of them."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"invalid {field} {value!r}: one of {choices}", code="VALIDATION_ERROR"
        ) from None


async def app_names(ctx: Context, actor: Actor) -> list[str]:
    """The apps' names for a choice, or none for a token that may not list them."""
    try:
        return [detail.app.name for detail in await app_specs.list_apps(ctx, actor)]
    except RoostError:  # a token scoped to instances may not list apps
        return []


@router.get("/", response_class=HTMLResponse)
async def instances_page(
    request: Request,
    ctx: Ctx,
    caller: Caller,
    app: Annotated[IdText | None, Query()] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,  # "" from a form: any
    health: Annotated[str | None, Query(max_length=20)] = None,
    tag: Annotated[str | None, Query(max_length=200, description="tags, space-separated")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "created",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Every instance the user may see, 100 a page, filtered, searched and sorted."""
    tags = tuple((tag or "").replace(",", " ").split())
    chosen_state = _choice(State, "state", state)
    chosen_health = _choice(Health, "health", health)
    where = InstanceFilter(
        app=app or None, state=chosen_state, health=chosen_health, tags=tags, q=q or None
    )
    listed = await instances.list_instances(ctx, caller, where, limit=PAGE, cursor=cursor)
    rows = [_row(ctx, instance) for instance in listed.instances]
    if sort != "created":
        rows.sort(key=SORTS[sort])
    can_act = caller.admin or caller.role >= Role.OPERATOR
    return page(
        request,
        "instances.html",
        rows=rows,
        next_cursor=listed.next_cursor,
        apps=await app_names(ctx, caller),
        states=[s.value for s in State],
        healths=[h.value for h in Health],
        chosen={
            "app": app or "",
            "state": chosen_state.value if chosen_state else "",
            "health": chosen_health.value if chosen_health else "",
            "tag": " ".join(tags),
            "q": q or "",
            "sort": sort,
        },
        sorts=list(SORTS),
        bulk=BULK if can_act else (),
        can_create=await ctx.policy.allows(caller, "instance.create", app),
    )


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
async def instance_page(
    request: Request, instance_id: InstancePath, ctx: Ctx, caller: Caller
) -> HTMLResponse:
    """One instance: its services, ports, config, secret names, backups and events,
    and the actions its user may take."""
    instance = await instances.get_instance(ctx, caller, instance_id)
    listing = await service_view.listing_of(ctx, instance)
    allowed = {
        action: await ctx.policy.allows(caller, action, instance_id)
        for action in (
            "instance.start",
            "instance.stop",
            "instance.restart",
            "instance.pause",
            "instance.resume",
            "instance.update",
            "instance.clone",
            "instance.delete",
            "secret.list",
            "secret.read",
            "backup.read",
            "backup.create",
            "backup.download",
            "instance.restore",
            "logs.read",
            "metrics.read",
        )
    }
    names = []
    if allowed["secret.list"]:
        names = [info.name for info in await secrets.list_secrets(ctx, caller, instance_id)]
    taken = []
    if allowed["backup.read"]:
        taken = await backups.list_backups(ctx, caller, instance_id)
    recent = await events.list_events(ctx, caller, instance_id=instance_id, limit=20)
    charts = []
    if allowed["metrics.read"]:
        charts = await _charts(ctx, caller, instance_id)
    return page(
        request,
        "instance.html",
        instance=instance,
        row=_row(ctx, instance),
        services=listing.get("services", []),
        secret_names=names,
        backups=taken,
        events=list(reversed(recent)),
        allowed=allowed,
        charts=charts,
    )


WINDOWS = (("the last hour", 3600.0, 60.0), ("the last day", 86400.0, 900.0))


async def _charts(ctx: Context, caller: Actor, instance_id: str) -> list[Chart]:
    """CPU and memory over the last hour and the last day, from the stored samples."""
    drawn = []
    now = time.time()
    for label, window, step in WINDOWS:
        found = await metrics.series_of(
            ctx,
            caller,
            instance_id,
            names=["cpu_percent", "memory_bytes"],
            since_s=window,
            step=step,
        )
        start = now - window
        drawn.append(chart(f"CPU, {label}", found["cpu_percent"], start, now, percent))
        drawn.append(chart(f"Memory, {label}", found["memory_bytes"], start, now, short_size))
    return drawn


@router.get("/apps", response_class=HTMLResponse)
async def apps_page(request: Request, ctx: Ctx, caller: Caller) -> HTMLResponse:
    """The registered apps, their versions and specs."""
    found = await app_specs.list_apps(ctx, caller)
    can_register = await ctx.policy.allows(caller, "app.register")
    return page(
        request, "apps.html", apps=found, can_register=can_register, spec_text="", problem=None
    )


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    ctx: Ctx,
    caller: Caller,
    instance_id: Annotated[IdText | None, Query()] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|error|denied)?$")] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The audit log, newest first, 200 a page, filtered by instance, actor and outcome."""
    found = await events.list_events(
        ctx,
        caller,
        instance_id=instance_id or None,
        limit=EVENTS_PAGE,
        by=actor or None,
        outcome=outcome or None,
        before=before,
    )
    chosen = {"instance_id": instance_id or "", "actor": actor or "", "outcome": outcome or ""}
    older = found[0].pk if len(found) == EVENTS_PAGE else None
    return page(request, "events.html", events=list(reversed(found)), chosen=chosen, older=older)


@router.get("/instances/{instance_id}/logs", response_class=HTMLResponse)
async def logs_page(
    request: Request,
    instance_id: InstancePath,
    ctx: Ctx,
    caller: Caller,
    service: Annotated[str | None, Query(max_length=63)] = None,
) -> HTMLResponse:
    """The last lines of each service's log (or of one); the page's script follows new
    lines through the REST route, across rotation."""
    files = await log_files(ctx, caller, instance_id, service or None)
    shown = {}
    for label, path in files.items():
        shown[label], _ = await asyncio.to_thread(runtime_logs.last_lines, path, LOG_LINES)
    follow = f"/v1/instances/{quote(instance_id, safe='')}/logs?tail=0&follow=true"
    if service:
        follow += "&service=" + quote(service, safe="")
    return page(
        request,
        "logs.html",
        instance_id=instance_id,
        service=service or "",
        services=list(files),
        lines=shown,
        follow=follow,
    )
