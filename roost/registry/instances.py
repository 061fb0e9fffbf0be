"""Queries over ``instances`` and ``instance_tags``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)

from roost.domain.model import Instance, InstanceFilter, NewInstance
from roost.domain.states import Health, State
from roost.registry import users as user_store
from roost.registry.tables import apps, instance_tags, instances

_COLUMNS = (*instances.c, apps.c.name.label("app_name"))


def _base_query() -> Select[Any]:
    return select(*_COLUMNS).join(apps, apps.c.pk == instances.c.app_pk)


def _instance(row: Row[Any]) -> Instance:
    return Instance(
        pk=row.pk,
        instance_id=row.instance_id,
        app=row.app_name,
        app_pk=row.app_pk,
        version=row.version,
        name=row.name,
        ordinal=row.ordinal,
        state=State(row.state),
        previous_state=State(row.previous_state) if row.previous_state else None,
        error=row.error,
        health=Health(row.health),
        health_error=row.health_error,
        owner=row.owner,
        config=row.config,
        tags=tuple(row.tags),
        ports=dict(row.ports),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_active_at=row.last_active_at,
        last_health_check=row.last_health_check,
    )


def _instances(conn: Connection, query: Select[Any]) -> list[Instance]:
    return [_instance(row) for row in conn.execute(query)]


_INSERT_INSTANCE = insert(instances)
_INSERT_TAG = insert(instance_tags)


def insert_instance(conn: Connection, new: NewInstance) -> int:
    # Prebuilt statements with parameters: SQLAlchemy compiles them once, not per call.
    pk = conn.execute(
        _INSERT_INSTANCE,
        {
            "instance_id": new.instance_id,
            "app_pk": new.app_pk,
            "version": new.version,
            "name": new.name,
            "ordinal": new.ordinal,
            "state": new.state.value,
            "health": Health.UNKNOWN.value,
            "owner": new.owner,
            "config": new.config,
            "tags": list(new.tags),
            "ports": dict(new.ports),
            "created_at": new.created_at,
            "updated_at": new.created_at,
        },
    ).inserted_primary_key
    assert pk is not None
    if new.tags:
        conn.execute(_INSERT_TAG, [{"instance_pk": pk[0], "tag": tag} for tag in new.tags])
    return int(pk[0])


# Statements on the paths every start and stop takes are built once: building a
# statement costs several times what running it does.
_BY_ID = _base_query().where(instances.c.instance_id == bindparam("b_instance_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update(of=instances)
_SET_STATE = (
    update(instances)
    .where(instances.c.pk == bindparam("b_pk"), instances.c.state == bindparam("b_expected"))
    .values(
        state=bindparam("b_state"),
        error=bindparam("b_error"),
        previous_state=bindparam("b_previous"),
        updated_at=bindparam("b_at"),
        health=Health.UNKNOWN.value,  # not known in the new state until it is checked
        health_error=None,
    )
)


def get_instance(
    conn: Connection, instance_id: str, *, for_update: bool = False
) -> Instance | None:
    """The instance, or None; ``for_update`` locks its row (PostgreSQL) for a read-modify-write."""
    query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
    row = conn.execute(query, {"b_instance_id": instance_id}).first()
    return None if row is None else _instance(row)


def instances_by_id(conn: Connection, instance_ids: Sequence[str]) -> dict[str, Instance]:
    """The instances of ``instance_ids`` that exist, by id (read in chunks of 500)."""
    found: dict[str, Instance] = {}
    for start in range(0, len(instance_ids), 500):
        chunk = instance_ids[start : start + 500]
        query = _base_query().where(instances.c.instance_id.in_(chunk))
        found.update((i.instance_id, i) for i in _instances(conn, query))
    return found


def instance_exists(conn: Connection, instance_id: str) -> bool:
    query = select(instances.c.pk).where(instances.c.instance_id == instance_id)
    return conn.execute(query).first() is not None


def list_instances(
    conn: Connection, where: InstanceFilter, *, after_pk: int, limit: int
) -> list[Instance]:
    """One page in creation order: instances after ``after_pk`` that match ``where``."""
    query = _base_query().where(instances.c.pk > after_pk)
    if where.app is not None:
        query = query.where(apps.c.name == where.app)
    if where.products_only:
        query = query.where(apps.c.product.is_not(None))
    if where.version is not None:
        query = query.where(instances.c.version == where.version)
    if where.state is not None:
        query = query.where(instances.c.state == where.state.value)
    if where.health is not None:
        query = query.where(instances.c.health == where.health.value)
    for tag in where.tags:
        query = query.where(
            exists().where(
                and_(instance_tags.c.instance_pk == instances.c.pk, instance_tags.c.tag == tag)
            )
        )
    if where.q:
        pattern = "%" + where.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                instances.c.instance_id.like(pattern, escape="\\"),
                instances.c.name.like(pattern, escape="\\"),
            )
        )
    query = visible(query, where)
    return _instances(conn, query.order_by(instances.c.pk).limit(limit))


def visible(query: Select[Any], where: InstanceFilter) -> Select[Any]:
    """``query`` (over instances and apps) narrowed to what ``where.visible_to`` may see:
    what that user owns or was given, and within a token's instances and apps."""
    if where.visible_to is not None:
        query = query.where(
            or_(
                instances.c.owner == where.visible_to,
                instances.c.pk.in_(user_store.shared_with(where.visible_to)),
            )
        )
    if where.within_instances is not None or where.within_apps is not None:
        query = query.where(
            or_(
                instances.c.instance_id.in_(sorted(where.within_instances or ())),
                apps.c.name.in_(sorted(where.within_apps or ())),
            )
        )
    return query


def instances_of_app(conn: Connection, app_pk: int) -> list[Instance]:
    """Every instance of an app, oldest first (creation time, then id)."""
    return _oldest_first(conn, _base_query().where(instances.c.app_pk == app_pk))


def all_instances(conn: Connection) -> list[Instance]:
    return _oldest_first(conn, _base_query())


def _oldest_first(conn: Connection, query: Select[Any]) -> list[Instance]:
    return _instances(conn, query.order_by(instances.c.created_at, instances.c.instance_id))


def ordinals_of_app(conn: Connection, app_pk: int) -> list[int]:
    query = select(instances.c.ordinal).where(instances.c.app_pk == app_pk)
    return [row.ordinal for row in conn.execute(query)]


def holder_of_ordinal(conn: Connection, app_pk: int, ordinal: int) -> str | None:
    query = select(instances.c.instance_id).where(
        instances.c.app_pk == app_pk, instances.c.ordinal == ordinal
    )
    row = conn.execute(query).first()
    return None if row is None else str(row.instance_id)


def update_instance(conn: Connection, pk: int, *, at: datetime, **values: Any) -> None:
    conn.execute(update(instances).where(instances.c.pk == pk).values(updated_at=at, **values))


@dataclass(frozen=True)
class HealthRecord:
    """An instance's health after a check, as the registry keeps it."""

    instance_id: str
    health: Health
    error: str | None
    checked_at: datetime


def record_health(conn: Connection, checked: Sequence[HealthRecord]) -> None:
    """Each instance's health and the time of its last check (one statement for all;
    ``updated_at`` is left alone: a check changes nothing one set)."""
    if checked:
        conn.execute(
            _SET_HEALTH,
            [
                {
                    "b_id": c.instance_id,
                    "b_health": c.health.value,
                    "b_error": c.error,
                    "b_at": c.checked_at,
                }
                for c in checked
            ],
        )


_SET_HEALTH = (
    update(instances)
    # a check of an instance that stopped meanwhile does not undo what its stop reset
    .where(instances.c.instance_id == bindparam("b_id"), instances.c.state == State.ACTIVE.value)
    .values(
        health=bindparam("b_health"),
        health_error=bindparam("b_error"),
        last_health_check=bindparam("b_at"),
    )
)


def compare_and_set_state(
    conn: Connection,
    pk: int,
    *,
    expected: State,
    new: State,
    at: datetime,
    error: str | None = None,
    previous: State | None = None,
) -> bool:
    """Move ``pk`` from ``expected`` to ``new``; False when someone moved it first."""
    result = conn.execute(
        _SET_STATE,
        {
            "b_pk": pk,
            "b_expected": expected.value,
            "b_state": new.value,
            "b_error": error,
            "b_previous": previous.value if previous else None,
            "b_at": at,
        },
    )
    return result.rowcount == 1


def replace_tags(conn: Connection, pk: int, tags: Sequence[str]) -> None:
    """Set the instance's tags (sorted, unique) in both places they are kept."""
    conn.execute(delete(instance_tags).where(instance_tags.c.instance_pk == pk))
    if tags:
        conn.execute(_INSERT_TAG, [{"instance_pk": pk, "tag": tag} for tag in tags])
    conn.execute(update(instances).where(instances.c.pk == pk).values(tags=list(tags)))


def delete_instance(conn: Connection, pk: int) -> None:
    """Tags, usage and keys go with it (ON DELETE CASCADE; SQLite runs with foreign_keys=ON)."""
    conn.execute(delete(instances).where(instances.c.pk == pk))
