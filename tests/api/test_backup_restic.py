"""The restic target against Debian's restic and a real repository: snapshots taken,
verified, restored and cloned; unchanged chunks stored once across instances;
damage found; pruning forgets snapshots; and refusals where restic is not set up."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.services.context import Context
from roost.settings import Settings
from tests.api.test_backups import backed_up
from tests.conftest import api_client, opened_context

pytestmark = pytest.mark.slow
SPEC = {"name": "world", "version": "1", "backup": {"target": "restic"}}


@pytest.fixture
async def restic_home(settings: Settings, tmp_path: Path) -> AsyncIterator[Context]:
    with_restic = replace(settings, backup_restic=str(tmp_path / "repository"))
    async with opened_context(with_restic) as ctx:
        yield ctx


@pytest.fixture
async def http(restic_home: Context) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(restic_home) as client:
        assert (await client.post("/v1/apps", json=SPEC)).status_code == 201
        yield client


def stored(repository: Path) -> int:
    """The repository's bytes on disk."""
    return sum(p.stat().st_size for p in repository.rglob("*") if p.is_file())


def snapshots(ctx: Context) -> list[dict[str, Any]]:
    assert ctx.restic is not None
    found: list[dict[str, Any]] = json.loads(ctx.restic.run("snapshots", "--json"))
    return found


async def world(http: httpx.AsyncClient, ctx: Context, instance_id: str, data: bytes) -> Path:
    made = await http.post("/v1/instances", json={"app": "world", "instance_id": instance_id})
    assert made.status_code == 201, made.text
    folder = ctx.home.path / "instances" / instance_id / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "region.dat").write_bytes(data)
    (folder / "level.dat").write_text(f"level of {instance_id}\n")
    return folder


async def test_a_snapshot_is_taken_verified_and_restored(
    http: httpx.AsyncClient, restic_home: Context
) -> None:
    data = await world(http, restic_home, "w1", os.urandom(200_000))
    headers = {"X-Instance-ID": "w1"}
    assert (await http.put("/v1/cache/k", content=b"v1", headers=headers)).status_code == 204
    saved = await backed_up(http, "w1")
    assert (saved["status"], saved["target"]) == ("completed", "restic"), saved
    assert saved["location"].startswith("restic:") and saved["size"] >= 200_000
    [snapshot] = snapshots(restic_home)
    assert snapshot["short_id"] == saved["location"].removeprefix("restic:")
    assert sorted(snapshot["paths"]) == sorted(
        str(restic_home.home.path / p) for p in ("instances/w1", "backups/.restic/w1")
    )
    verified = await http.post(f"/v1/instances/w1/backups/{saved['name']}/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["files"] == 2

    original = (data / "region.dat").read_bytes()
    (data / "region.dat").write_bytes(b"overwritten")
    (data / "new.txt").write_text("after")
    await http.put("/v1/cache/k", content=b"v2", headers=headers)
    restored = await http.post(f"/v1/instances/w1/backups/{saved['name']}/restore", timeout=60)
    assert restored.status_code == 200, restored.text
    assert (data / "region.dat").read_bytes() == original
    assert not (data / "new.txt").exists()
    assert (await http.get("/v1/cache/k", headers=headers)).content == b"v1"
    refused = await http.get(f"/v1/instances/w1/backups/{saved['name']}/download")
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_AN_ARCHIVE")

    cloned = await http.post(
        "/v1/instances/w1/clone", json={"from_backup": saved["name"], "instance_id": "w9"}
    )
    assert cloned.status_code == 201, cloned.text
    copy = restic_home.home.path / "instances" / "w9" / "data" / "region.dat"
    assert copy.read_bytes() == original
    assert (await http.delete(f"/v1/instances/w1/backups/{saved['name']}")).status_code == 204
    assert [s for s in snapshots(restic_home) if s["short_id"] in saved["location"]] == []


async def test_unchanged_chunks_are_stored_once_across_instances(
    http: httpx.AsyncClient, restic_home: Context, tmp_path: Path
) -> None:
    shared = os.urandom(4_000_000)  # a world both instances start from
    await world(http, restic_home, "w1", shared)
    await world(http, restic_home, "w2", shared)
    await backed_up(http, "w1")
    after_one = stored(tmp_path / "repository")
    await backed_up(http, "w2")
    after_two = stored(tmp_path / "repository")
    assert after_one > 4_000_000
    assert after_two - after_one < 0.05 * after_one  # the second world added almost nothing


async def test_a_damaged_repository_fails_the_verify(
    http: httpx.AsyncClient, restic_home: Context, tmp_path: Path
) -> None:
    await world(http, restic_home, "w1", os.urandom(300_000))
    saved = await backed_up(http, "w1")
    packs = [p for p in (tmp_path / "repository" / "data").rglob("*") if p.is_file()]
    largest = max(packs, key=lambda p: p.stat().st_size)
    raw = bytearray(largest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    largest.chmod(0o600)
    largest.write_bytes(bytes(raw))
    refused = await http.post(f"/v1/instances/w1/backups/{saved['name']}/verify")
    assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_CORRUPT")
    restore = await http.post(f"/v1/instances/w1/backups/{saved['name']}/restore")
    assert (restore.status_code, restore.json()["code"]) == (409, "BACKUP_CORRUPT")
    assert not [p for p in (restic_home.home.path / "instances").iterdir() if p.name[0] == "."]


async def test_pruning_forgets_the_snapshots(http: httpx.AsyncClient, restic_home: Context) -> None:
    from roost.auth import LOCAL_ACTOR
    from roost.domain.backup_schedule import Schedule
    from roost.domain.retention import KeepPolicy
    from roost.registry import instances as q
    from roost.services.backup_schedules import prune

    await world(http, restic_home, "w1", b"x" * 1000)
    first = await backed_up(http, "w1")
    await backed_up(http, "w1")
    assert len(snapshots(restic_home)) == 2
    instance = await restic_home.registry.read(q.get_instance, "w1")
    assert instance is not None
    policy = Schedule(keep=KeepPolicy(last=1), rotate_manual=True)
    assert await prune(restic_home, LOCAL_ACTOR, instance, policy) == [first["name"]]
    assert len(snapshots(restic_home)) == 1


async def test_restic_refused_where_it_is_not_set_up(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/instances", json={"instance_id": "b1"})).status_code == 201
    refused = await client.post("/v1/instances/b1/backups", json={"target": "restic"})
    assert (refused.status_code, refused.json()["code"]) == (400, "TARGET_NOT_CONFIGURED")
    assert (await client.get("/v1/instances/b1/backups")).json()["backups"] == []
    bad = await client.post("/v1/instances/b1/backups", json={"target": "tape"})
    assert (bad.status_code, bad.json()["code"]) == (422, "VALIDATION_ERROR")


def test_restic_is_installed() -> None:
    assert subprocess.run(["restic", "version"], capture_output=True, check=False).returncode == 0
