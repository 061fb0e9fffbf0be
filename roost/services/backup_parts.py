"""What a backup holds besides the instance's files, and its archive written to disk:
the manifest (without its file list, which the writer makes as it reads), the cache
namespace's snapshot, the sealed secrets and key pair."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from roost import __version__
from roost.archive import walk, write_archive
from roost.cache.dump import dump_items
from roost.domain.backups import CACHE_DUMP, SEALED, Manifest, Transfer
from roost.domain.clock import rfc3339
from roost.domain.model import Instance
from roost.registry import backups as store
from roost.registry import keys as key_store
from roost.registry import secrets as secret_store
from roost.services.context import Context


def without_logs(with_logs: bool) -> Callable[[str], bool]:
    def include(path: str) -> bool:
        return with_logs or not (path == "logs" or path.startswith("logs/"))

    return include


async def parts(
    ctx: Context, instance: Instance, row: store.BackupRow
) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest without its file list, and the parts beside the files: the cache
    namespace's snapshot and the sealed secrets."""
    sealed = await ctx.registry.read(sealed_parts, instance.pk)
    cache_dump = dump_items(await ctx.cache.snapshot(instance.instance_id))
    base = Manifest(
        instance_id=instance.instance_id,
        app=instance.app,
        version=instance.version,
        roost_version=__version__,
        created_at=rfc3339(row.created_at) or "",
        instance={
            "name": instance.name,
            "tags": list(instance.tags),
            "config": instance.config,
            "ports": dict(instance.ports),
        },
        cache={
            "keys": cache_dump.count(b"\n"),
            "size": len(cache_dump),
            "sha256": hashlib.sha256(cache_dump).hexdigest(),
        },
        sealed=True,
    )
    return base, {SEALED: sealed, CACHE_DUMP: cache_dump}


def sealed_parts(conn: Connection, instance_pk: int) -> bytes:
    keys = key_store.key_pair(conn, instance_pk)
    return json.dumps(
        {
            "secrets": secret_store.sealed_values(conn, instance_pk),
            "key_pair": None if keys is None else {"public": keys[0], "private_sealed": keys[1]},
        }
    ).encode()


def write_file(
    partial: Path,
    final: Path,
    folder: Path,
    base: Manifest,
    extras: dict[str, bytes],
    with_logs: bool,
    transfer: Transfer,
) -> tuple[int, str]:
    partial.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    include = without_logs(with_logs)
    transfer.total = sum(
        info.st_size for _, info in walk(folder, include) if stat.S_ISREG(info.st_mode)
    )
    with open(partial, "xb") as out:
        os.fchmod(out.fileno(), 0o600)
        _, counted = write_archive(
            out, folder, base, include=include, extras=extras, progress=transfer.add
        )
        out.flush()
        os.fsync(out.fileno())
    os.rename(partial, final)
    return counted.size, counted.sha256
