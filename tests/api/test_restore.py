"""Restores of real instances: the directory put back and the services started again,
a damaged archive changing nothing, writes refused while it runs, and a swap that
fails putting everything back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.services.context import Context
from tests.api.test_backups import backed_up

pytestmark = pytest.mark.slow

# ignores SIGTERM, so a stop takes its stop_timeout: a restore of it takes a while
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(10**6)"
SPEC = {
    "name": "saved",
    "version": "1",
    "services": {"main": {"command": [sys.executable, "-c", STUBBORN], "stop_timeout": "1s"}},
}


async def running(client: httpx.AsyncClient, context: Context, instance_id: str = "r1") -> Path:
    assert (await client.post("/v1/apps", json=SPEC)).status_code in (200, 201)
    created = await client.post("/v1/instances", json={"app": "saved", "instance_id": instance_id})
    assert created.status_code == 201, created.text
    assert (await client.post(f"/v1/instances/{instance_id}/start")).status_code == 200
    data = context.home.path / "instances" / instance_id / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "world.dat").write_text("version one\n")
    (data / "keep.txt").write_text("kept\n")
    return data


async def pid(client: httpx.AsyncClient, instance_id: str) -> int:
    services = (await client.get(f"/v1/instances/{instance_id}/services")).json()["services"]
    found: int = services[0]["pid"]
    return found


async def restore(client: httpx.AsyncClient, name: str, instance_id: str = "r1") -> httpx.Response:
    return await client.post(f"/v1/instances/{instance_id}/backups/{name}/restore", timeout=60)


async def test_a_restore_puts_the_directory_back_and_starts_it_again(
    client: httpx.AsyncClient, context: Context
) -> None:
    data = await running(client, context)
    saved = await backed_up(client, "r1")
    (data / "world.dat").write_text("version two\n")
    (data / "new.txt").write_text("after the backup\n")
    (data / "keep.txt").unlink()
    before = await pid(client, "r1")

    restored = await restore(client, saved["name"])
    assert restored.status_code == 200, restored.text
    assert restored.json()["state"] == "active"
    assert (data / "world.dat").read_text() == "version one\n"
    assert (data / "keep.txt").read_text() == "kept\n" and not (data / "new.txt").exists()
    assert await pid(client, "r1") != before  # started again
    listed = (await client.get("/v1/instances/r1/backups")).json()["backups"]
    pre = [b for b in listed if b["kind"] == "pre-restore"]
    assert len(pre) == 1 and pre[0]["status"] == "completed"
    events = (await client.get("/v1/events", params={"instance_id": "r1"})).json()["events"]
    actions = [e["action"] for e in events]
    assert actions[-1] == "backup.restored" and "instance.restore" in actions
    assert events[-1]["details"]["pre_restore"] == pre[0]["name"]
    leftovers = [
        p.name for p in (context.home.path / "instances").iterdir() if p.name.startswith(".")
    ]
    assert leftovers == []


async def test_a_damaged_archive_changes_nothing(
    client: httpx.AsyncClient, context: Context
) -> None:
    data = await running(client, context)
    saved = await backed_up(client, "r1")
    (data / "world.dat").write_text("version two\n")
    archive = context.home.path / "backups" / "r1" / f"{saved['name']}.tar.zst"
    raw = archive.read_bytes()
    archive.write_bytes(raw[:50] + bytes([raw[50] ^ 0xFF]) + raw[51:])
    before = await pid(client, "r1")
    refused = await restore(client, saved["name"])
    assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_CORRUPT")
    assert (data / "world.dat").read_text() == "version two\n"
    assert await pid(client, "r1") == before  # never stopped
    kinds = [b["kind"] for b in (await client.get("/v1/instances/r1/backups")).json()["backups"]]
    assert kinds == ["manual"]  # no pre-restore backup: it was refused before


async def test_writes_are_refused_while_it_restores(
    client: httpx.AsyncClient, context: Context
) -> None:
    await running(client, context)
    put = await client.put("/v1/cache/k", content=b"old", headers={"X-Instance-ID": "r1"})
    assert put.status_code == 204
    saved = await backed_up(client, "r1")
    going = asyncio.ensure_future(restore(client, saved["name"]))
    seen: list[tuple[int, str]] = []
    for _ in range(100):
        await asyncio.sleep(0.02)
        write = await client.put("/v1/cache/k", content=b"new", headers={"X-Instance-ID": "r1"})
        read = await client.get("/v1/cache/k", headers={"X-Instance-ID": "r1"})
        seen.append((write.status_code, write.json()["code"] if write.status_code == 409 else ""))
        assert read.status_code == 200  # reads are served all along
        if going.done():
            break
    assert (await going).status_code == 200
    assert (409, "RESTORE_IN_PROGRESS") in seen
    after = await client.put("/v1/cache/k", content=b"new", headers={"X-Instance-ID": "r1"})
    assert after.status_code == 204


def bind_on_itself(folder: Path) -> str:
    """Make ``folder`` a mount point; why not, if it cannot be."""
    mounted = subprocess.run(
        ["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True, check=False
    )
    return "" if mounted.returncode == 0 else mounted.stderr.strip() or "mount failed"


def unmount(folder: Path) -> None:
    """Lazily: the service started again has its working directory in it."""
    subprocess.run(["umount", "--lazy", str(folder)], check=False)


async def test_a_swap_that_fails_puts_everything_back(
    client: httpx.AsyncClient, context: Context
) -> None:
    data = await running(client, context)
    saved = await backed_up(client, "r1")
    (data / "world.dat").write_text("version two\n")
    folder = context.home.path / "instances" / "r1"
    refusal = bind_on_itself(folder)
    if refusal:
        pytest.skip(f"cannot bind-mount here: {refusal}")
    try:  # a mount point cannot be renamed: the swap fails half way (EBUSY)
        before = await pid(client, "r1")
        refused = await restore(client, saved["name"])
        assert (refused.status_code, refused.json()["code"]) == (409, "RESTORE_FAILED")
        assert refused.json()["error"].startswith("not restored, nothing changed: ")
        assert (data / "world.dat").read_text() == "version two\n"
        instance: dict[str, Any] = (await client.get("/v1/instances/r1")).json()
        assert instance["state"] == "active"
        assert await pid(client, "r1") != before  # stopped for the swap, started again
    finally:
        unmount(folder)
    leftovers = [
        p.name for p in (context.home.path / "instances").iterdir() if p.name.startswith(".")
    ]
    assert leftovers == []


async def cache(client: httpx.AsyncClient, key: str, value: bytes | None = None) -> int | bytes:
    """Put ``value`` (or read, without one) under ``key`` in r1's namespace."""
    headers = {"X-Instance-ID": "r1"}
    if value is None:
        read = await client.get(f"/v1/cache/{key}", headers=headers)
        return read.content if read.status_code == 200 else read.status_code
    return (await client.put(f"/v1/cache/{key}", content=value, headers=headers)).status_code


async def test_a_restore_replaces_the_cache_namespace(
    client: httpx.AsyncClient, context: Context
) -> None:
    await running(client, context)
    assert await cache(client, "score", b"10") == await cache(client, "kept", b"\x00\xff") == 204
    saved = await backed_up(client, "r1")
    await cache(client, "score", b"99")
    await cache(client, "added", b"after the backup")
    await client.delete("/v1/cache/kept", headers={"X-Instance-ID": "r1"})
    assert (await restore(client, saved["name"])).status_code == 200
    assert await cache(client, "score") == b"10"
    assert await cache(client, "kept") == b"\x00\xff"
    assert await cache(client, "added") == 404


async def test_a_cache_that_no_longer_fits_puts_files_and_keys_back(
    client: httpx.AsyncClient, context: Context
) -> None:
    data = await running(client, context)
    for key in ("a", "b", "c"):
        await cache(client, key, b"old")
    saved = await backed_up(client, "r1")
    (data / "world.dat").write_text("version two\n")
    await client.delete("/v1/cache/c", headers={"X-Instance-ID": "r1"})
    await cache(client, "a", b"new")
    patched = await client.patch("/v1/instances/r1/config", json={"cache": {"max_keys": 2}})
    assert patched.status_code == 200, patched.text
    refused = await restore(client, saved["name"])
    assert (refused.status_code, refused.json()["code"]) == (409, "RESTORE_FAILED")
    assert "over its limit of 2" in refused.json()["error"]
    assert (data / "world.dat").read_text() == "version two\n"
    assert (await cache(client, "a"), await cache(client, "c")) == (b"new", 404)
    leftovers = [
        p.name for p in (context.home.path / "instances").iterdir() if p.name.startswith(".")
    ]
    assert leftovers == []
