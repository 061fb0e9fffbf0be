"""Queries over ``service_processes``: what the supervisor runs, to adopt it again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select

from roost.registry.tables import instances, service_processes


@dataclass(frozen=True)
class ProcessRow:
    instance_id: str
    service: str
    pid: int | None
    started_at: float | None
    status: str
    restarts: int
    exit_code: int | None


def record_processes(conn: Connection, rows: Sequence[ProcessRow], *, at: datetime) -> None:
    """Store the process of each row's service; rows of instances that are gone are
    skipped. Many at once: the supervisor records every start, stop and exit."""
    if not rows:
        return
    # the instance rows first, as a delete of an instance takes them: one lock order,
    # no deadlock between this write and a delete cascading to these rows (PostgreSQL)
    ids = sorted({row.instance_id for row in rows})
    pks = {row.instance_id: row.pk for row in conn.execute(_INSTANCE_PKS, {"b_ids": ids})}
    kept = [row for row in rows if row.instance_id in pks]
    if not kept:
        return
    conn.execute(
        _FORGET, [{"b_pk": pks[row.instance_id], "b_service": row.service} for row in kept]
    )
    conn.execute(
        _RECORD,
        [
            {
                "instance_pk": pks[row.instance_id],
                "service": row.service,
                "pid": row.pid,
                "started_at": row.started_at,
                "status": row.status,
                "restarts": row.restarts,
                "exit_code": row.exit_code,
                "updated_at": at,
            }
            for row in kept
        ],
    )


# built once (building a statement costs more than running it)
_INSTANCE_PKS = (
    select(instances.c.instance_id, instances.c.pk)
    .where(instances.c.instance_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(instances.c.pk)
    .with_for_update(read=True, key_share=True)
)
_FORGET = delete(service_processes).where(
    (service_processes.c.instance_pk == bindparam("b_pk"))
    & (service_processes.c.service == bindparam("b_service"))
)
_RECORD = insert(service_processes)


def processes_of(conn: Connection, instance_id: str | None = None) -> list[ProcessRow]:
    """Every recorded process (of one instance), by instance and service."""
    query = (
        select(
            instances.c.instance_id,
            service_processes.c.service,
            service_processes.c.pid,
            service_processes.c.started_at,
            service_processes.c.status,
            service_processes.c.restarts,
            service_processes.c.exit_code,
        )
        .join(instances, instances.c.pk == service_processes.c.instance_pk)
        .order_by(instances.c.pk, service_processes.c.service)
    )
    if instance_id is not None:
        query = query.where(instances.c.instance_id == instance_id)
    return [ProcessRow(*row) for row in conn.execute(query)]
