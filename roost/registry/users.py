"""Queries over ``users``, ``tokens`` and ``grants``: who may reach the server, and
what each instance's owner shared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, ScalarSelect, delete, insert, select, update

from roost.domain.access import InstanceAccess, Role
from roost.registry.tables import apps, grants, instances, tokens, users


@dataclass(frozen=True)
class UserRow:
    pk: int
    name: str
    admin: bool
    created_at: datetime


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    user: str
    user_admin: bool
    name: str | None
    role: Role
    instances: tuple[str, ...] | None
    apps: tuple[str, ...] | None
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def insert_user(conn: Connection, name: str, *, admin: bool, at: datetime) -> int:
    result = conn.execute(insert(users).values(name=name, admin=admin, created_at=at))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def get_user(conn: Connection, name: str) -> UserRow | None:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    return None if row is None else UserRow(row.pk, row.name, row.admin, row.created_at)


def list_users(conn: Connection) -> list[UserRow]:
    rows = conn.execute(select(users).order_by(users.c.name))
    return [UserRow(row.pk, row.name, row.admin, row.created_at) for row in rows]


def any_admin(conn: Connection) -> bool:
    return (
        conn.execute(select(users.c.pk).where(users.c.admin.is_(True)).limit(1)).first() is not None
    )


def delete_user(conn: Connection, pk: int) -> None:
    """Its tokens and grants go with it (ON DELETE CASCADE)."""
    conn.execute(delete(users).where(users.c.pk == pk))


def insert_token(
    conn: Connection,
    *,
    token_id: str,
    user_pk: int,
    name: str | None,
    role: Role,
    instances: Sequence[str] | None,
    apps: Sequence[str] | None,
    secret_hash: str,
    at: datetime,
    expires_at: datetime | None,
) -> None:
    conn.execute(
        insert(tokens).values(
            token_id=token_id,
            user_pk=user_pk,
            name=name,
            role=role.label,
            instances=None if instances is None else list(instances),
            apps=None if apps is None else list(apps),
            secret_hash=secret_hash,
            created_at=at,
            expires_at=expires_at,
        )
    )


_TOKENS = select(tokens, users.c.name.label("user_name"), users.c.admin.label("user_admin")).join(
    users, users.c.pk == tokens.c.user_pk
)


def _token(row: Row[Any]) -> TokenRow:
    return TokenRow(
        token_id=row.token_id,
        user=row.user_name,
        user_admin=row.user_admin,
        name=row.name,
        role=Role.named(row.role),
        instances=None if row.instances is None else tuple(row.instances),
        apps=None if row.apps is None else tuple(row.apps),
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def get_token(conn: Connection, token_id: str) -> TokenRow | None:
    row = conn.execute(_TOKENS.where(tokens.c.token_id == token_id)).first()
    return None if row is None else _token(row)


def list_tokens(conn: Connection, user: str | None) -> list[TokenRow]:
    query = _TOKENS.order_by(tokens.c.pk)
    if user is not None:
        query = query.where(users.c.name == user)
    return [_token(row) for row in conn.execute(query)]


def revoke_token(conn: Connection, token_id: str, at: datetime) -> bool:
    result = conn.execute(
        update(tokens)
        .where(tokens.c.token_id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return result.rowcount == 1


def put_grant(conn: Connection, instance_pk: int, user_pk: int, role: Role, at: datetime) -> None:
    conn.execute(
        delete(grants).where(grants.c.instance_pk == instance_pk, grants.c.user_pk == user_pk)
    )
    conn.execute(
        insert(grants).values(
            instance_pk=instance_pk, user_pk=user_pk, role=role.label, created_at=at
        )
    )


def delete_grant(conn: Connection, instance_pk: int, user_pk: int) -> bool:
    result = conn.execute(
        delete(grants).where(grants.c.instance_pk == instance_pk, grants.c.user_pk == user_pk)
    )
    return result.rowcount == 1


def grants_of(conn: Connection, instance_pk: int) -> dict[str, Role]:
    query = (
        select(users.c.name, grants.c.role)
        .join(users, users.c.pk == grants.c.user_pk)
        .where(grants.c.instance_pk == instance_pk)
        .order_by(users.c.name)
    )
    return {name: Role.named(role) for name, role in conn.execute(query)}


def access_of(conn: Connection, instance_id: str) -> InstanceAccess | None:
    """Who may act on the instance: its app, its owner, its grants."""
    row = conn.execute(
        select(instances.c.pk, instances.c.owner, apps.c.name)
        .join(apps, apps.c.pk == instances.c.app_pk)
        .where(instances.c.instance_id == instance_id)
    ).first()
    if row is None:
        return None
    return InstanceAccess(instance_id, row.name, row.owner, grants_of(conn, row.pk))


def shared_with(user: str) -> ScalarSelect[Any]:
    """The pks of the instances shared with ``user`` (a subquery for visibility)."""
    return (
        select(grants.c.instance_pk)
        .join(users, users.c.pk == grants.c.user_pk)
        .where(users.c.name == user)
        .scalar_subquery()
    )
