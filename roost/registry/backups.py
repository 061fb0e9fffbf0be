"""Queries over ``backups``: one row per backup taken, its status and its archive's
size and sha256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from roost.registry.tables import backups

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


@dataclass(frozen=True)
class BackupRow:
    instance_id: str
    name: str
    app: str
    kind: str
    target: str
    status: str
    created_by: str
    created_at: datetime
    note: str | None = None
    error: str | None = None
    size: int | None = None
    sha256: str | None = None
    finished_at: datetime | None = None
    location: str | None = None  # its copy off the host (``s3://bucket/key``), if any


_COLUMNS = [getattr(backups.c, name) for name in BackupRow.__dataclass_fields__]


def add_backup(conn: Connection, row: BackupRow, instance_pk: int) -> None:
    conn.execute(insert(backups).values(instance_pk=instance_pk, **row.__dict__))


def finish_backup(
    conn: Connection,
    instance_id: str,
    name: str,
    *,
    status: str,
    at: datetime,
    error: str | None = None,
    size: int | None = None,
    sha256: str | None = None,
    location: str | None = None,
) -> None:
    conn.execute(
        update(backups)
        .where((backups.c.instance_id == instance_id) & (backups.c.name == name))
        .values(
            status=status,
            error=error,
            size=size,
            sha256=sha256,
            finished_at=at,
            location=location,
        )
    )


def backups_of(conn: Connection, instance_pk: int) -> list[BackupRow]:
    """The instance's backups, newest first (not those of an earlier instance that had
    its id: they are orphans)."""
    return _newest_first(conn, backups.c.instance_pk == instance_pk)


def orphaned(conn: Connection) -> list[BackupRow]:
    """Backups whose instance is gone, newest first."""
    return _newest_first(conn, backups.c.instance_pk.is_(None))


def orphans_named(conn: Connection, name: str) -> list[BackupRow]:
    return _newest_first(conn, backups.c.instance_pk.is_(None) & (backups.c.name == name))


def _newest_first(conn: Connection, where: ColumnElement[bool]) -> list[BackupRow]:
    query = (
        select(*_COLUMNS).where(where).order_by(backups.c.created_at.desc(), backups.c.pk.desc())
    )
    return [BackupRow(*row) for row in conn.execute(query)]


def get_backup(conn: Connection, instance_pk: int, name: str) -> BackupRow | None:
    query = select(*_COLUMNS).where(
        (backups.c.instance_pk == instance_pk) & (backups.c.name == name)
    )
    row = conn.execute(query).first()
    return None if row is None else BackupRow(*row)


def name_taken(conn: Connection, instance_id: str, name: str) -> bool:
    """Whether a backup of an instance with this id (now or before) has this name."""
    query = select(backups.c.pk).where(
        (backups.c.instance_id == instance_id) & (backups.c.name == name)
    )
    return conn.execute(query).first() is not None


def last_scheduled(conn: Connection) -> dict[int, datetime]:
    """When each instance's latest scheduled backup was taken (or tried), by its pk."""
    query = (
        select(backups.c.instance_pk, func.max(backups.c.created_at))
        .where(backups.c.kind == "scheduled", backups.c.instance_pk.is_not(None))
        .group_by(backups.c.instance_pk)
    )
    return {int(pk): at for pk, at in conn.execute(query)}


def delete_backups(conn: Connection, instance_pk: int, names: list[str]) -> int:
    result = conn.execute(
        delete(backups).where(backups.c.instance_pk == instance_pk, backups.c.name.in_(names))
    )
    return int(result.rowcount)


def running(conn: Connection) -> list[tuple[BackupRow, int | None]]:
    """The backups still marked running, each with its instance's pk."""
    query = select(*_COLUMNS, backups.c.instance_pk).where(backups.c.status == RUNNING)
    return [(BackupRow(*row[:-1]), row[-1]) for row in conn.execute(query)]
