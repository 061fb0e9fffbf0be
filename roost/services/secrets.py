"""Instance secrets: encrypted at rest, never listed with their values, every read audited.

The home's key can be rotated: every secret and private key is re-encrypted under a new
key, and at every step the key file holds whatever is needed to read what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet
from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, InvalidInput, NotFound
from roost.domain.names import SECRET_NAME
from roost.registry import secrets as store
from roost.secrets import SecretBox
from roost.services import instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance

MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True)
class SecretInfo:
    name: str
    updated_at: datetime


def check_secret(name: str, value: str | None = None) -> None:
    if not SECRET_NAME.matches(name):
        raise InvalidInput(
            f"invalid secret name {name!r}: letters, digits and '_', not starting with a digit",
            code="INVALID_SECRET_NAME",
        )
    if value is not None and ("\x00" in value or len(value.encode()) > MAX_SECRET_BYTES):
        raise InvalidInput(
            f"a secret value is text of at most {MAX_SECRET_BYTES} bytes, without NUL",
            code="INVALID_SECRET",
        )


async def set_secret(ctx: Context, actor: Actor, instance_id: str, name: str, value: str) -> bool:
    """Store (or replace) a secret; True when it is new. The event never holds the value."""
    check_secret(name, value)
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "secret.set", instance_id)
    encrypted = ctx.box.encrypt(value.encode())

    def apply(conn: Connection, record: Recorder) -> bool:
        created = store.put_secret(conn, instance.pk, name, encrypted, utcnow())
        record("secret.set", instance, details={"name": name, "created": created})
        return created

    created = await commit(ctx, actor, apply)
    await instance_files.refresh(ctx, instance)  # files that use the secret
    return created


async def list_secrets(ctx: Context, actor: Actor, instance_id: str) -> list[SecretInfo]:
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "secret.list", instance_id)
    return [SecretInfo(n, at) for n, at in await ctx.registry.read(store.secret_names, instance.pk)]


async def read_secret(ctx: Context, actor: Actor, instance_id: str, name: str) -> str:
    """A secret's value: an explicit call, recorded as an event (without the value)."""
    check_secret(name)
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "secret.read", instance_id)

    def apply(conn: Connection, record: Recorder) -> str | None:
        token = store.secret_value(conn, instance.pk, name)
        if token is not None:
            record("secret.read", instance, details={"name": name})
        return token

    token = await commit(ctx, actor, apply)
    if token is None:
        raise NotFound(f"instance {instance_id!r} has no secret {name!r}", code="SECRET_NOT_FOUND")
    return ctx.box.decrypt(token).decode()


async def delete_secret(ctx: Context, actor: Actor, instance_id: str, name: str) -> None:
    check_secret(name)
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "secret.delete", instance_id)

    def apply(conn: Connection, record: Recorder) -> bool:
        deleted = store.delete_secret(conn, instance.pk, name)
        if deleted:
            record("secret.delete", instance, details={"name": name})
        return deleted

    if not await commit(ctx, actor, apply):
        raise NotFound(f"instance {instance_id!r} has no secret {name!r}", code="SECRET_NOT_FOUND")
    await instance_files.refresh(ctx, instance)


async def rotate_key(ctx: Context, actor: Actor) -> int:
    """Re-encrypt every secret and private key under a new home key; how many."""
    await ctx.policy.authorize(actor, "secret.rotate-key")
    if ctx.settings.secret_key:
        raise Conflict(
            "the key comes from ROOST_SECRET_KEY: put a new key first in that list, restart,"
            " and rotate from there",
            code="KEY_FROM_ENVIRONMENT",
        )
    new = Fernet.generate_key()
    both = [new, *ctx.box.keys]
    ctx.home.write_secret_keys(both)  # 1. from here on, old and new both decrypt
    rotating = SecretBox(both)  # the running box changes only once it is all done

    def apply(conn: Connection, record: Recorder) -> int:
        count = store.reencrypt_everything(conn, rotating.rotate)
        record("secret.rotate-key", details={"reencrypted": count})
        return count

    count = await commit(ctx, actor, apply)  # 2. everything is under the new key
    ctx.box.use(both)
    ctx.home.write_secret_keys([new])  # 3. the old key can go
    ctx.box.use([new])
    return count
