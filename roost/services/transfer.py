"""Exporting instances as a portable document, and importing one (all or nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, InvalidInput
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.registry import instances as q
from roost.registry import secrets as secret_store
from roost.secrets import open_sealed, passphrase_box
from roost.services import instance_files
from roost.services.app_specs import check_version
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.exports import record_exports, selected_instances
from roost.services.removal import delete_instance
from roost.services.secrets import check_secret
from roost.transfer import Document, PortableInstance, parse, portable


async def export_document(
    ctx: Context,
    actor: Actor,
    instance_ids: Sequence[str] | None,
    *,
    passphrase: str | None = None,
) -> Document:
    """The named instances (None: all); with a passphrase, their secrets sealed with it."""
    instances = await selected_instances(ctx, actor, instance_ids)
    if not instances:
        raise InvalidInput("there are no instances to export", code="NOTHING_TO_EXPORT")
    box, kdf = (None, None)
    if passphrase is not None:
        box, kdf = await asyncio.to_thread(passphrase_box, passphrase)
    entries: list[PortableInstance] = []
    for instance in instances:
        await ctx.policy.authorize(actor, "instance.export", instance.instance_id)
        sealed = None
        if box is not None:
            await ctx.policy.authorize(actor, "secret.read", instance.instance_id)
            secrets = await instance_files.decrypted_secrets(ctx, instance)
            sealed = box.encrypt(json.dumps(secrets).encode()).decode("ascii")
        app = await ctx.apps.get_by_pk(instance.app_pk)
        entries.append(portable(instance, bare=app.bare, sealed_secrets=sealed))

    await record_exports(ctx, actor, instances, "document", box is not None)
    return Document(
        exported_at=utcnow().isoformat().replace("+00:00", "Z"),
        secrets_kdf=kdf,
        instances=entries,
    )


async def import_document(
    ctx: Context,
    actor: Actor,
    data: Any,
    *,
    passphrase: str | None = None,
    auto_ports: bool = False,
) -> list[Instance]:
    """Create every instance of the document, or none: everything that can be checked is
    checked first, and if a create still fails the ones made before it are removed."""
    document = parse(data)
    secrets = await _opened_secrets(document, passphrase)
    for entry in document.instances:
        validate_instance_id(entry.instance_id)
        await ctx.policy.authorize(actor, "instance.create", entry.app)
        if await ctx.registry.read(q.instance_exists, entry.instance_id):
            raise Conflict(
                f"instance {entry.instance_id!r} already exists",
                code="INSTANCE_EXISTS",
                instance_id=entry.instance_id,
            )
        for name, value in secrets.get(entry.instance_id, {}).items():
            check_secret(name, value)
        if not entry.bare:
            await check_version(ctx, await ctx.apps.get(entry.app), entry.version)
    created: list[Instance] = []
    try:
        for entry in document.instances:
            created.append(await _import_one(ctx, actor, entry, secrets, auto_ports))
    except BaseException:
        for instance in reversed(created):
            with contextlib.suppress(Exception):
                await delete_instance(ctx, actor, instance.instance_id)
        raise
    return created


async def _opened_secrets(document: Document, passphrase: str | None) -> dict[str, dict[str, str]]:
    sealed = {e.instance_id: e.secrets for e in document.instances if e.secrets}
    if not sealed:
        return {}
    if passphrase is None:
        raise InvalidInput(
            "the document holds sealed secrets: give the passphrase they were exported with",
            code="PASSPHRASE_REQUIRED",
        )
    box, _ = await asyncio.to_thread(passphrase_box, passphrase, document.secrets_kdf)
    opened: dict[str, dict[str, str]] = {}
    for instance_id, token in sealed.items():
        try:
            values = json.loads(open_sealed(box, token))
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise InvalidInput(
                f"the secrets of {instance_id!r} are not a sealed name-to-value object",
                code="INVALID_IMPORT",
            )
        opened[instance_id] = values
    return opened


async def _import_one(
    ctx: Context,
    actor: Actor,
    entry: PortableInstance,
    secrets: dict[str, dict[str, str]],
    auto_ports: bool,
) -> Instance:
    if entry.bare:
        await ctx.apps.ensure_bare(entry.app, entry.version)
    spec = await ctx.apps.spec_of_version(await ctx.apps.get(entry.app), entry.version)
    declared = spec.ports if spec is not None else {}
    request = CreateRequest(
        app=entry.app,
        version=entry.version,
        instance_id=entry.instance_id,
        name=entry.name,
        tags=tuple(entry.tags),
        config=entry.config,
        ports={name: port for name, port in entry.ports.items() if name in declared},
        auto_ports=auto_ports,
    )
    instance = await create_instance(ctx, actor, request, event_action="instance.import")
    values = secrets.get(entry.instance_id, {})
    if values:
        encrypted = {name: ctx.box.encrypt(value.encode()) for name, value in values.items()}

        def store(conn: Connection, record: Recorder) -> None:
            now = utcnow()
            for name, token in encrypted.items():
                secret_store.put_secret(conn, instance.pk, name, token, now)
            record("secret.import", instance, details={"names": sorted(encrypted)})

        await commit(ctx, actor, store)
        await instance_files.refresh(ctx, instance)
    return instance
