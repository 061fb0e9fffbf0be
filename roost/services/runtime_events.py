"""What the runtime notices by itself, recorded: every change of a service's process (the
journal), every exit nobody asked for (a ``service.exited`` event with why and what
follows), and a service given up (the instance goes to ``error`` with the reason)."""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from roost.auth import LOCAL_ACTOR, SUPERVISOR
from roost.failures import log_failure
from roost.registry import instances as q
from roost.runtime.protocol import ServiceChange, ServiceExit
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.process_journal import ProcessJournal
from roost.services.transitions import record_failure

log = logging.getLogger("roost.runtime")


class RuntimeEvents:
    """The runtime's listener (``roost.runtime.protocol.RuntimeListener``)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.journal = ProcessJournal(ctx.registry)

    async def service_changed(self, change: ServiceChange) -> None:
        await self.journal.record(change)

    async def service_exited(self, exited: ServiceExit) -> None:
        def apply(conn: Connection, record: Recorder) -> None:
            instance = q.get_instance(conn, exited.instance_id)
            record(
                "service.exited",
                exited.instance_id,
                app=instance.app if instance else None,
                outcome="error" if exited.exit_code != 0 else "ok",
                details={
                    "service": exited.service,
                    "exit_code": exited.exit_code,
                    "reason": exited.reason,
                    "then": exited.then,
                    "oom_killed": exited.oom_killed,
                },
            )

        try:
            await commit(self._ctx, SUPERVISOR, apply)
        except Exception as error:
            log_failure(
                log, error, "could not record the exit of %s@%s", exited.service, exited.instance_id
            )

    async def instance_failed(self, instance_id: str, reason: str) -> None:
        await record_failure(self._ctx, LOCAL_ACTOR, instance_id, reason)
