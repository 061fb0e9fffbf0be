"""Queries over the ``apps`` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from roost.domain.clock import utcnow
from roost.domain.model import App
from roost.registry.tables import app_versions, apps, registry_settings


def _app(row: Row[Any]) -> App:
    return App(
        pk=row.pk,
        name=row.name,
        version=row.version,
        spec=row.spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
        product=row.product,
    )


def get_product(conn: Connection, product_id: str) -> App | None:
    row = conn.execute(select(apps).where(apps.c.product == product_id)).first()
    return None if row is None else _app(row)


def get_app(conn: Connection, name: str) -> App | None:
    row = conn.execute(select(apps).where(apps.c.name == name)).first()
    return None if row is None else _app(row)


def get_app_by_pk(conn: Connection, pk: int) -> App | None:
    row = conn.execute(select(apps).where(apps.c.pk == pk)).first()
    return None if row is None else _app(row)


def list_apps(conn: Connection) -> list[App]:
    return [_app(row) for row in conn.execute(select(apps).order_by(apps.c.name))]


def insert_app(
    conn: Connection,
    name: str,
    version: str,
    spec: dict[str, Any],
    product: str | None = None,
) -> App:
    """A new app whose first version is ``version`` (``product``: seed 000's, whose
    registrations its instances are)."""
    now = utcnow()
    values = {"version": version, "spec": spec, "created_at": now, "updated_at": now}
    pk = conn.execute(
        insert(apps).values(name=name, product=product, **values)
    ).inserted_primary_key
    assert pk is not None
    conn.execute(
        insert(app_versions).values(app_pk=pk[0], version=version, spec=spec, created_at=now)
    )
    return App(pk[0], name, version, spec, now, now, product)


def add_version(conn: Connection, app: App, version: str, spec: dict[str, Any]) -> App:
    """Record ``version`` and make it the app's current one (instances stay on theirs)."""
    now = utcnow()
    conn.execute(
        insert(app_versions).values(app_pk=app.pk, version=version, spec=spec, created_at=now)
    )
    conn.execute(
        update(apps).where(apps.c.pk == app.pk).values(version=version, spec=spec, updated_at=now)
    )
    return App(app.pk, app.name, version, spec, app.created_at, now, app.product)


def version_spec(conn: Connection, app_pk: int, version: str) -> dict[str, Any] | None:
    query = select(app_versions.c.spec).where(
        app_versions.c.app_pk == app_pk, app_versions.c.version == version
    )
    row = conn.execute(query).first()
    return None if row is None else dict(row.spec)


def versions(conn: Connection, app_pk: int) -> list[tuple[str, datetime]]:
    """The app's versions, oldest first."""
    query = select(app_versions.c.version, app_versions.c.created_at).where(
        app_versions.c.app_pk == app_pk
    )
    rows = conn.execute(query.order_by(app_versions.c.created_at, app_versions.c.version))
    return [(row.version, row.created_at) for row in rows]


def get_setting(conn: Connection, name: str) -> Any:
    query = select(registry_settings.c.value).where(registry_settings.c.name == name)
    row = conn.execute(query).first()
    return None if row is None else row.value


def set_setting(conn: Connection, name: str, value: Any) -> None:
    conn.execute(delete(registry_settings).where(registry_settings.c.name == name))
    conn.execute(insert(registry_settings).values(name=name, value=value))
