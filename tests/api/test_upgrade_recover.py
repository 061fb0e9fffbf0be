"""``upgrade``: an explicit move to another app version. ``recover``: registry entries
rebuilt from instance.json."""

from __future__ import annotations

import json
import shutil
from typing import Any

import httpx

from roost.services.context import Context
from tests.servers import free_base

# the service really listens: each test process takes its own ports
BASE = free_base()


def app(version: str, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "web",
        "version": version,
        "ports": {"http": BASE, "admin": BASE + 1000},
        "services": {"server": {"command": ["python3", "-m", "http.server", "{{ ports.http }}"]}},
        "files": {"v1.conf": {"content": "port={{ ports.http }}\n"}},
    }
    spec.update(changes)
    return spec


async def test_changing_the_app_never_changes_an_instance_until_upgrade(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app("1"))
    created = await client.post("/v1/instances", json={"app": "web", "instance_id": "2"})
    assert created.json()["ports"] == {"http": BASE + 200, "admin": BASE + 1200}
    v2 = app(
        "2",
        ports={"http": BASE, "metrics": BASE + 2000},
        files={"v2.conf": {"content": "metrics={{ ports.metrics }}\n"}},
    )
    assert (await client.post("/v1/apps", json=v2)).status_code == 200  # a new version
    assert (await client.get("/v1/instances/2")).json()["version"] == "1"

    upgraded = await client.post("/v1/instances/2/upgrade", json={})
    assert upgraded.status_code == 200, upgraded.text
    body = upgraded.json()
    assert body["version"] == "2"
    assert body["ports"] == {
        "http": BASE + 200,
        "metrics": BASE + 2200,
    }  # kept, added; admin dropped
    ports = {p["name"]: p["port"] for p in (await client.get("/v1/ports")).json()["ports"]}
    assert ports == {"http": BASE + 200, "metrics": BASE + 2200}
    folder = context.home.path / "instances" / "2"
    assert (folder / "v2.conf").read_text() == f"metrics={BASE + 2200}\n"
    assert not (folder / "v1.conf").exists()
    assert json.loads((folder / "instance.json").read_text())["version"] == "2"
    events = (await client.get("/v1/events", params={"instance_id": "2"})).json()["events"]
    upgrade = next(e for e in events if e["action"] == "instance.upgrade")
    assert upgrade["details"]["from"] == "1" and upgrade["details"]["to"] == "2"

    assert (await client.post("/v1/instances/2/start")).json()["state"] == "active"
    back = await client.post("/v1/instances/2/upgrade", json={"version": "1"})
    assert back.json()["ports"] == {"http": BASE + 200, "admin": BASE + 1200}
    assert back.json()["state"] == "active"
    events = (await client.get("/v1/events", params={"instance_id": "2"})).json()["events"]
    assert [e["action"] for e in events][-2:] == ["instance.upgrade", "instance.restart"]
    same = await client.post("/v1/instances/2/upgrade", json={"version": "1"})
    assert same.status_code == 200 and same.json()["version"] == "1"


async def test_upgrade_refusals(client: httpx.AsyncClient) -> None:
    await client.post("/v1/apps", json=app("1"))
    await client.post("/v1/instances", json={"app": "web", "instance_id": "1"})
    missing = await client.post("/v1/instances/1/upgrade", json={"version": "9"})
    assert missing.status_code == 404 and missing.json()["code"] == "VERSION_NOT_FOUND"
    nobody = await client.post("/v1/instances/zz/upgrade", json={})
    assert nobody.status_code == 404 and nobody.json()["code"] == "INSTANCE_NOT_FOUND"
    # version 2 wants a port another instance holds
    await client.post(
        "/v1/instances", json={"app": "web", "instance_id": "x", "ports": {"http": BASE + 3100}}
    )
    await client.post("/v1/apps", json=app("2", ports={"http": BASE, "extra": BASE + 3000}))
    taken = await client.post("/v1/instances/1/upgrade", json={})
    assert taken.status_code == 409 and taken.json()["code"] == "PORT_CONFLICT"
    assert (await client.get("/v1/instances/1")).json()["version"] == "1"


async def test_recover_rebuilds_lost_entries(client: httpx.AsyncClient, context: Context) -> None:
    await client.post("/v1/apps", json=app("1"))
    for instance_id in ("1", "2", "web-a"):
        await client.post(
            "/v1/instances",
            json={"app": "web", "instance_id": instance_id, "tags": ["t"], "config": {"k": 1}},
        )
    original = (await client.get("/v1/instances/web-a")).json()
    instances = context.home.path / "instances"
    # the registry loses two entries; their directories stay
    for instance_id in ("2", "web-a"):
        keep = instances.parent / f"keep-{instance_id}"
        shutil.copytree(instances / instance_id, keep)
        assert (await client.delete(f"/v1/instances/{instance_id}")).status_code in (200, 202, 204)
        shutil.move(keep, instances / instance_id)
    (instances / "junk").mkdir()
    (instances / "junk" / "instance.json").write_text("{not json")

    outcome = await client.post("/v1/recover")
    assert outcome.status_code == 200
    body = outcome.json()
    assert sorted(body["recovered"]) == ["2", "web-a"]
    assert body["present"] == ["1"]
    assert [s["instance_id"] for s in body["skipped"]] == ["junk"]
    back = (await client.get("/v1/instances/web-a")).json()
    for key in ("name", "app", "version", "ordinal", "ports", "tags", "config", "created_at"):
        assert back[key] == original[key], key
    assert back["state"] == "inactive"
    again = (await client.post("/v1/recover")).json()
    assert again["recovered"] == [] and sorted(again["present"]) == ["1", "2", "web-a"]
    # the recovered ordinal is held again: a new instance cannot take it
    clash = await client.post("/v1/instances", json={"app": "web", "instance_id": "2"})
    assert clash.status_code == 409
