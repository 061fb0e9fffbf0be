"""Stored key pairs: the public PEM in clear, the private key encrypted."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from roost.domain.clock import utcnow
from roost.registry.tables import instance_keys


def insert_keys(
    conn: Connection, instance_pk: int, public_pem: str, private_encrypted: str
) -> None:
    conn.execute(
        insert(instance_keys).values(
            instance_pk=instance_pk,
            public_pem=public_pem,
            private_encrypted=private_encrypted,
            created_at=utcnow(),
        )
    )


def public_key(conn: Connection, instance_pk: int) -> str | None:
    query = select(instance_keys.c.public_pem).where(instance_keys.c.instance_pk == instance_pk)
    row = conn.execute(query).first()
    return None if row is None else str(row.public_pem)


def key_pair(conn: Connection, instance_pk: int) -> tuple[str, str] | None:
    """(public PEM, private key encrypted with the home's key), if it has one."""
    query = select(instance_keys.c.public_pem, instance_keys.c.private_encrypted).where(
        instance_keys.c.instance_pk == instance_pk
    )
    row = conn.execute(query).first()
    return None if row is None else (str(row.public_pem), str(row.private_encrypted))
