"""Seed 003's view of an instance's services: each one as ``service@instance``, with its
process (pid, uptime, restarts, exit code, CPU, memory) and the instance's limits."""

from __future__ import annotations

from typing import Any

from roost.auth import Actor
from roost.domain.model import Instance
from roost.runtime.protocol import ServiceState
from roost.runtime.runs import Status
from roost.services import instance_files
from roost.services.context import Context
from roost.services.instances import get_instance


async def service_listing(ctx: Context, actor: Actor, instance_id: str) -> dict[str, Any]:
    """Every service of the instance, in start order, with its process."""
    instance = await get_instance(ctx, actor, instance_id)
    return await listing_of(ctx, instance)


async def listing_of(ctx: Context, instance: Instance) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "limits": ctx.runtime.enforcement(instance.instance_id),
        "services": await _services(ctx, instance),
    }


async def _services(ctx: Context, instance: Instance) -> list[dict[str, Any]]:
    spec = await instance_files.spec_of(ctx, instance)
    if spec is None:
        return []
    states = {state.service: state for state in ctx.runtime.states(instance.instance_id)}
    views = []
    for name in spec.start_order():
        ports = spec.service_ports(name)
        state = states.get(name, ServiceState(name, Status.STOPPED.value))
        views.append(
            {
                "service": f"{name}@{instance.instance_id}",
                "name": instance.name,
                "instance_id": instance.instance_id,
                "ip": "127.0.0.1",
                "port": instance.ports.get(ports[0]) if ports else None,
                "status": state.status,
                "pid": state.pid,
                "uptime_s": state.uptime_s,
                "restarts": state.restarts,
                "exit_code": state.exit_code,
                "cpu_percent": state.cpu_percent,
                "rss_bytes": state.rss_bytes,
            }
        )
    return views
