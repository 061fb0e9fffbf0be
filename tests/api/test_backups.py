"""Backups to archives of real instance directories: taken in the background, listed,
verified, downloaded; secrets only sealed; damage found; failures recorded, never
silent; one instance's backups never reached through another."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tarfile
from dataclasses import replace
from typing import Any

import httpx
import pytest
import zstandard

from roost.services.context import Context
from roost.settings import Settings
from tests.conftest import api_client, opened_context

pytestmark = pytest.mark.slow
SECRET = "the-secret-value-never-in-clear"
NAME = "20261130T120000Z-manual-abcdef"


async def made(client: httpx.AsyncClient, instance_id: str, context: Context) -> None:
    assert (
        await client.post("/v1/instances", json={"instance_id": instance_id})
    ).status_code == 201
    data = context.home.path / "instances" / instance_id / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "world.dat").write_bytes(os.urandom(100_000))
    (data / "notes.txt").write_text("hello\n" * 1000)
    put = await client.put(f"/v1/instances/{instance_id}/secrets/api_key", json={"value": SECRET})
    assert put.status_code == 204
    assert (await client.post(f"/v1/instances/{instance_id}/keys")).status_code == 201


async def backed_up(client: httpx.AsyncClient, instance_id: str, **body: Any) -> dict[str, Any]:
    began = await client.post(f"/v1/instances/{instance_id}/backups", json=body)
    assert began.status_code == 202, began.text
    record: dict[str, Any] = began.json()
    assert record["status"] == "running" and record["kind"] == "manual"
    for _ in range(200):
        got = await client.get(f"/v1/instances/{instance_id}/backups/{record['name']}")
        record = got.json()
        if record["status"] != "running":
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"still running: {record}")


async def test_a_backup_is_taken_listed_verified_and_downloaded(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    done = await backed_up(client, "b1", note="before the update")
    assert (done["status"], done["error"], done["note"]) == ("completed", None, "before the update")
    archive = context.home.path / "backups" / "b1" / f"{done['name']}.tar.zst"
    assert archive.stat().st_size == done["size"] and archive.stat().st_mode & 0o777 == 0o600
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == done["sha256"]
    listed = (await client.get("/v1/instances/b1/backups")).json()["backups"]
    assert [b["name"] for b in listed] == [done["name"]]

    verified = await client.post(f"/v1/instances/b1/backups/{done['name']}/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["files"] >= 2 and verified.json()["sha256"] == done["sha256"]
    download = await client.get(f"/v1/instances/b1/backups/{done['name']}/download")
    assert download.status_code == 200 and download.content == archive.read_bytes()

    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(archive.read_bytes())).read()
    assert SECRET.encode() not in raw  # sealed
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        names = tar.getnames()
        sealed = json.loads(tar.extractfile("sealed.json").read())  # type: ignore[union-attr]
    assert "files/data/world.dat" in names and "sealed.json" in names
    assert set(sealed) == {"secrets", "key_pair"} and set(sealed["secrets"]) == {"api_key"}
    assert set(sealed["key_pair"]) == {"public", "private_sealed"}
    assert context.box.decrypt(sealed["secrets"]["api_key"]) == SECRET.encode()
    assert names[-1] == "manifest.json" and not any(n.startswith("files/logs") for n in names)
    events = (await client.get("/v1/events", params={"instance_id": "b1"})).json()["events"]
    assert [e["action"] for e in events][-2:] == ["backup.started", "backup.completed"]


async def test_damage_is_found_by_verify(client: httpx.AsyncClient, context: Context) -> None:
    await made(client, "b1", context)
    done = await backed_up(client, "b1")
    archive = context.home.path / "backups" / "b1" / f"{done['name']}.tar.zst"
    original = archive.read_bytes()
    for damage in (
        original[:100] + bytes([original[100] ^ 1]) + original[101:],
        original[: len(original) // 2],
    ):
        archive.write_bytes(damage)
        refused = await client.post(f"/v1/instances/b1/backups/{done['name']}/verify")
        assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_CORRUPT")
    archive.unlink()
    gone = await client.post(f"/v1/instances/b1/backups/{done['name']}/verify")
    assert gone.json()["error"].endswith("its archive is gone")


async def test_a_failed_backup_says_why_and_is_an_event(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    (context.home.path / "backups" / "b1").write_text("in the way")  # not a folder
    done = await backed_up(client, "b1")
    assert done["status"] == "failed" and "FileExistsError" in done["error"]
    assert done["size"] is None
    events = (await client.get("/v1/events", params={"instance_id": "b1"})).json()["events"]
    failed = [e for e in events if e["action"] == "backup.failed"]
    assert failed and failed[0]["outcome"] == "error" and failed[0]["details"]["error"]
    refused = await client.post(f"/v1/instances/b1/backups/{done['name']}/verify")
    assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_NOT_COMPLETED")


async def test_backups_are_reached_only_through_their_instance(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    await made(client, "b2", context)
    done = await backed_up(client, "b1")
    for path in (
        f"/v1/instances/b2/backups/{done['name']}",
        f"/v1/instances/b2/backups/{done['name']}/download",
    ):
        other = await client.get(path)
        assert (other.status_code, other.json()["code"]) == (404, "BACKUP_NOT_FOUND")
    assert (await client.get("/v1/instances/b2/backups")).json()["backups"] == []
    for bad in ("..%2F..%2Fsecret.key", "x", NAME + "%0A"):
        refused = await client.get(f"/v1/instances/b1/backups/{bad}")
        assert refused.status_code in (400, 404), bad
        assert refused.json()["code"] in ("INVALID_BACKUP_NAME", "NOT_FOUND"), bad
    missing = await client.post("/v1/instances/nobody/backups")
    assert (missing.status_code, missing.json()["code"]) == (404, "INSTANCE_NOT_FOUND")


async def test_a_pre_delete_backup_is_kept_and_listed_as_orphaned(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    (context.home.path / "backups" / "b2").parent.mkdir(parents=True, exist_ok=True)
    assert (await client.delete("/v1/instances/b1", params={"backup": "true"})).status_code == 204
    [orphan] = (await client.get("/v1/backups/orphaned")).json()["backups"]
    assert (orphan["instance_id"], orphan["kind"], orphan["status"]) == (
        "b1",
        "pre-delete",
        "completed",
    )
    archive = context.home.path / "backups" / "b1" / f"{orphan['name']}.tar.zst"
    assert archive.stat().st_size == orphan["size"]

    await made(client, "b2", context)
    (context.home.path / "backups" / "b2").write_text("in the way")  # the backup fails
    refused = await client.delete("/v1/instances/b2", params={"backup": "true"})
    assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_FAILED")
    assert refused.json()["error"].startswith("not deleted: its pre-delete backup failed")
    assert (await client.get("/v1/instances/b2")).status_code == 200  # still there


async def test_deleting_an_instance_keeps_its_backups_on_disk(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    done = await backed_up(client, "b1")
    assert (await client.delete("/v1/instances/b1")).status_code == 204
    archive = context.home.path / "backups" / "b1" / f"{done['name']}.tar.zst"
    assert archive.is_file()  # orphaned, for a later restore elsewhere
    gone = await client.get("/v1/instances/b1/backups")
    assert (gone.status_code, gone.json()["code"]) == (404, "INSTANCE_NOT_FOUND")


async def test_a_cache_value_damaged_on_disk_fails_the_backup_saying_which(
    settings: Settings,
) -> None:
    from roost.cache.embedded import LOG_NAME

    tight = replace(settings, cache_memory_bytes=0)  # every value read back from disk
    async with opened_context(tight) as ctx, api_client(ctx) as client:
        assert (await client.post("/v1/instances", json={"instance_id": "d1"})).status_code == 201
        value = b"precious-" * 100
        put = await client.put("/v1/cache/k", content=value, headers={"X-Instance-ID": "d1"})
        assert put.status_code == 204
        log = ctx.home.path / "cache" / LOG_NAME
        raw = bytearray(log.read_bytes())
        at = raw.rindex(value) + 10
        raw[at] ^= 0xFF
        log.write_bytes(bytes(raw))
        failed = await backed_up(client, "d1")
        assert failed["status"] == "failed"
        assert "'k'" in failed["error"] and "damaged on disk" in failed["error"]
        kept = ctx.home.path / "backups" / "d1"
        assert not kept.exists() or list(kept.iterdir()) == []
        events = (await client.get("/v1/events", params={"instance_id": "d1"})).json()["events"]
        assert events[-1]["action"] == "backup.failed"


async def test_a_backup_is_deleted_record_first_then_archive(
    client: httpx.AsyncClient, context: Context
) -> None:
    await made(client, "b1", context)
    done = await backed_up(client, "b1")
    archive = context.home.path / "backups" / "b1" / f"{done['name']}.tar.zst"
    assert archive.is_file()
    removed = await client.delete(f"/v1/instances/b1/backups/{done['name']}")
    assert removed.status_code == 204, removed.text
    assert not archive.exists()
    assert (await client.get("/v1/instances/b1/backups")).json()["backups"] == []
    again = await client.delete(f"/v1/instances/b1/backups/{done['name']}")
    assert (again.status_code, again.json()["code"]) == (404, "BACKUP_NOT_FOUND")
    events = (await client.get("/v1/events", params={"instance_id": "b1"})).json()["events"]
    assert events[-1]["action"] == "backup.deleted"
    assert events[-1]["details"] == {"name": done["name"], "kind": "manual"}
