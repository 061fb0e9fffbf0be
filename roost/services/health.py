"""Health checks: probe an instance's services now, fold the results into its health,
record what changed, and restart a service that stayed unhealthy when its spec asks.

A service is probed with its declared probe, else a connect to its first port; one with
neither counts as healthy while its process runs (as a container without a health
check is). A service whose processes are gone while the instance is active is
``error``; an instance that is not active is ``unknown``. Every change of an instance's
health is an ``instance.health`` event; every check writes the instance's health and
the time of the check, many checks in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from roost.auth import SUPERVISOR, Actor
from roost.domain.access import visible_to
from roost.domain.clock import rfc3339
from roost.domain.errors import RoostError, instance_not_found
from roost.domain.health import InstanceHealth, ProbeResult, ServiceHealth, Thresholds
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance, InstanceFilter
from roost.domain.names import ID
from roost.domain.states import Health, State
from roost.failures import log_failure
from roost.registry import instances as q
from roost.runtime.errors import StartFailed
from roost.runtime.plan import ServicePlan
from roost.runtime.probes import run_probe
from roost.runtime.protocol import ServiceState
from roost.runtime.runs import Status
from roost.services import runner
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.queries import every_instance

CHECK_CONCURRENCY = 100  # instances checked at once by one request
DEFAULT_INTERVAL = 10.0  # seconds between checks of an instance without a declared probe
NOT_RUNNING = frozenset({Status.STOPPED.value, Status.EXITED.value, Status.FAILED.value})
SETTLING = frozenset({Status.STARTING.value, Status.BACKOFF.value, Status.PAUSED.value})
RUNS = ProbeResult(passed=True, latency_ms=0.0)  # nothing to probe, and its process runs
log = logging.getLogger("roost.health")


@dataclass(frozen=True)
class Checked:
    """One instance after a check: its health before and now, and when to check again."""

    instance: Instance
    before: Health
    now: InstanceHealth
    interval: float


async def check(ctx: Context, instance: Instance) -> Checked:
    """Probe every service of ``instance`` now (concurrently) and fold in the results."""
    book = ctx.health
    previous = book.known(instance.instance_id)
    # what the registry holds, unless this server checked it since it last changed (a
    # state change resets it to unknown; a check does not touch updated_at)
    fresh = previous is not None and (previous.checked_at or 0) > instance.updated_at.timestamp()
    before = previous.health if previous is not None and fresh else instance.health
    known = book.of(instance.instance_id)
    at = time.time()
    running = {s.service: s for s in ctx.runtime.states(instance.instance_id, measured=False)}
    # not active, or the runtime has not taken it up yet (the server is booting): unknown
    plans = await plans_of(ctx, instance) if instance.state is State.ACTIVE and running else []
    if len(plans) == 1:  # the common case, without a task of its own
        await _check_service(known, plans[0], running.get(plans[0].service), at)
    else:
        await asyncio.gather(
            *(_check_service(known, plan, running.get(plan.service), at) for plan in plans)
        )
    for gone in set(known.services) - {plan.service for plan in plans}:
        del known.services[gone]
    known.settle(at)
    intervals = [p.health_probe.interval for p in plans if p.health_probe is not None]
    return Checked(instance, before, known, min(intervals, default=DEFAULT_INTERVAL))


async def plans_of(ctx: Context, instance: Instance) -> list[ServicePlan]:
    """The services' plans as probes and the sampler use them (kept until it changes)."""
    plans = ctx.health.plans(instance)
    if plans is None:
        plans = await runner.probe_plans(ctx, instance)
        ctx.health.keep_plans(instance, plans)
    return plans


async def _check_service(
    known: InstanceHealth, plan: ServicePlan, state: ServiceState | None, at: float
) -> None:
    tracker = known.services.get(plan.service)
    pid = state.pid if state is not None else None
    if tracker is None or (pid is not None and tracker.run not in (None, pid)):
        tracker = known.services[plan.service] = ServiceHealth(run=pid)  # a new process
    tracker.run = pid or tracker.run
    status = state.status if state is not None else Status.STOPPED.value
    if status in NOT_RUNNING:
        tracker.gone(f"not running ({status})", at=at)
        return
    if status in SETTLING:
        return  # starting, restarting or frozen: nothing to tell yet
    probe = plan.health_probe
    since_start = state.uptime_s if state is not None else None
    if probe is None:
        tracker.observe(RUNS, Thresholds(successes=1), at=at, since_start=since_start)
        return
    result = await run_probe(probe, plan.cwd, plan.env)
    tracker.observe(result, probe.thresholds, at=at, since_start=since_start)


async def check_many(
    ctx: Context, instances: Iterable[Instance], *, actor: Actor = SUPERVISOR
) -> list[Checked]:
    """Check each instance (at most :data:`CHECK_CONCURRENCY` at once), record the
    outcomes in one transaction, and restart what stayed unhealthy too long."""
    gate = asyncio.Semaphore(CHECK_CONCURRENCY)

    async def one(instance: Instance) -> Checked:
        async with gate:
            return await check(ctx, instance)

    checked = await asyncio.gather(*(one(i) for i in instances))
    await record(ctx, checked, actor=actor)
    for outcome in checked:
        restart_the_unhealthy(ctx, outcome)
    return list(checked)


async def record(ctx: Context, checked: list[Checked], *, actor: Actor = SUPERVISOR) -> None:
    """Write each instance's health and the time of its check; an event for each change."""
    if not checked:
        return

    def apply(conn: Connection, event: Recorder) -> None:
        q.record_health(
            conn,
            [
                q.HealthRecord(
                    c.instance.instance_id,
                    c.now.health,
                    c.now.error,
                    _utc(c.now.checked_at or 0),
                )
                for c in checked
            ],
        )
        for c in checked:
            if c.now.health is not c.before:
                event(
                    "instance.health",
                    c.instance,
                    outcome="ok" if c.now.health is Health.HEALTHY else "error",
                    details={
                        "from": c.before.value,
                        "to": c.now.health.value,
                        "error": c.now.error,
                    },
                )

    await commit(ctx, actor, apply)


def restart_the_unhealthy(ctx: Context, checked: Checked) -> None:
    """Restart, in the background, each service whose ``restart_on_unhealthy`` failures
    in a row were reached (the runtime's backoff and start limit apply)."""
    for plan in ctx.health.plans(checked.instance) or []:
        tracker = checked.now.services.get(plan.service)
        limit = plan.restart_on_unhealthy
        if limit is None or tracker is None or tracker.failures_in_a_row < limit:
            continue
        failures, reason = tracker.failures_in_a_row, tracker.error
        tracker.failures_in_a_row = 0  # counted afresh after the restart
        ctx.background.run(_restart(ctx, checked.instance, plan, failures, reason))


async def _restart(
    ctx: Context, instance: Instance, plan: ServicePlan, failures: int, reason: str | None
) -> None:
    why = f"{failures} failed health checks in a row" + (f": {reason}" if reason else "")
    outcome = "ok"
    try:
        async with ctx.locks(instance.instance_id):
            await ctx.runtime.stop_service(instance.instance_id, plan.service)
            await runner.start_service(ctx, instance, plan.service)
    except StartFailed as exc:
        outcome, why = "error", f"{why}; the restart failed: {exc.message}"
    except Exception as error:
        log_failure(log, error, "could not restart %s", plan.unit)
        return

    def apply(conn: Connection, event: Recorder) -> None:
        event(
            "service.restarted",
            instance,
            outcome=outcome,
            details={"service": plan.service, "reason": why, "by": "restart_on_unhealthy"},
        )

    await commit(ctx, SUPERVISOR, apply)


async def check_one(ctx: Context, actor: Actor, instance_id: str) -> Checked:
    """Check one instance now (an operator's right), recorded as the sweep's are."""
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "health.check", instance_id)
    instance = await get_instance(ctx, actor, instance_id)
    [checked] = await check_many(ctx, [instance], actor=actor)
    return checked


async def check_selected(
    ctx: Context,
    actor: Actor,
    instance_ids: list[str] | None,
    app: str | None = None,
    tags: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """Check the named instances, or every one the actor may see of ``app`` and
    ``tags``, concurrently; an instance that cannot be checked (missing, refused) is a
    result with its error, never a failure of the whole."""
    if instance_ids is None:
        seen = await every_instance(ctx, visible_to(actor, InstanceFilter(app=app, tags=tags)))
        instance_ids = [i.instance_id for i in seen]
    wanted = list(dict.fromkeys(instance_ids))
    valid = [i for i in wanted if ID.matches(i)]
    found = await ctx.registry.read(q.instances_by_id, valid)
    results: dict[str, dict[str, Any]] = {}
    checkable: list[Instance] = []
    for instance_id in wanted:
        try:
            validate_instance_id(instance_id)
            await ctx.policy.authorize(actor, "health.check", instance_id)
            if instance_id not in found:
                raise instance_not_found(instance_id)
            checkable.append(found[instance_id])
        except RoostError as refused:
            results[instance_id] = _refusal(refused)
    for checked in await check_many(ctx, checkable, actor=actor):
        results[checked.instance.instance_id] = result_view(checked)
    return results


def _refusal(refused: RoostError) -> dict[str, Any]:
    return {
        "health": Health.ERROR.value,
        "error": refused.message,
        "code": refused.code,
        "checked_at": None,
        "services": {},
    }


def result_view(checked: Checked) -> dict[str, Any]:
    """What the API answers for one checked instance."""
    now = checked.now
    return {
        "health": now.health.value,
        "error": now.error,
        "checked_at": None if now.checked_at is None else rfc3339(_utc(now.checked_at)),
        "services": {name: s.view() for name, s in sorted(now.services.items())},
    }


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
