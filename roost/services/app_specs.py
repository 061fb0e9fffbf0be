"""Registering apps from their spec, with version history (``POST /v1/apps``).

An app changes only by a new version: the same version with another spec is refused,
so what an instance was created from can always be read back. Instances stay on their
version until they are moved explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import Conflict, InvalidInput, NotFound
from roost.domain.model import App
from roost.domain.spec import AppSpec, parse_app
from roost.registry import apps as q
from roost.services.changes import Recorder, commit
from roost.services.context import Context


@dataclass(frozen=True)
class Registered:
    app: App
    created: bool  # a new app
    changed: bool  # a new version (or a new app)


def spec_of_document(document: Any, source: str) -> AppSpec:
    """An app spec sent as JSON (the REST route's body, the dashboard's form)."""
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str):
        raise InvalidInput("the app spec needs a 'name'", code="INVALID_SPEC")
    return parse_app(name, document, where=name, source=source)


async def register_app(
    ctx: Context, actor: Actor, spec: AppSpec, *, make_default: bool
) -> Registered:
    await ctx.policy.authorize(actor, "app.register", spec.name)
    body = spec.stored_form()

    def apply(conn: Connection, record: Recorder) -> Registered:
        app = q.get_app(conn, spec.name)
        if app is None:
            created = q.insert_app(conn, spec.name, spec.version, body)
            record("app.create", app=spec.name, details={"version": spec.version})
            return Registered(created, created=True, changed=True)
        known = q.version_spec(conn, app.pk, spec.version)
        if known == body:
            return Registered(app, created=False, changed=False)
        if known is not None:
            raise Conflict(
                f"app {spec.name!r} already has version {spec.version!r} with another spec:"
                " give the change a new version",
                code="VERSION_EXISTS",
                app=spec.name,
                version=spec.version,
            )
        updated = q.add_version(conn, app, spec.version, body)
        record("app.version", app=spec.name, details={"from": app.version, "to": spec.version})
        return Registered(updated, created=False, changed=True)

    registered = await commit(ctx, actor, apply)
    ctx.apps.forget(spec.name)
    if make_default:
        await ctx.apps.set_default(spec.name)
    return registered


@dataclass(frozen=True)
class AppDetail:
    app: App
    versions: list[tuple[str, datetime]]
    default: bool


async def describe_app(ctx: Context, actor: Actor, name: str) -> AppDetail:
    await ctx.policy.authorize(actor, "app.read", name)
    app = await ctx.apps.get(name)
    history = await ctx.registry.read(q.versions, app.pk)
    return AppDetail(app, history, await ctx.apps.default_name() == name)


async def list_apps(ctx: Context, actor: Actor) -> list[AppDetail]:
    await ctx.policy.authorize(actor, "app.list")
    default = await ctx.apps.default_name()

    def everything(conn: Connection) -> list[tuple[App, list[tuple[str, datetime]]]]:
        return [(app, q.versions(conn, app.pk)) for app in q.list_apps(conn)]

    return [
        AppDetail(app, history, app.name == default)
        for app, history in await ctx.registry.read(everything)
    ]


async def check_version(ctx: Context, app: App, version: str | None) -> None:
    """An app with services only runs versions it has; a bare app takes any label."""
    if version is None or app.bare or version == app.version:
        return
    if await ctx.registry.read(q.version_spec, app.pk, version) is None:
        raise NotFound(
            f"app {app.name!r} has no version {version!r}",
            code="VERSION_NOT_FOUND",
            app=app.name,
            version=version,
        )
