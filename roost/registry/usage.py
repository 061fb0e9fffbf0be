"""Per-instance feature usage counters: one atomic statement per consumption."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from roost.domain.clock import utcnow
from roost.registry.tables import usage


def consume(
    conn: Connection, instance_pk: int, feature_id: str, units: int, limit: int
) -> int | None:
    """Add ``units`` unless that passes ``limit``; the new total, or None when refused.

    The check and the add are one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``, so
    concurrent consumers never lose an update and never overshoot the limit.
    """
    if units > limit:
        return None
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    values = dialect_insert(usage).values(
        instance_pk=instance_pk, feature_id=feature_id, consumed=units, updated_at=now
    )
    statement = values.on_conflict_do_update(
        index_elements=[usage.c.instance_pk, usage.c.feature_id],
        set_={"consumed": usage.c.consumed + units, "updated_at": now},
        where=usage.c.consumed + units <= limit,
    ).returning(usage.c.consumed)
    row = conn.execute(statement).first()
    return None if row is None else int(row.consumed)


def consumed(conn: Connection, instance_pk: int, feature_id: str) -> int:
    query = select(usage.c.consumed).where(
        usage.c.instance_pk == instance_pk, usage.c.feature_id == feature_id
    )
    row = conn.execute(query).first()
    return 0 if row is None else int(row.consumed)


def all_consumed(conn: Connection, instance_pk: int) -> dict[str, int]:
    query = select(usage.c.feature_id, usage.c.consumed).where(usage.c.instance_pk == instance_pk)
    return {
        row.feature_id: int(row.consumed)
        for row in conn.execute(query.order_by(usage.c.feature_id))
    }


def reset(conn: Connection, instance_pk: int, feature_id: str | None) -> list[str]:
    """Forget consumption for one feature or all; the features that were reset."""
    query = delete(usage).where(usage.c.instance_pk == instance_pk)
    if feature_id is not None:
        query = query.where(usage.c.feature_id == feature_id)
    return [row.feature_id for row in conn.execute(query.returning(usage.c.feature_id))]


def consumed_by_instance(conn: Connection) -> dict[int, dict[str, int]]:
    """Every instance's consumption, by instance primary key and feature."""
    found: dict[int, dict[str, int]] = {}
    query = select(usage.c.instance_pk, usage.c.feature_id, usage.c.consumed)
    for row in conn.execute(query.order_by(usage.c.instance_pk, usage.c.feature_id)):
        found.setdefault(int(row.instance_pk), {})[row.feature_id] = int(row.consumed)
    return found
