"""Queries over ``service_processes``: what the supervisor runs, to adopt it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

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


def record_process(
    conn: Connection,
    instance_id: str,
    service: str,
    *,
    pid: int | None,
    started_at: float | None,
    status: str,
    restarts: int,
    exit_code: int | None,
    at: datetime,
) -> None:
    """Store the process of ``service`` (nothing when the instance is gone)."""
    # the instance row first, as a delete of the instance takes it: one lock order, no
    # deadlock between this write and a delete cascading to these rows (PostgreSQL)
    instance_pk = conn.execute(
        select(instances.c.pk)
        .where(instances.c.instance_id == instance_id)
        .with_for_update(read=True, key_share=True)
    ).scalar()
    if instance_pk is None:
        return
    where = (service_processes.c.instance_pk == instance_pk) & (
        service_processes.c.service == service
    )
    conn.execute(delete(service_processes).where(where))
    conn.execute(
        insert(service_processes).values(
            instance_pk=instance_pk,
            service=service,
            pid=pid,
            started_at=started_at,
            status=status,
            restarts=restarts,
            exit_code=exit_code,
            updated_at=at,
        )
    )


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
