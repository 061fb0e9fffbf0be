"""Reading the ports every instance holds (allocation is ``port_allocator.py``)."""

from __future__ import annotations

from typing import Any

from roost.auth import Actor
from roost.registry import ports as store
from roost.services.context import Context


async def all_ports(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """By host and number, with the instance and app holding each."""
    await ctx.policy.authorize(actor, "ports.list")
    return await ctx.registry.read(store.all_ports)
