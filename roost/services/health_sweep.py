"""The background job that checks every active instance at its interval.

Each instance is due at its own time: first at a random moment of its first second
active, then every interval of its probes' (the shortest), with up to 10% jitter, so a
thousand instances started together do not probe together. Every due
instance is checked in a task of its own, at most :data:`SWEEP_CONCURRENCY` at once,
so a slow probe delays no other instance; what finished is recorded in one transaction
per tick. The list of active instances is read again every :data:`REFRESH_S`.
"""

from __future__ import annotations

import asyncio
import logging
import random

from roost.domain.model import Instance, InstanceFilter
from roost.domain.states import State
from roost.failures import log_failure
from roost.jobs import JobStats
from roost.services import health
from roost.services.context import Context
from roost.services.queries import every_instance

SWEEP_CONCURRENCY = 64
TICK_S = 0.5
REFRESH_S = 5.0
JITTER = 0.1
FIRST_SPREAD_S = 1.0  # a newly active instance is first checked within this
log = logging.getLogger("roost.health")


class HealthSweep:
    name = "health-checks"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._due: dict[str, float] = {}  # instance id -> when (monotonic) it is due
        self._active: dict[str, Instance] = {}
        self._running: set[str] = set()
        self._finished: list[health.Checked] = []
        self._gate = asyncio.Semaphore(SWEEP_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._refreshed_at = float("-inf")
        self._random = random.Random()  # its own: the module's state is everyone's
        self.stats = JobStats()  # a run is one instance checked

    async def run_forever(self) -> None:
        clock = self._ctx.clock
        try:
            while True:
                now = clock.monotonic()
                if now - self._refreshed_at >= REFRESH_S:
                    try:
                        await self._refresh(now)
                    except Exception as error:  # a lost registry: go on with what is known
                        self._refreshed_at = now
                        log_failure(log, error, "could not list the active instances")
                for instance_id, due in list(self._due.items()):
                    if due <= now and instance_id not in self._running:
                        self._launch(self._active[instance_id])
                await self._record()
                await clock.sleep(TICK_S)
        finally:
            for task in self._tasks:
                task.cancel()

    async def _refresh(self, now: float) -> None:
        active = await every_instance(self._ctx, InstanceFilter(state=State.ACTIVE))
        self._refreshed_at = now
        self._active = {i.instance_id: i for i in active}
        for instance_id in set(self._due) - set(self._active):
            del self._due[instance_id]
            self._ctx.health.drop(instance_id)
        for instance_id in self._active.keys() - self._due.keys():
            # spread: instances started together are not probed together
            self._due[instance_id] = now + self._random.uniform(0, FIRST_SPREAD_S)

    def _launch(self, instance: Instance) -> None:
        self._running.add(instance.instance_id)
        task = asyncio.create_task(self._check(instance))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, instance: Instance) -> None:
        instance_id = instance.instance_id
        interval = health.DEFAULT_INTERVAL
        began, failed = self._ctx.clock.monotonic(), False
        try:
            async with self._gate:
                checked = await health.check(self._ctx, instance)
            interval = checked.interval
            self._finished.append(checked)
        except Exception as error:
            failed = True
            log_failure(log, error, "could not check the health of %s", instance_id)
        finally:
            self.stats.ran(self._ctx.clock.monotonic() - began, failed=failed)
            self._running.discard(instance_id)
            if instance_id in self._due:
                jitter = self._random.uniform(0, interval * JITTER)
                self._due[instance_id] = self._ctx.clock.monotonic() + interval + jitter

    async def _record(self) -> None:
        finished, self._finished = self._finished, []
        if not finished:
            return
        try:
            await health.record(self._ctx, finished)
        except Exception as error:
            log_failure(log, error, "could not record %d health checks", len(finished))
            return
        for checked in finished:
            health.restart_the_unhealthy(self._ctx, checked)
