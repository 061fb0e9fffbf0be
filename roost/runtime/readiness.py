"""Is a service up? Its ports accept connections, or its health probe passes."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from roost.runtime.plan import Probe, ServicePlan


async def listening(port: int, host: str = "127.0.0.1", within: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
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


async def ready(plan: ServicePlan) -> bool:
    """The probe when the service has one, else every port it uses listens (a service
    without either is up once it runs)."""
    if plan.probe is not None:
        return await probe_passes(plan.probe, plan)
    results = await asyncio.gather(*(listening(port) for port in plan.ports))
    return all(results)
