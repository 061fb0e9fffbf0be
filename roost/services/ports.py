"""Reading the ports every instance holds (allocation is ``port_allocator.py``)."""

from __future__ import annotations

from typing import Any

from roost.auth import Actor
from roost.domain.access import visible_to
from roost.domain.model import InstanceFilter
from roost.registry import ports as store
from roost.services.context import Context
from roost.services.queries import every_instance


async def all_ports(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """By host and number, with the instance and app holding each."""
    await ctx.policy.authorize(actor, "ports.list")
    ports = await ctx.registry.read(store.all_ports)
    if actor.admin:
        return ports
    seen = {i.instance_id for i in await every_instance(ctx, visible_to(actor, InstanceFilter()))}
    return [port for port in ports if port["instance_id"] in seen]
