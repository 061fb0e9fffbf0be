"""Stored secrets: names in clear, values encrypted (the caller encrypts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from roost.registry.tables import instance_keys, instance_secrets


def put_secret(conn: Connection, instance_pk: int, name: str, encrypted: str, at: datetime) -> bool:
    """Store or replace; True when the secret is new."""
    where = (instance_secrets.c.instance_pk == instance_pk) & (instance_secrets.c.name == name)
    changed = conn.execute(
        update(instance_secrets).where(where).values(value_encrypted=encrypted, updated_at=at)
    ).rowcount
    if changed:
        return False
    conn.execute(
        insert(instance_secrets).values(
            instance_pk=instance_pk, name=name, value_encrypted=encrypted, updated_at=at
        )
    )
    return True


# built once (building a statement costs more than running it); every start reads _SEALED
_NAMES = (
    select(instance_secrets.c.name, instance_secrets.c.updated_at)
    .where(instance_secrets.c.instance_pk == bindparam("b_pk"))
    .order_by(instance_secrets.c.name)
)
_SEALED = select(instance_secrets.c.name, instance_secrets.c.value_encrypted).where(
    instance_secrets.c.instance_pk == bindparam("b_pk")
)


def sealed_values(conn: Connection, instance_pk: int) -> dict[str, str]:
    """Every secret of the instance, encrypted as stored, by name."""
    return {
        row.name: str(row.value_encrypted) for row in conn.execute(_SEALED, {"b_pk": instance_pk})
    }


def secret_names(conn: Connection, instance_pk: int) -> list[tuple[str, datetime]]:
    return [(row.name, row.updated_at) for row in conn.execute(_NAMES, {"b_pk": instance_pk})]


def secret_value(conn: Connection, instance_pk: int, name: str) -> str | None:
    query = select(instance_secrets.c.value_encrypted).where(
        instance_secrets.c.instance_pk == instance_pk, instance_secrets.c.name == name
    )
    row = conn.execute(query).first()
    return None if row is None else str(row.value_encrypted)


def delete_secret(conn: Connection, instance_pk: int, name: str) -> bool:
    result = conn.execute(
        delete(instance_secrets).where(
            instance_secrets.c.instance_pk == instance_pk, instance_secrets.c.name == name
        )
    )
    return bool(result.rowcount)


def reencrypt_everything(conn: Connection, rotate: Callable[[str], str]) -> int:
    """Re-encrypt every secret value and private key with ``rotate``; how many."""
    count = 0
    for row in conn.execute(select(instance_secrets)).all():
        conn.execute(
            update(instance_secrets)
            .where(
                instance_secrets.c.instance_pk == row.instance_pk,
                instance_secrets.c.name == row.name,
            )
            .values(value_encrypted=rotate(row.value_encrypted))
        )
        count += 1
    for row in conn.execute(select(instance_keys)).all():
        conn.execute(
            update(instance_keys)
            .where(instance_keys.c.instance_pk == row.instance_pk)
            .values(private_encrypted=rotate(row.private_encrypted))
        )
        count += 1
    return count
