"""The background job that samples every active instance (``ROOST_METRICS_INTERVAL``,
15 s by default) and keeps the samples in the registry.

Each sample holds what the instance uses (CPU from its cgroup where one counts it, else
from its processes; memory; processes; uptime), its disk bytes (measured off the loop,
at most every few minutes), its cache keys and bytes, and what happened since the last
sample (restarts, cache operations, health checks and failures, probe latency), and
what its services serve as Prometheus text. The latest sample of each instance stays in
memory for ``GET /metrics``. Every :data:`COMPACT_EVERY_S` old samples are merged into
minute buckets and those past the retention dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx

from roost.domain.metrics import Retention, Sample, cpu_percent
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import State
from roost.failures import log_failure
from roost.instance_dir import InstanceDir
from roost.registry import metrics as store
from roost.scrape import ScrapeFailed, scrape
from roost.services.context import Context
from roost.services.disk_usage import DiskMeter
from roost.services.health import plans_of
from roost.services.metrics_book import Latest, Totals
from roost.services.metrics_exposition import health_by_id, render_instances
from roost.services.queries import every_instance

COMPACT_EVERY_S = 600.0
SAMPLED_AT_ONCE = 32
YIELD_EVERY = 20  # instances measured between two looks at the event loop
log = logging.getLogger("roost.metrics")


@dataclass(frozen=True)
class Reading:
    """What the previous sample of an instance counted, to take differences from."""

    at: float  # monotonic
    cpu_s: float
    restarts: int
    totals: Totals


class MetricsSampler:
    """Sampling, one round at a time (``services/jobs.py`` runs :meth:`round` every
    ``ROOST_METRICS_INTERVAL``)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._before: dict[str, Reading] = {}
        self._disk = DiskMeter(ctx.clock.monotonic, ctx.background)
        self._compacted_at = float("-inf")
        self._client: httpx.AsyncClient | None = None
        self.samples_taken = 0

    async def round(self) -> None:
        """One turn of the job: old samples compacted (every :data:`COMPACT_EVERY_S`),
        then every active instance sampled."""
        now = self._ctx.clock.monotonic()
        if now - self._compacted_at >= COMPACT_EVERY_S:
            self._compacted_at = now
            try:
                await compact(self._ctx)
            except Exception as error:  # the samples are taken all the same
                log_failure(log, error, "could not compact the metric samples")
        await self.sample()

    async def sample(self) -> int:
        """Sample every active instance once and store it; how many were stored."""
        ctx = self._ctx
        active = await every_instance(ctx, InstanceFilter(state=State.ACTIVE))
        ids = {instance.instance_id for instance in active}
        for gone in self._before.keys() - ids:
            del self._before[gone]
        ctx.metrics.keep_only(ids)
        self._disk.keep_only(ids)
        gate = asyncio.Semaphore(SAMPLED_AT_ONCE)
        taken: list[store.Taken] = []

        async def one(index: int, instance: Instance) -> None:
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # measuring is synchronous: let requests through
            async with gate:
                try:
                    taken.append(await self._take(instance))
                except Exception as error:
                    log_failure(log, error, "could not sample %s", instance.instance_id)

        try:
            await asyncio.gather(*(one(i, instance) for i, instance in enumerate(active)))
        finally:
            if self._client is not None:  # made by the round's first scrape
                await self._client.aclose()
                self._client = None
        # rendered off the event loop, once per round, for the scrapes until the next
        latest, health = ctx.metrics.all(), health_by_id(ctx)
        ctx.metrics.exposition = await asyncio.to_thread(render_instances, latest, health)
        stored = await ctx.registry.write(store.add_samples, taken) if taken else 0
        self.samples_taken += stored
        return stored

    async def _take(self, instance: Instance) -> store.Taken:
        ctx = self._ctx
        instance_id = instance.instance_id
        now, unix = ctx.clock.monotonic(), time.time()
        usage = ctx.runtime.usage(instance_id)
        restarts = sum(s.restarts for s in usage.services)
        known = ctx.health.known(instance_id)
        totals = Totals(
            cache_ops=ctx.directory.operations.get(instance_id, 0),
            health_checks=known.checks if known else 0,
            failed_checks=known.failed_checks if known else 0,
        )
        before = self._before.get(instance_id)
        if before is None:  # the first: since it changed last (started), at most an interval
            since = unix - instance.updated_at.timestamp()
            span = min(ctx.settings.metrics_interval_s, max(0.001, since))
        else:
            span = now - before.at
        values: dict[str, float] = {
            "up": 1.0 if all(s.status == "running" for s in usage.services) else 0.0,
            "memory_bytes": usage.memory_bytes,
            "processes": usage.processes,
            "uptime_s": max((s.uptime_s or 0.0 for s in usage.services), default=0.0),
            "restarts": _since(restarts, before.restarts if before else restarts),
            "cache_ops": _since(totals.cache_ops, before.totals.cache_ops if before else 0),
            "health_checks": _since(
                totals.health_checks, before.totals.health_checks if before else 0
            ),
            "health_failures": _since(
                totals.failed_checks, before.totals.failed_checks if before else 0
            ),
        }
        previous = None if before is None else (before.at, before.cpu_s)
        cpu = cpu_percent(previous, (now, usage.cpu_seconds))
        if cpu is not None:
            values["cpu_percent"] = cpu
        disk = self._disk.bytes_of(instance_id, InstanceDir(ctx.home.path, instance_id).path)
        if disk is not None:
            values["disk_bytes"] = disk
        cached = await ctx.cache.usage(instance_id)
        values["cache_keys"], values["cache_bytes"] = cached.keys, cached.bytes
        latencies = [
            s.last.latency_ms for s in (known.services.values() if known else []) if s.last
        ]
        if latencies:
            values["probe_latency_ms"] = sum(latencies) / len(latencies)
        scraped = await self._scrape(instance)
        self._before[instance_id] = Reading(now, usage.cpu_seconds, restarts, totals)
        ctx.metrics.keep(Latest(instance_id, instance.app, unix, usage, values, totals, scraped))
        return store.Taken(instance_id, Sample(unix - span, span, values), scraped)

    async def _scrape(self, instance: Instance) -> dict[str, float]:
        plans = [p for p in await plans_of(self._ctx, instance) if p.metrics_url]
        if not plans:
            return {}
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False)
        timeout = min(5.0, self._ctx.settings.metrics_interval_s / 2)
        found: dict[str, float] = {}
        for plan in plans:
            assert plan.metrics_url is not None
            try:
                found.update(await scrape(self._client, plan.metrics_url, plan.service, timeout))
            except ScrapeFailed as failed:
                log.info("could not scrape %s: %s", plan.unit, failed)
        return found


def _since(now: int, before: int) -> int:
    """What a counter added; one that went back (started over) counts from zero."""
    return now - before if now >= before else now


async def compact(ctx: Context, retention: Retention | None = None) -> tuple[int, int]:
    """Drop samples past the retention and merge old raw ones into buckets, a few
    instances per transaction; (dropped, merged)."""
    kept = retention or Retention(keep_s=ctx.settings.metrics_retention_s)
    drop, merge = kept.cutoffs(time.time())
    dropped = await ctx.registry.write(store.drop_before, drop)
    merged = 0
    while found := await ctx.registry.write(store.merge_before, merge, kept.bucket_s):
        merged += found
        await asyncio.sleep(0)
    return dropped, merged
