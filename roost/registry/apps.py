"""Queries over the ``apps`` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select

from roost.domain.clock import utcnow
from roost.domain.model import App
from roost.registry.tables import apps


def _app(row: Row[Any]) -> App:
    return App(
        pk=row.pk,
        name=row.name,
        version=row.version,
        spec=row.spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_app(conn: Connection, name: str) -> App | None:
    row = conn.execute(select(apps).where(apps.c.name == name)).first()
    return None if row is None else _app(row)


def get_app_by_pk(conn: Connection, pk: int) -> App | None:
    row = conn.execute(select(apps).where(apps.c.pk == pk)).first()
    return None if row is None else _app(row)


def list_apps(conn: Connection) -> list[App]:
    return [_app(row) for row in conn.execute(select(apps).order_by(apps.c.name))]


def insert_app(conn: Connection, name: str, version: str, spec: dict[str, Any]) -> App:
    now = utcnow()
    pk = conn.execute(
        insert(apps).values(name=name, version=version, spec=spec, created_at=now, updated_at=now)
    ).inserted_primary_key
    assert pk is not None
    return App(pk=pk[0], name=name, version=version, spec=spec, created_at=now, updated_at=now)
