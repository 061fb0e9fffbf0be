"""Is a service up? Its ports accept connections, or its health probe passes."""

from __future__ import annotations

import asyncio
import socket

import httpx

from roost.runtime.listeners import RecentListeners
from roost.runtime.plan import Probe, ServicePlan


async def listening(port: int, host: str = "127.0.0.1", within: float = 0.5) -> bool:
    """Whether ``port`` accepts a connection: a bare non-blocking connect, no streams (a
    check every few milliseconds while many services start must cost next to nothing)."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setblocking(False)
        try:
            async with asyncio.timeout(within):
                await loop.sock_connect(probe, (host, port))
        except (OSError, TimeoutError):
            return False
    return True


async def probe_passes(probe: Probe, plan: ServicePlan) -> bool:
    if probe.kind == "tcp":
        assert probe.port is not None
        return await listening(probe.port, within=probe.timeout)
    if probe.kind == "http":
        assert probe.url is not None
        try:
            async with httpx.AsyncClient(timeout=probe.timeout) as client:
                response = await client.get(probe.url)
        except httpx.HTTPError:
            return False
        return response.status_code < 400
    try:
        process = await asyncio.create_subprocess_exec(
            *probe.command,
            cwd=plan.cwd,
            env=dict(plan.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(process.wait(), probe.timeout) == 0
    except TimeoutError:
        process.kill()
        await process.wait()
        return False


async def ready(plan: ServicePlan, listeners: RecentListeners | None = None) -> bool:
    """The probe when the service has one, else every port it uses listens (asked of
    ``listeners`` where netlink answers, else by connecting); a service without either
    is up once it runs."""
    if plan.probe is not None:
        return await probe_passes(plan.probe, plan)
    known = listeners.ports() if listeners is not None else None
    if known is not None:
        return all(port in known for port in plan.ports)
    for port in plan.ports:
        if not await listening(port):
            return False
    return True
