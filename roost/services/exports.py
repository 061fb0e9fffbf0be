"""Exporting instances to the engines people already run (systemd, compose)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.access import visible_to
from roost.domain.errors import InvalidInput
from roost.domain.model import Instance, InstanceFilter
from roost.domain.names import has_control
from roost.instance_dir import InstanceDir
from roost.runtime.exports import ExportFile, ExportTarget, ExportUnsupported, exporter
from roost.services import instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.queries import every_instance


async def selected_instances(
    ctx: Context, actor: Actor, instance_ids: Sequence[str] | None
) -> list[Instance]:
    """The named instances, in that order; None: every instance, oldest first."""
    if instance_ids is not None:
        return [await get_instance(ctx, actor, instance_id) for instance_id in instance_ids]
    await ctx.policy.authorize(actor, "instance.list")
    return await every_instance(ctx, visible_to(actor, InstanceFilter()))


async def export_files(
    ctx: Context,
    actor: Actor,
    kind: str,
    instance_ids: Sequence[str] | None,
    *,
    out: str,
    with_secrets: bool = False,
) -> list[ExportFile]:
    """The files of one export of the named instances (None: every instance that has
    services); the caller writes them under ``out``, an absolute path."""
    chosen = exporter(kind)
    if not out.startswith("/") or has_control(out):
        raise InvalidInput(f"out must be an absolute path, got {out!r}", code="INVALID_PATH")
    targets: list[ExportTarget] = []
    for instance in await selected_instances(ctx, actor, instance_ids):
        await ctx.policy.authorize(actor, "instance.export", instance.instance_id)
        if with_secrets:
            await ctx.policy.authorize(actor, "secret.read", instance.instance_id)
        spec = await instance_files.spec_of(ctx, instance)
        if spec is None or not spec.services:
            if instance_ids is None:
                continue
            raise ExportUnsupported(
                f"instance {instance.instance_id!r} has no services to export "
                f"(app {instance.app!r} is bare)",
                code="EXPORT_UNSUPPORTED",
            )
        targets.append(
            ExportTarget(
                instance=instance,
                spec=spec,
                config=await instance_files.effective_config(ctx, instance),
                directory=InstanceDir(ctx.home.path, instance.instance_id).path,
                cache_url=ctx.settings.url,
                secrets=(
                    await instance_files.decrypted_secrets(ctx, instance) if with_secrets else None
                ),
            )
        )
    files = chosen.render(targets, Path(out))
    await record_exports(ctx, actor, [t.instance for t in targets], kind, with_secrets)
    return files


async def record_exports(
    ctx: Context, actor: Actor, instances: Sequence[Instance], exporter: str, with_secrets: bool
) -> None:
    """One ``instance.export`` event per instance, saying how and whether with secrets."""

    def apply(conn: Connection, record: Recorder) -> None:
        for instance in instances:
            record(
                "instance.export",
                instance,
                details={"exporter": exporter, "with_secrets": with_secrets},
            )

    await commit(ctx, actor, apply)
