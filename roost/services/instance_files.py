"""Keeping each instance's directory in step with its app, config, ports and secrets.

Only instances of apps that have services or files get a directory: a bare app's
instance (a seed-000 registration, a data-plane namespace) has nothing to put there.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from roost.domain.errors import RoostError
from roost.domain.model import Instance
from roost.domain.spec import AppSpec
from roost.domain.templates import render
from roost.domain.values import deep_merge
from roost.files import base_environment, render_instance, template_context
from roost.hooks import HookResult, run_hook
from roost.instance_dir import InstanceDir
from roost.registry import instances as q
from roost.registry import secrets as secret_store
from roost.services.context import Context


class InstallFailed(RoostError):
    status = 424
    code = "INSTALL_FAILED"


async def spec_of(ctx: Context, instance: Instance) -> AppSpec | None:
    app = await ctx.apps.get_by_pk(instance.app_pk)
    return await ctx.apps.spec_of_version(app, instance.version)


async def effective_config(ctx: Context, instance: Instance) -> dict[str, Any]:
    """The app's config defaults (of the instance's version) under the instance's overrides."""
    spec = await spec_of(ctx, instance)
    return deep_merge(spec.config if spec is not None else {}, instance.config)


async def decrypted_secrets(
    ctx: Context, instance: Instance, sealed: dict[str, str] | None = None
) -> dict[str, str]:
    """The instance's secrets in clear; ``sealed`` when they were read already."""
    if sealed is None:
        sealed = await ctx.registry.read(secret_store.sealed_values, instance.pk)
    return {name: ctx.box.decrypt(token).decode() for name, token in sealed.items()}


def instance_and_sealed_secrets(
    conn: Connection, instance_id: str
) -> tuple[Instance, dict[str, str]] | None:
    """One read for a (re)start: the instance as it is now, and its secrets as stored."""
    instance = q.get_instance(conn, instance_id)
    if instance is None:
        return None
    return instance, secret_store.sealed_values(conn, instance.pk)


def has_directory(spec: AppSpec | None) -> bool:
    return spec is not None and bool(spec.services or spec.files or spec.install)


@dataclass(frozen=True)
class Rendering:
    """What an instance's files (and its processes) are made from, read once."""

    spec: AppSpec
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)


async def rendering_of(
    ctx: Context, instance: Instance, sealed: dict[str, str] | None = None
) -> Rendering | None:
    """None when the instance has no directory (a bare app); ``sealed``: its secrets,
    when they were read already."""
    spec = await spec_of(ctx, instance)
    if spec is None or not has_directory(spec):
        return None
    config = deep_merge(spec.config, instance.config)
    return Rendering(spec, config, await decrypted_secrets(ctx, instance, sealed))


def write_files(ctx: Context, instance: Instance, rendering: Rendering) -> list[str]:
    """Render the instance's files; the ones that changed."""
    directory = InstanceDir(ctx.home.path, instance.instance_id)
    files = render_instance(
        instance,
        rendering.spec,
        rendering.config,
        directory.path,
        rendering.secrets,
        ctx.settings.url,
    )
    return directory.write(files)


async def refresh(ctx: Context, instance: Instance) -> list[str]:
    """Re-render the instance's files; the ones that changed."""
    rendering = await rendering_of(ctx, instance)
    return [] if rendering is None else write_files(ctx, instance, rendering)


async def run_spec_hook(
    ctx: Context, instance: Instance, spec: AppSpec, argv: list[str]
) -> HookResult:
    """A hook of the spec (install, uninstall, backup.pre and post), rendered for the
    instance and run in its directory with its base environment."""
    directory = InstanceDir(ctx.home.path, instance.instance_id)
    config = await effective_config(ctx, instance)
    context = template_context(instance, spec, config, directory.path)
    rendered = [render(part, context, where="hook") for part in argv]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(base_environment(instance, spec, config, directory.path, ctx.settings.url))
    # an app with hooks and nothing to render has no directory yet: the hook gets one
    await asyncio.to_thread(directory.path.mkdir, mode=0o700, parents=True, exist_ok=True)
    return await run_hook(rendered, cwd=directory.path, env=env)


async def install(ctx: Context, instance: Instance) -> None:
    """Render the directory and run the install hook; on failure, raise with its output."""
    spec = await spec_of(ctx, instance)
    if not has_directory(spec):
        return
    assert spec is not None
    await refresh(ctx, instance)
    if spec.install:
        result = await run_spec_hook(ctx, instance, spec, spec.install)
        if not result.ok:
            raise InstallFailed(
                f"install of {instance.instance_id!r} failed with exit code {result.code}",
                exit_code=result.code,
                output=result.tail,
            )


async def uninstall(ctx: Context, instance: Instance) -> HookResult | None:
    """Run the uninstall hook (if any) and remove the directory."""
    spec = await spec_of(ctx, instance)
    result = None
    directory = InstanceDir(ctx.home.path, instance.instance_id)
    if spec is not None and spec.uninstall and directory.path.exists():
        result = await run_spec_hook(ctx, instance, spec, spec.uninstall)
    directory.remove()
    return result
