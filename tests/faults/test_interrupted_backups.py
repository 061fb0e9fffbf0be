"""A server killed with SIGKILL in the middle of a backup: the next one fails the backup
that was running (saying so), removes its partial archive, and takes new backups; a
restore cut between its renames gets the instance's directory back; and a backup that
meets a full disk fails, keeps nothing, and the next one completes once there is room."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from roost.auth import SUPERVISOR
from roost.domain.states import Action
from roost.services.backup_recovery import INTERRUPTED, settle_interrupted
from roost.services.changes import commit
from roost.services.context import Context
from roost.services.transitions import transition_unit
from roost.settings import Settings
from tests.api.test_backups import backed_up
from tests.conftest import api_client, opened_context
from tests.servers import free_port, server, tmpfs

pytestmark = pytest.mark.slow


def test_a_backup_cut_by_a_killed_server_is_failed_and_cleaned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    with (
        server(home, port) as process,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        assert http.post("/v1/instances", json={"instance_id": "k1"}).status_code == 201
        data = home / "instances" / "k1" / "data"
        data.mkdir(parents=True, exist_ok=True)
        with open(data / "world.dat", "wb") as out:
            for _ in range(400):
                out.write(os.urandom(1024 * 1024))
        name = http.post("/v1/instances/k1/backups").json()["name"]
        partial = home / "backups" / "k1" / f"{name}.tar.zst.partial"
        deadline = time.monotonic() + 30
        while not (partial.exists() and partial.stat().st_size > 0):
            assert time.monotonic() < deadline, "the backup never began writing"
            time.sleep(0.01)
        process.kill()  # SIGKILL, mid-write
        process.wait()
    assert partial.exists()  # what the killed server left
    port = free_port()
    with server(home, port), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        record = http.get(f"/v1/instances/k1/backups/{name}").json()
        assert (record["status"], record["error"]) == ("failed", INTERRUPTED)
        assert not partial.exists()
        events = http.get("/v1/events", params={"instance_id": "k1"}).json()["events"]
        assert events[-1]["action"] == "backup.failed"
        again = http.post("/v1/instances/k1/backups").json()["name"]
        for _ in range(600):
            done = http.get(f"/v1/instances/k1/backups/{again}").json()
            if done["status"] != "running":
                break
            time.sleep(0.1)
        assert done["status"] == "completed", done


async def test_a_restore_cut_between_its_renames_gets_the_directory_back(
    client: httpx.AsyncClient, context: Context
) -> None:
    for instance_id in ("r1", "r2"):
        assert (
            await client.post("/v1/instances", json={"instance_id": instance_id})
        ).status_code == 201
        folder = context.home.path / "instances" / instance_id / "data"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "save.dat").write_text(f"{instance_id} as it was")
    root = context.home.path / "instances"
    # r1: cut after the first rename (its directory set aside, the new one not in place)
    os.rename(root / "r1", root / ".r1.old-0a1b2c3d")
    (root / ".r1.restore-0a1b2c3d" / "files").mkdir(parents=True)
    # r2: cut after the swap, before the set-aside copy was removed
    (root / ".r2.old-0a1b2c3d" / "data").mkdir(parents=True)
    await commit(context, SUPERVISOR, transition_unit("r1", Action.RESTORE))
    assert (await client.get("/v1/instances/r1")).json()["state"] == "migrating"
    await settle_interrupted(context)
    assert (await client.get("/v1/instances/r1")).json()["state"] == "active"  # as it was
    assert (root / "r1" / "data" / "save.dat").read_text() == "r1 as it was"
    assert (root / "r2" / "data" / "save.dat").read_text() == "r2 as it was"
    assert sorted(p.name for p in root.iterdir()) == ["r1", "r2"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "size=24m,mode=0700") as mount:
        yield mount


async def test_a_backup_that_meets_a_full_disk_fails_and_keeps_nothing(
    settings: Settings, small_disk: Path
) -> None:
    on_disk = replace(settings, home=small_disk / "home")
    async with opened_context(on_disk) as ctx, api_client(ctx) as client:
        assert (await client.post("/v1/instances", json={"instance_id": "f1"})).status_code == 201
        data = ctx.home.path / "instances" / "f1" / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "world.dat").write_bytes(os.urandom(6 * 1024 * 1024))
        filler = small_disk / "filler"
        with open(filler, "wb", buffering=0) as out:  # leave about 1 MiB
            free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
            out.write(b"\0" * max(0, free - 1024 * 1024))
        failed = await backed_up(client, "f1")
        assert failed["status"] == "failed"
        assert "No space left" in failed["error"] or "room" in failed["error"], failed["error"]
        assert list((ctx.home.path / "backups" / "f1").glob("*")) == []
        filler.unlink()
        done = await backed_up(client, "f1")
        assert done["status"] == "completed"
        assert (
            await client.post(f"/v1/instances/f1/backups/{done['name']}/verify")
        ).status_code == 200
