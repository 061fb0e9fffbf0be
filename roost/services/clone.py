"""Cloning an instance: a new instance of the same app and version, with its own id,
ordinal and ports; the source's config, tags and secrets; its files rendered for
itself; a copy of the source's data. Key pairs and quota usage are not copied: they
belong to the source."""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.clock import utcnow
from roost.domain.model import Instance
from roost.instance_dir import InstanceDir
from roost.registry import secrets as secret_store
from roost.services import instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.instances import get_instance


async def clone_instance(
    ctx: Context,
    actor: Actor,
    source_id: str,
    *,
    instance_id: str | None = None,
    name: str | None = None,
    with_data: bool = True,
) -> Instance:
    source = await get_instance(ctx, actor, source_id)
    await ctx.policy.authorize(actor, "instance.clone", source_id)
    request = CreateRequest(
        app=source.app,
        version=source.version,
        instance_id=instance_id,
        name=name or f"{source.name} (copy)",
        tags=source.tags,
        config=source.config,
    )
    clone = await create_instance(ctx, actor, request, event_action="instance.clone")

    def copy_secrets(conn: Connection, record: Recorder) -> int:
        copied = 0
        for secret, _ in secret_store.secret_names(conn, source.pk):
            token = secret_store.secret_value(conn, source.pk, secret)
            if token is not None:
                secret_store.put_secret(conn, clone.pk, secret, token, utcnow())
                copied += 1
        record(
            "instance.cloned",
            clone,
            details={"from": source_id, "secrets": copied, "with_data": with_data},
        )
        return copied

    await commit(ctx, actor, copy_secrets)
    if with_data:
        source_dir = InstanceDir(ctx.home.path, source_id)
        await asyncio.to_thread(
            source_dir.copy_data_to, InstanceDir(ctx.home.path, clone.instance_id)
        )
    await instance_files.refresh(ctx, clone)
    return clone
