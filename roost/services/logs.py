"""Service logs: which files an instance's services write (``<instance>/logs/``), and
their rotation by size (copy-truncate: the service holds its file open, roost does not)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from roost.auth import Actor
from roost.domain.errors import InsufficientStorage
from roost.instance_dir import InstanceDir, instance_dirs
from roost.runtime import logs
from roost.services import instance_files
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.runner import no_such_service

log = logging.getLogger("roost.logs")
ROTATE_EVERY_S = 10.0


async def log_files(
    ctx: Context, actor: Actor, instance_id: str, service: str | None
) -> dict[str, Path]:
    """The log file of each service (or of ``service``), in start order."""
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "logs.read", instance_id)
    spec = await instance_files.spec_of(ctx, instance)
    names = spec.start_order() if spec is not None else []
    if service is not None:
        if service not in names:
            raise no_such_service(instance, service)
        names = [service]
    directory = InstanceDir(ctx.home.path, instance_id)
    return {name: directory.log(name) for name in names}


async def rotate_logs(ctx: Context) -> list[Path]:
    """Rotate every service log past ``ROOST_LOG_MAX_BYTES``; the ones rotated."""
    settings = ctx.settings

    def every_log() -> list[Path]:
        return [path for folder in instance_dirs(ctx.home.path) for path in folder.log_files()]

    rotated = []
    for path in await asyncio.to_thread(every_log):
        try:
            if await asyncio.to_thread(
                logs.rotate, path, max_bytes=settings.log_max_bytes, keep=settings.log_keep
            ):
                rotated.append(path)
        except (OSError, InsufficientStorage) as exc:  # the others are rotated still
            log.warning("could not rotate %s: %s", path, exc)
    return rotated
