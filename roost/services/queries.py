"""Reads several use cases share."""

from __future__ import annotations

from roost.domain.model import Instance, InstanceFilter
from roost.registry import instances as q
from roost.services.context import Context


async def every_instance(ctx: Context, where: InstanceFilter | None = None) -> list[Instance]:
    """Every instance that matches, oldest first, read a page at a time."""
    found: list[Instance] = []
    after = 0
    while page := await ctx.registry.read(
        q.list_instances, where or InstanceFilter(), after_pk=after, limit=1000
    ):
        found += page
        after = page[-1].pk
    return found
