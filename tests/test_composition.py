"""The composition root builds what it is not handed and wires what it is: the parts a
test hands in are the ones the context uses, the runtime is told to report to the
services, and the jobs given are the jobs that run (and stop at close)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.cache.embedded import EmbeddedStore
from roost.composition import open_context
from roost.jobs import Every, Job
from roost.registry.database import Registry
from roost.runtime.supervisor import LocalSupervisor
from roost.services.context import Context
from roost.services.jobs import STANDARD_JOBS
from roost.services.runtime_events import RuntimeEvents
from roost.settings import Settings


async def test_handed_in_parts_are_used_and_the_jobs_given_run(
    settings: Settings, tmp_path: Path
) -> None:
    runtime = LocalSupervisor()
    cache = EmbeddedStore(tmp_path / "own-cache")
    registry = Registry(settings.database_url)
    ticks: list[str] = []

    async def tick() -> None:
        ticks.append("tick")

    def ticker(ctx: Context) -> Job:
        return Every("ticker", 0.01, tick, clock=ctx.clock)

    ctx = await open_context(
        settings, registry=registry, runtime=runtime, cache=cache, jobs=[ticker]
    )
    try:
        assert ctx.runtime is runtime and ctx.cache is cache and ctx.registry is registry
        assert isinstance(runtime._listener, RuntimeEvents)  # what it notices is recorded
        assert ctx.jobs.names == ["ticker"]
        while not ticks:
            await asyncio.sleep(0.01)
    finally:
        await ctx.close()
    stopped = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == stopped  # closing cancelled it
    assert not (tmp_path / "home" / "cache").exists()  # no cache of its own was built


async def test_by_default_every_standard_job_runs(settings: Settings) -> None:
    ctx = await open_context(settings)
    try:
        assert ctx.jobs.names == [
            "activity-flush",
            "cache-expiry",
            "log-rotation",
            "health-checks",
            "metrics-sampler",
            "webhooks",
            "backup-schedules",
        ]
        assert len(STANDARD_JOBS) == 7
    finally:
        await ctx.close()
    assert ctx.jobs.names == []
