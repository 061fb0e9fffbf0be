"""The registry's record of every process the runtime runs (pid and start time), so the
next ``roost serve`` adopts what still runs instead of starting it twice.

Recording is batched: the changes that arrive while a write is under way are written
together in the next one (one ``IN`` query, then ``executemany``), and each change's
caller hears back once its own change is in the registry.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from roost.domain.clock import utcnow
from roost.failures import log_failure
from roost.registry import processes as process_store
from roost.registry.database import Registry
from roost.runtime.protocol import Recorded, ServiceChange
from roost.runtime.runs import Status

log = logging.getLogger("roost.journal")


class ProcessJournal:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._unrecorded: dict[tuple[str, str], process_store.ProcessRow] = {}
        self._recorder: asyncio.Future[None] | None = None

    async def record(self, change: ServiceChange) -> None:
        """Returns once the change is in the registry (or its write failed, logged)."""
        self._unrecorded[(change.instance_id, change.service)] = process_store.ProcessRow(
            change.instance_id,
            change.service,
            pid=change.pid,
            started_at=change.started_at,
            status=change.status,
            restarts=change.restarts,
            exit_code=change.exit_code,
        )
        if self._recorder is None:
            self._recorder = asyncio.ensure_future(self._record_unrecorded())
        await asyncio.shield(self._recorder)

    async def _record_unrecorded(self) -> None:
        try:
            while self._unrecorded:
                rows = list(self._unrecorded.values())
                self._unrecorded.clear()
                try:
                    await self._registry.write(
                        functools.partial(process_store.record_processes, rows=rows, at=utcnow())
                    )
                except Exception as error:  # the next change records them again
                    log_failure(log, error, "could not record %d processes", len(rows))
        finally:
            self._recorder = None


async def recorded_processes(registry: Registry) -> dict[str, list[Recorded]]:
    """The processes a previous server left running, by instance."""
    recorded: dict[str, list[Recorded]] = {}
    for row in await registry.read(process_store.processes_of, None):
        if row.pid is not None and row.started_at is not None:
            recorded.setdefault(row.instance_id, []).append(
                Recorded(
                    row.service,
                    row.pid,
                    row.started_at,
                    row.restarts,
                    paused=row.status == Status.PAUSED.value,
                )
            )
    return recorded
