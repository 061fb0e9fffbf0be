"""Reading metrics: one instance's series, usage over a window (seed 002's usage
analytics), and what every instance uses right now (``roost top``)."""

from __future__ import annotations

import time
from typing import Any

from roost.auth import Actor
from roost.domain.access import visible_to
from roost.domain.errors import InvalidInput, instance_not_found
from roost.domain.ids import validate_instance_id
from roost.domain.metrics import check_names, cpu_percent, series
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import State
from roost.quotas import quota_limit
from roost.registry import instances as q
from roost.registry import metrics as store
from roost.registry import usage as usage_store
from roost.services.context import Context
from roost.services.metrics_exposition import health_by_id, render_instances
from roost.services.queries import every_instance

MAX_POINTS = 10_000  # per series in one answer
AUTO_POINTS = 1000  # per series, when a window would hold more than MAX_POINTS samples
TOP_SORTS = ("cpu", "memory", "restarts", "uptime", "id")
TOP_OF_USAGE = 5


async def series_of(
    ctx: Context, actor: Actor, instance_id: str, *, names: list[str], since_s: float, step: float
) -> dict[str, list[list[float]]]:
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "metrics.read", instance_id)
    names = check_names(names)
    if since_s <= 0:
        raise InvalidInput("since must be a positive duration", code="INVALID_DURATION")
    if step == 0 and since_s / ctx.settings.metrics_interval_s > MAX_POINTS:
        step = since_s / AUTO_POINTS  # a long window without a step: about that many points
    if step < 0 or (step > 0 and since_s / step > MAX_POINTS):
        raise InvalidInput(f"step too small: over {MAX_POINTS} points", code="INVALID_STEP")
    instance = await ctx.registry.read(q.get_instance, instance_id)
    if instance is None:
        raise instance_not_found(instance_id)
    samples = await ctx.registry.read(store.samples_of, instance.pk, time.time() - since_s)
    return series(samples, names, step)


async def visible_instances(ctx: Context, actor: Actor, where: InstanceFilter) -> list[Instance]:
    await ctx.policy.authorize(actor, "metrics.list")
    return await every_instance(ctx, visible_to(actor, where))


async def visible_ids(ctx: Context, actor: Actor) -> set[str] | None:
    """The instances whose metrics the caller may read; None: every one."""
    await ctx.policy.authorize(actor, "metrics.list")
    if actor.admin:
        return None
    return {i.instance_id for i in await every_instance(ctx, visible_to(actor, InstanceFilter()))}


async def exposition(ctx: Context, actor: Actor) -> bytes:
    """The Prometheus text of the instances the caller may see: what the sampler
    rendered after its last round for a caller who sees them all."""
    visible = await visible_ids(ctx, actor)
    rendered = ctx.metrics.exposition
    if visible is None and rendered is not None:
        return rendered
    return render_instances(ctx.metrics.all(), health_by_id(ctx), visible)


async def usage_report(ctx: Context, actor: Actor, *, since_s: float) -> dict[str, Any]:
    """Per instance over the last ``since_s`` seconds: uptime %, restarts, health
    checks and failures, cache operations, CPU and memory (average and peak), and
    quota consumption; the instances that used the most CPU and memory."""
    if since_s <= 0:
        raise InvalidInput("since must be a positive duration", code="INVALID_DURATION")
    instances = await visible_instances(ctx, actor, InstanceFilter())
    now = time.time()
    rows = {r.instance_pk: r for r in await ctx.registry.read(store.usage_since, now - since_s)}
    consumed = await ctx.registry.read(usage_store.consumed_by_instance)
    report = []
    for instance in instances:
        row = rows.get(instance.pk)
        window = max(1.0, min(since_s, now - instance.created_at.timestamp()))
        app = await ctx.apps.get_by_pk(instance.app_pk)
        quota = {
            feature: {"consumed": used, "limit": quota_limit(feature, instance.config, app.quotas)}
            for feature, used in consumed.get(instance.pk, {}).items()
        }
        report.append(
            {
                "instance_id": instance.instance_id,
                "app": instance.app,
                "state": instance.state.value,
                "uptime_percent": round(
                    min(100.0, 100 * (row.running_s if row else 0) / window), 2
                ),
                "restarts": row.restarts if row else 0,
                "health_checks": row.health_checks if row else 0,
                "failed_health_checks": row.health_failures if row else 0,
                "cache_ops": row.cache_ops if row else 0,
                "cpu_percent_avg": _rounded(row.cpu_percent_avg if row else None),
                "cpu_percent_max": _rounded(row.cpu_percent_max if row else None),
                "memory_bytes_avg": _whole(row.memory_bytes_avg if row else None),
                "memory_bytes_max": _whole(row.memory_bytes_max if row else None),
                "quota": quota,
            }
        )
    return {
        "since": now - since_s,
        "instances": report,
        "top_cpu": _top(report, "cpu_percent_avg"),
        "top_memory": _top(report, "memory_bytes_avg"),
    }


def _top(report: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    used = sorted((r for r in report if r[key]), key=lambda r: r[key], reverse=True)
    return [{"instance_id": r["instance_id"], key: r[key]} for r in used[:TOP_OF_USAGE]]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


async def top(
    ctx: Context, actor: Actor, *, sort: str = "cpu", limit: int = 100
) -> list[dict[str, Any]]:
    """Every running instance the caller may see, measured now: CPU since the previous
    ``top`` (or since its processes' last reading), memory, processes, restarts, uptime,
    health; sorted, the ``limit`` first."""
    if sort not in TOP_SORTS:
        raise InvalidInput(f"sort by one of {', '.join(TOP_SORTS)}", code="INVALID_SORT")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", code="INVALID_LIMIT")
    rows = []
    for instance in await visible_instances(ctx, actor, InstanceFilter()):
        if instance.state not in (State.ACTIVE, State.PAUSED):
            continue
        usage = ctx.runtime.usage(instance.instance_id)
        at = ctx.clock.monotonic()
        before = ctx.metrics.reading(instance.instance_id, at, usage.cpu_seconds)
        cpu = cpu_percent(before, (at, usage.cpu_seconds))
        if cpu is None:
            cpu = sum(s.cpu_percent or 0.0 for s in usage.services)
        health = ctx.health.known(instance.instance_id)
        rows.append(
            {
                "instance_id": instance.instance_id,
                "name": instance.name,
                "app": instance.app,
                "state": instance.state.value,
                "health": (health.health if health else instance.health).value,
                "cpu_percent": round(cpu, 1),
                "memory_bytes": usage.memory_bytes,
                "processes": usage.processes,
                "restarts": sum(s.restarts for s in usage.services),
                "uptime_s": max((s.uptime_s or 0.0 for s in usage.services), default=0.0),
                "measured_by": usage.source,
            }
        )
    key = {"cpu": "cpu_percent", "memory": "memory_bytes", "id": "instance_id"}.get(sort, sort)
    rows.sort(key=lambda r: r[key], reverse=sort != "id")
    return rows[:limit]
