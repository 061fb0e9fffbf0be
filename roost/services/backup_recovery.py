"""At server start, what a server killed in the middle of a backup or a restore left
behind is settled, before anything else touches the home:

- a backup still ``running`` in the registry ended with that server: it is ``failed``
  ("interrupted: ..."), an event and an alert like any failure;
- partial archives (``*.partial``, ``*.fetch-*``, ``*.upload-*``) are removed;
- a restore's set-aside directory (``.<id>.old-<token>``) is put back where the
  instance's directory is missing (killed between the two renames of the swap), and
  removed where the swap was done; its staging folders (``.<id>.restore-<token>``) go;
- an instance left ``migrating`` goes back to the state it had (boot then starts it if
  it should run).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
from pathlib import Path

from sqlalchemy import Connection

from roost.auth import SUPERVISOR
from roost.domain.clock import utcnow
from roost.domain.model import InstanceFilter
from roost.domain.states import State
from roost.instance_dir import instances_root
from roost.registry import backups as store
from roost.registry import instances as q
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.queries import every_instance
from roost.services.transitions import migration_end_unit

INTERRUPTED = "interrupted: the server stopped while it was being taken"
PARTIAL = re.compile(r".+\.(partial|fetch-[0-9a-f]+|upload-[0-9a-f]+)")
SET_ASIDE = re.compile(r"\.(?P<id>.+)\.old-[0-9a-f]+")
STAGING = re.compile(r"\..+\.restore-[0-9a-f]+")
log = logging.getLogger("roost.backups")


async def settle_interrupted(ctx: Context) -> int:
    """Fail the backups left running, clean their files and a restore's; how many."""

    def fail_running(conn: Connection, record: Recorder) -> int:
        rows = store.running(conn)
        for row, instance_pk in rows:
            store.finish_backup(
                conn, row.instance_id, row.name, status=store.FAILED, at=utcnow(), error=INTERRUPTED
            )
            instance = q.get_instance(conn, row.instance_id)
            if instance is not None and instance.pk == instance_pk:
                details = {"name": row.name, "kind": row.kind, "error": INTERRUPTED}
                record("backup.failed", instance, outcome="error", details=details)
        return len(rows)

    failed = await commit(ctx, SUPERVISOR, fail_running)
    removed = await asyncio.to_thread(_clean_files, ctx.home.path)
    for instance in await every_instance(ctx, InstanceFilter(state=State.MIGRATING)):
        await commit(ctx, SUPERVISOR, migration_end_unit(instance.instance_id))
        removed += 1
    if failed or removed:
        log.warning(
            "settled what a stopped server left: %d backups failed, %d leftovers", failed, removed
        )
    return failed


def _clean_files(home: Path) -> int:
    count = 0
    backups = home / "backups"
    if backups.is_dir():
        for path in backups.glob("*/*"):
            if path.is_file() and PARTIAL.fullmatch(path.name):
                path.unlink(missing_ok=True)
                count += 1
    root = instances_root(home)
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            aside = SET_ASIDE.fullmatch(entry.name)
            if aside is not None:
                current = root / aside.group("id")
                if not current.exists():
                    os.rename(entry, current)  # the swap was cut after the first rename
                    log.warning("put back the directory of %s after a cut restore", current.name)
                else:
                    shutil.rmtree(entry, ignore_errors=True)
                count += 1
            elif STAGING.fullmatch(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
                count += 1
    return count
