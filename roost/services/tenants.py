"""The data plane's instances (seed 001): found in the directory, else read from the
registry, else, where the data plane may, created on first use in the bare app
``cache`` with the seed's default config."""

from __future__ import annotations

import functools
from typing import Any

from roost.auth import Actor
from roost.domain.errors import Conflict, instance_not_found
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.registry import instances as q
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.directory import DEFAULT_STORAGE, Tenant

CACHE_APP = "cache"

# Seed 001's defaults for an instance the data plane creates on first access.
SEED_DEFAULT_CONFIG: dict[str, Any] = {
    "game_type": "default",
    "region": "default",
    "resource_quota": {"memory": "8GB", "storage": DEFAULT_STORAGE, "cpu_cores": 4},
}


READ, WRITE = "cache.read", "cache.write"  # what the policy is asked, on the instance


async def tenant(ctx: Context, actor: Actor, instance_id: str, access: str = READ) -> Tenant:
    """The instance as the data plane sees it, for a caller the policy lets ``access``
    it (after it is found: a missing instance is 404 to anyone); from memory on every
    request but the first."""
    known = ctx.directory.cached(instance_id)
    if known is None:
        validate_instance_id(instance_id)
        known = await ctx.directory.resolve(
            instance_id, functools.partial(_load, ctx, actor, instance_id)
        )
    await ctx.policy.authorize(actor, access, instance_id)
    return known


async def _load(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    instance = await ctx.registry.read(q.get_instance, instance_id)
    if instance is not None:
        return instance
    if not ctx.settings.cache_auto_create:
        raise instance_not_found(instance_id)
    try:
        return await create_for_data_plane(ctx, actor, instance_id)
    except Conflict:  # created meanwhile by someone else
        instance = await ctx.registry.read(q.get_instance, instance_id)
        if instance is None:
            raise
        return instance


async def create_for_data_plane(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    await ctx.apps.ensure_bare(CACHE_APP)
    request = CreateRequest(app=CACHE_APP, instance_id=instance_id, config=SEED_DEFAULT_CONFIG)
    return await create_instance(ctx, actor, request, event_action="cache.auto-create")
