"""Queries over the ``ports`` table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from roost.registry.tables import apps, instances, ports


def insert_ports(
    conn: Connection, host: str, instance_pk: int, allocated: Mapping[str, int]
) -> None:
    if allocated:
        rows = [
            {"host": host, "port": port, "instance_pk": instance_pk, "name": name}
            for name, port in allocated.items()
        ]
        conn.execute(insert(ports), rows)


def delete_ports(conn: Connection, instance_pk: int, names: Iterable[str]) -> None:
    names = list(names)
    if names:
        conn.execute(
            delete(ports).where(ports.c.instance_pk == instance_pk, ports.c.name.in_(names))
        )


def holders(conn: Connection, host: str, wanted: Iterable[int]) -> dict[int, str]:
    """Which instance holds each of ``wanted`` on ``host``."""
    query = (
        select(ports.c.port, instances.c.instance_id)
        .join(instances, instances.c.pk == ports.c.instance_pk)
        .where(ports.c.host == host, ports.c.port.in_(list(wanted)))
    )
    return {row.port: row.instance_id for row in conn.execute(query)}


def taken_between(conn: Connection, host: str, first: int, last: int) -> set[int]:
    query = select(ports.c.port).where(ports.c.host == host, ports.c.port.between(first, last))
    return {row.port for row in conn.execute(query)}


def all_ports(conn: Connection) -> list[dict[str, Any]]:
    query = (
        select(
            ports.c.port,
            ports.c.name,
            ports.c.host,
            instances.c.instance_id,
            apps.c.name.label("app"),
        )
        .join(instances, instances.c.pk == ports.c.instance_pk)
        .join(apps, apps.c.pk == instances.c.app_pk)
        .order_by(ports.c.host, ports.c.port)
    )
    return [
        {
            "port": row.port,
            "name": row.name,
            "instance_id": row.instance_id,
            "app": row.app,
            "host": row.host,
        }
        for row in conn.execute(query)
    ]
