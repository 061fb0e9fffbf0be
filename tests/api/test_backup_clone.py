"""New instances made from backups: a clone from a backup of a living instance, an
orphan (a pre-delete backup) brought back, each with its own ordinal and ports and the
backup's config, files, cache keys and secrets; a failure half-way leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.services.context import Context
from tests.api.test_backups import backed_up
from tests.servers import free_base

pytestmark = pytest.mark.slow
BASE = free_base()
SECRET = "s3cret-from-the-backup"
SPEC = {
    "name": "game",
    "version": "1",
    "ports": {"game": BASE},
    "config": {"difficulty": "easy"},
    "files": {"server.properties": {"content": "port={{ ports.game }}\n"}},
}


def folder(context: Context, instance_id: str) -> Path:
    return context.home.path / "instances" / instance_id


async def cache(client: httpx.AsyncClient, instance_id: str, key: str, value: bytes = b"") -> Any:
    headers = {"X-Instance-ID": instance_id}
    if value:
        return (await client.put(f"/v1/cache/{key}", content=value, headers=headers)).status_code
    read = await client.get(f"/v1/cache/{key}", headers=headers)
    return read.content if read.status_code == 200 else read.status_code


async def game(client: httpx.AsyncClient, context: Context, instance_id: str = "1") -> None:
    assert (await client.post("/v1/apps", json=SPEC)).status_code in (200, 201)
    created = await client.post(
        "/v1/instances",
        json={"app": "game", "instance_id": instance_id, "tags": ["eu"], "name": "PvP"},
    )
    assert created.status_code == 201, created.text
    await client.patch(f"/v1/instances/{instance_id}/config", json={"difficulty": "hard"})
    (folder(context, instance_id) / "data").mkdir(exist_ok=True)
    (folder(context, instance_id) / "data" / "world.dat").write_text("saved at the backup\n")
    await client.put(f"/v1/instances/{instance_id}/secrets/api_key", json={"value": SECRET})
    assert await cache(client, instance_id, "score", b"42") == 204


async def test_a_clone_from_a_backup_has_its_own_ports_and_the_backup_s_state(
    client: httpx.AsyncClient, context: Context
) -> None:
    await game(client, context)
    saved = await backed_up(client, "1")
    (folder(context, "1") / "data" / "world.dat").write_text("played on after\n")
    await client.patch("/v1/instances/1/config", json={"difficulty": "nightmare"})
    await cache(client, "1", "score", b"99")

    made = await client.post(
        "/v1/instances/1/clone", json={"from_backup": saved["name"], "instance_id": "2"}
    )
    assert made.status_code == 201, made.text
    clone = made.json()
    assert (clone["instance_id"], clone["ordinal"], clone["ports"]) == (
        "2",
        2,
        {"game": BASE + 200},
    )
    assert clone["name"] == "PvP (restored)" and clone["tags"] == ["eu"]
    assert clone["config"]["difficulty"] == "hard"  # as it was backed up
    copy = folder(context, "2")
    assert (copy / "data" / "world.dat").read_text() == "saved at the backup\n"
    assert (copy / "server.properties").read_text() == f"port={BASE + 200}\n"  # its own port
    assert await cache(client, "2", "score") == b"42"
    assert (await client.get("/v1/instances/2/secrets/api_key")).json()["value"] == SECRET
    # the source is as it was
    assert (folder(context, "1") / "data" / "world.dat").read_text() == "played on after\n"
    assert await cache(client, "1", "score") == b"99"
    events = (await client.get("/v1/events", params={"instance_id": "2"})).json()["events"]
    cloned = [e for e in events if e["action"] == "backup.cloned"]
    assert cloned[0]["details"] == {
        "from": "1",
        "backup": saved["name"],
        "secrets": 1,
        "secrets_left_out": 0,
    }


async def test_a_backup_of_another_instance_cannot_be_cloned_through_this_one(
    client: httpx.AsyncClient, context: Context
) -> None:
    await game(client, context, "1")
    await game(client, context, "3")
    saved = await backed_up(client, "3")
    refused = await client.post("/v1/instances/1/clone", json={"from_backup": saved["name"]})
    assert (refused.status_code, refused.json()["code"]) == (404, "BACKUP_NOT_FOUND")
    assert len((await client.get("/v1/instances")).json()["instances"]) == 2


async def test_an_orphan_comes_back_as_a_new_instance(
    client: httpx.AsyncClient, context: Context
) -> None:
    await game(client, context, "old")
    assert (await client.delete("/v1/instances/old", params={"backup": "true"})).status_code == 204
    [orphan] = (await client.get("/v1/backups/orphaned")).json()["backups"]

    # an instance that takes the old id again does not inherit the old one's backups
    await client.post("/v1/instances", json={"app": "game", "instance_id": "old"})
    assert (await client.get("/v1/instances/old/backups")).json()["backups"] == []
    hidden = await client.get(f"/v1/instances/old/backups/{orphan['name']}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "BACKUP_NOT_FOUND")

    made = await client.post(
        f"/v1/backups/orphaned/{orphan['name']}/restore", json={"instance_id": "back"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["config"]["difficulty"] == "hard"
    assert (folder(context, "back") / "data" / "world.dat").read_text() == "saved at the backup\n"
    assert await cache(client, "back", "score") == b"42"
    missing = await client.post(
        "/v1/backups/orphaned/20261130T120000Z-manual-abcdef/restore", json={}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "BACKUP_NOT_FOUND")


async def test_a_clone_that_fails_half_way_leaves_no_instance(
    client: httpx.AsyncClient, context: Context
) -> None:
    await game(client, context)
    for key in ("a", "b"):
        await cache(client, "1", key, b"v")
    # the backup's own config allows fewer keys than its cache holds: the new instance
    # is created, then its cache cannot take the keys
    await client.patch("/v1/instances/1/config", json={"cache": {"max_keys": 2}})
    saved = await backed_up(client, "1")
    refused = await client.post(
        "/v1/instances/1/clone", json={"from_backup": saved["name"], "instance_id": "2"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "RESTORE_FAILED")
    assert "over its limit of 2" in refused.json()["error"]
    assert "'2' was removed" in refused.json()["error"]
    assert (await client.get("/v1/instances/2")).status_code == 404
    assert not folder(context, "2").exists()
    ports = (await client.get("/v1/ports")).json()["ports"]
    assert {p["instance_id"] for p in ports} == {"1"}
