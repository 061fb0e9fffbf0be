"""Per-instance key pairs: made on request, private half encrypted, public half served."""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor
from roost.domain.errors import Conflict, NotFound, instance_not_found
from roost.keys import KeyPair, generate_key_pair
from roost.registry import keys as store
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance


async def new_key_pair() -> KeyPair:
    """RSA generation takes tens of milliseconds of CPU: keep it off the event loop."""
    return await asyncio.to_thread(generate_key_pair)


async def create_keys(ctx: Context, actor: Actor, instance_id: str) -> str:
    """Give the instance a key pair; 409 ``KEYS_EXIST`` if it has one. Returns the public PEM."""
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "keys.create", instance_id)
    pair = await new_key_pair()
    encrypted = ctx.box.encrypt(pair.private_pem)

    def apply(conn: Connection, record: Recorder) -> None:
        store.insert_keys(conn, instance.pk, pair.public_pem, encrypted)
        record("keys.create", instance)

    try:
        await commit(ctx, actor, apply)
    except IntegrityError:
        if await ctx.registry.read(store.public_key, instance.pk) is None:
            raise instance_not_found(instance_id) from None  # deleted meanwhile
        raise Conflict(
            f"instance {instance_id!r} already has a key pair", code="KEYS_EXIST"
        ) from None
    return pair.public_pem


async def public_key(ctx: Context, actor: Actor, instance_id: str) -> str:
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "keys.read", instance_id)
    pem = await ctx.registry.read(store.public_key, instance.pk)
    if pem is None:
        raise NotFound(f"instance {instance_id!r} has no key pair", code="KEYS_NOT_FOUND")
    return pem
