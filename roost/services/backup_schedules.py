"""Scheduled backups and their rotation, as a background job.

Each tick the job reads every instance's schedule (``domain/backup_schedule.py``: the
app spec's ``backup`` table under the instance's ``backup`` config) and the time of its
latest scheduled backup; an instance whose next run is due gets one. Runs missed while
the server was down are made up once, at the first tick after the start, not once each.
A scheduled backup that fails is tried once more at once; only when that fails too is
it a ``backup.failed`` alert (the first failure is the event ``backup.attempt_failed``).
After a scheduled backup completes, the instance's backups are rotated: what its policy
no longer keeps is removed, record first, then archive (a record is never left
pointing at a missing archive).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from roost.auth import SUPERVISOR, Actor
from roost.domain.backup_schedule import Schedule, Taken, schedule_of, to_prune
from roost.domain.clock import utcnow
from roost.domain.errors import RoostError
from roost.domain.model import Instance
from roost.domain.states import State
from roost.failures import log_failure
from roost.registry import backups as store
from roost.registry import instances as q
from roost.services import backups, instance_files
from roost.services.backup_files import remove_stored
from roost.services.changes import Recorder, commit
from roost.services.context import Context

TICK_S = 30.0
AT_ONCE = 2  # scheduled backups written at the same time
log = logging.getLogger("roost.backups")


class BackupScheduler:
    name = "backup-schedules"

    def __init__(
        self,
        ctx: Context,
        *,
        now: Callable[[], datetime] = utcnow,
        tick_s: float = TICK_S,
        actor: Actor = SUPERVISOR,
    ) -> None:
        self._ctx = ctx
        self._now = now
        self._tick_s = tick_s
        self._actor = actor
        self._gate = asyncio.Semaphore(AT_ONCE)
        self._running: dict[str, asyncio.Future[None]] = {}
        self._complained: set[str] = set()  # instances whose schedule is wrong, said once

    async def run_forever(self) -> None:
        while True:
            try:
                await self.round()
            except Exception as error:  # a lost registry: try again next tick
                log_failure(log, error, "could not run the backup schedules")
            await self._ctx.clock.sleep(self._tick_s)

    async def round(self) -> list[str]:
        """Start the backups that are due; the ids of the instances they are for."""
        now = self._now()
        ctx = self._ctx
        instances = await ctx.registry.read(q.all_instances)
        latest = await ctx.registry.read(store.last_scheduled)
        started = []
        for instance in instances:
            if instance.instance_id in self._running:
                continue
            if instance.state not in (State.ACTIVE, State.INACTIVE):
                continue
            schedule = await self._schedule(instance)
            if schedule is None or not schedule.runs:
                continue
            since = latest.get(instance.pk) or instance.created_at
            if schedule.next_after(since) > now:
                continue
            started.append(instance.instance_id)
            self._running[instance.instance_id] = ctx.background.run(
                self._back_up(instance, schedule, now)
            )
        return started

    async def settle(self) -> None:
        """Wait for the scheduled backups under way (tests)."""
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _schedule(self, instance: Instance) -> Schedule | None:
        spec = await instance_files.spec_of(self._ctx, instance)
        table = spec.backup.model_dump(exclude_none=True) if spec is not None else {}
        try:
            return schedule_of(table, instance.config)
        except RoostError as error:
            if instance.instance_id not in self._complained:
                self._complained.add(instance.instance_id)
                log.warning("instance %s: %s", instance.instance_id, error.message)
            return None

    async def _back_up(self, instance: Instance, schedule: Schedule, at: datetime) -> None:
        instance_id = instance.instance_id
        try:
            async with self._gate:
                first = await self._take(instance_id, at, "backup.attempt_failed", None)
                result = first
                if first is not None and first.status == store.FAILED:
                    result = await self._take(
                        instance_id, at, "backup.failed", f"retry of {first.name}"
                    )
                if result is not None and result.status == store.COMPLETED:
                    await prune(self._ctx, self._actor, instance, schedule)
        except Exception as error:
            log_failure(log, error, "scheduled backup of %s failed", instance_id)
        finally:
            self._running.pop(instance_id, None)

    async def _take(
        self, instance_id: str, at: datetime, failure_event: str, note: str | None
    ) -> store.BackupRow | None:
        try:
            _, done = await backups.take_backup(
                self._ctx,
                self._actor,
                instance_id,
                kind="scheduled",
                at=at,
                note=note,
                failure_event=failure_event,
            )
        except RoostError as error:  # deleted meanwhile, say
            log.info("no scheduled backup of %s: %s", instance_id, error.message)
            return None
        return await done


async def prune(ctx: Context, actor: Actor, instance: Instance, schedule: Schedule) -> list[str]:
    """Remove the instance's backups its policy no longer keeps; their names."""
    rows = await ctx.registry.read(store.backups_of, instance.pk)
    doomed = to_prune([Taken(r.name, r.kind, r.status, r.created_at) for r in rows], schedule)
    if not doomed:
        return []

    def forget(conn: Connection, record: Recorder) -> None:
        store.delete_backups(conn, instance.pk, doomed)
        record("backup.pruned", instance, details={"names": doomed})

    await commit(ctx, actor, forget)
    await remove_stored(ctx, [row for row in rows if row.name in doomed])
    return doomed
