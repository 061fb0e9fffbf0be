"""At server start, what runs is made to match what should (as systemd does at boot):
every live process of the home is found, whoever started it and whether or not it was
recorded (``runtime/inventory.py``); those of instances that should run are adopted and
recorded; everything else is stopped; and what should run and does not is started (or,
with autostart off, the instance goes to ``error`` saying what does not run).

So a server killed at any point (in the middle of ``up all``, before it recorded a
process it started) leaves nothing running that the next one does not know of, and an
instance is ``active`` exactly when all of its services run. What was done is logged,
and recorded as one ``instance.reconciled`` event per instance that needed it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from roost.auth import SUPERVISOR
from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import State
from roost.registry import instances as q
from roost.runtime.errors import StartFailed
from roost.runtime.inventory import Found
from roost.runtime.plan import ServicePlan
from roost.runtime.protocol import Recorded
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.process_journal import recorded_processes
from roost.services.queries import every_instance
from roost.services.runner import RUNS, plans
from roost.services.transitions import record_failure

log = logging.getLogger("roost.boot")
BOOT_CONCURRENCY = 8


class HasInstanceId(Protocol):
    @property
    def instance_id(self) -> str: ...


T = TypeVar("T", bound=HasInstanceId)


@dataclass
class Reconciled:
    """What boot did for one instance."""

    instance: Instance
    planned: list[ServicePlan] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)  # adopted through the inventory
    missing: list[str] = field(default_factory=list)
    stopped: list[Found] = field(default_factory=list)
    started: bool = False
    failure: str | None = None

    @property
    def instance_id(self) -> str:
        return self.instance.instance_id

    @property
    def eventful(self) -> bool:
        return bool(self.unrecorded or self.missing or self.stopped)

    def details(self) -> dict[str, Any]:
        return {
            "adopted_unrecorded": self.unrecorded,
            "missing": self.missing,
            "started": self.started,
            "stopped": [{"service": p.service, "pid": p.pid} for p in self.stopped],
            "failure": self.failure,
        }


async def boot(ctx: Context) -> None:
    recorded = await recorded_processes(ctx.registry)
    found = await ctx.runtime.inventory()
    leaders: defaultdict[tuple[str, str], list[Found]] = defaultdict(list)
    for process in found:
        if process.leader and process.service is not None:
            leaders[process.instance_id, process.service].append(process)
    wanted = [
        instance
        for state in RUNS
        for instance in await every_instance(ctx, InstanceFilter(state=state))
    ]
    gate = asyncio.Semaphore(BOOT_CONCURRENCY)
    outcomes: dict[str, Reconciled] = {}

    async def adopt(instance: Instance) -> None:
        async with gate, ctx.locks(instance.instance_id):
            outcome = outcomes[instance.instance_id] = Reconciled(instance)
            outcome.planned = await plans(ctx, instance)
            candidates = _candidates(
                instance, outcome.planned, recorded.get(instance.instance_id, []), leaders
            )
            outcome.missing = await ctx.runtime.adopt(outcome.planned, list(candidates.values()))
            journal = {(r.pid, r.started_at) for r in recorded.get(instance.instance_id, [])}
            outcome.unrecorded = [
                service
                for service, record in candidates.items()
                if service not in outcome.missing and (record.pid, record.started_at) not in journal
            ]

    await _each(wanted, adopt, "adopt the processes of")
    for stray in await ctx.runtime.sweep(found):  # ports are free before anything starts
        outcome = outcomes.get(stray.instance_id)
        if outcome is None:
            instance = await ctx.registry.read(q.get_instance, stray.instance_id)
            if instance is None:
                log.warning(
                    "boot: stopped process %d of %r, an instance no more",
                    stray.pid,
                    stray.instance_id,
                )
                continue
            outcome = outcomes[stray.instance_id] = Reconciled(instance)
        outcome.stopped.append(stray)

    async def start(outcome: Reconciled) -> None:
        instance = outcome.instance
        if not outcome.missing or instance.state not in RUNS:
            return
        async with gate, ctx.locks(instance.instance_id):
            if not ctx.settings.autostart:
                units = ", ".join(f"{name}@{instance.instance_id}" for name in outcome.missing)
                outcome.failure = (
                    f"{units} did not run when the server started, and autostart is off:"
                    " start the instance to run them"
                )
            else:
                try:
                    await ctx.runtime.start(outcome.planned)
                    outcome.started = True
                except StartFailed as exc:
                    outcome.failure = exc.message
            if outcome.failure is not None:
                await record_failure(ctx, SUPERVISOR, instance.instance_id, outcome.failure)

    await _each(list(outcomes.values()), start, "start")
    await _tell([o for o in outcomes.values() if o.eventful], ctx)


def _candidates(
    instance: Instance,
    planned: Sequence[ServicePlan],
    recorded: Sequence[Recorded],
    leaders: dict[tuple[str, str], list[Found]],
) -> dict[str, Recorded]:
    """For each service, the process to adopt: the recorded one if it runs, else the
    newest live process started as that service (a start no server recorded), else the
    record (adopt finds it gone and says the service is missing)."""
    by_service = {record.service: record for record in recorded}
    chosen = {}
    for plan in planned:
        record = by_service.get(plan.service)
        alive = sorted(
            leaders.get((instance.instance_id, plan.service), []), key=lambda p: p.started_at
        )
        same = [p for p in alive if record is not None and p.pid == record.pid]
        if same and record is not None:
            chosen[plan.service] = record
        elif alive:
            newest = alive[-1]
            chosen[plan.service] = Recorded(
                plan.service,
                newest.pid,
                newest.started_at,
                paused=instance.state is State.PAUSED,
            )
        elif record is not None:
            chosen[plan.service] = record
    return chosen


async def _each(items: Sequence[T], work: Callable[[T], Awaitable[None]], what: str) -> None:
    """``work`` on every item at once; a failure is logged and the others go on."""
    results = await asyncio.gather(*(work(item) for item in items), return_exceptions=True)
    for item, result in zip(items, results, strict=True):
        if isinstance(result, BaseException):
            log.error("boot: could not %s %s: %s", what, item.instance_id, result)


async def _tell(outcomes: list[Reconciled], ctx: Context) -> None:
    for outcome in outcomes:
        log.info(
            "boot: %s: adopted unrecorded %s, stopped %d stray process(es), missing %s%s",
            outcome.instance.instance_id,
            outcome.unrecorded or "none",
            len(outcome.stopped),
            outcome.missing or "none",
            f" ({'started' if outcome.started else outcome.failure})" if outcome.missing else "",
        )
    if not outcomes:
        return

    def apply(conn: Connection, record: Recorder) -> None:
        for outcome in outcomes:
            record("instance.reconciled", outcome.instance, details=outcome.details())

    await commit(ctx, SUPERVISOR, apply)
